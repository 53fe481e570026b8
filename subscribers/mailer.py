"""The confirmation and welcome mails: rendered from templates, sent through the workspace transport.

Each is ``multipart/alternative`` (plain text, then MJML-rendered HTML) made by the
kernel's one builder (:class:`newsletter.mail.MailTemplate`), so it is DKIM-signed like
an issue; header values with CR/LF are refused before anything is built.
"""

from __future__ import annotations

import os
import threading
from email.utils import format_datetime, parseaddr
from typing import Any

from markupsafe import escape

from newsletter import clock
from newsletter.mail import MailTemplate, Recipient
from newsletter.render import render_html_email, render_text
from newsletter.templating import template_dirs
from newsletter.transports import Transport, open_transport
from newsletter.workspace import Workspace

from .addresses import refuse_controls
from .tokens import confirm_url, unsubscribe_url
from .verp import unsubscribe_mailto


def build_message(
    ws: Workspace, *, to: str, subject: str, text: str, html: str, unsubscribe_from: int | None = None,
    headers: tuple[tuple[str, str, str], ...] = (), mail_type: str = "",
) -> bytes:
    """A signed multipart/alternative message through the kernel's one builder (Date, Message-ID, DKIM).

    With ``unsubscribe_from`` (a reader id) it carries that reader's List-Unsubscribe and
    List-Unsubscribe-Post, as every issue does.
    """
    refuse_controls(str(ws.settings.site["from"]), "[site] from")
    refuse_controls(subject, "header Subject")
    template = MailTemplate(ws, subject, html, text, headers=headers, list_headers=unsubscribe_from is not None,
                            subject_origin="header Subject", mail_type=mail_type)
    url = mailto = ""
    if unsubscribe_from is not None:
        url, mailto = unsubscribe_url(ws, unsubscribe_from), unsubscribe_mailto(ws, unsubscribe_from)
    recipient = Recipient(refuse_controls(to, "header To"), None, url, mailto, template.new_message_id())
    return template.build(recipient, date=format_datetime(clock.utcnow()))


def _context(ws: Workspace, **extra: Any) -> dict[str, Any]:
    return {"site": dict(ws.settings.site), **extra}


# Rendered (text, html) parts cut at the reader's link, per template set and context, for the process.
_LINK = "https://link.invalid/nl-reader-link-7q2x"
_PARTS: dict[tuple, tuple[list[str], list[str]] | None] = {}
_PARTS_LOCK = threading.Lock()


def _stamp(dirs: list) -> tuple:
    """The template folders' file times: an edited template (or partial) renders afresh."""
    stamp = []
    for folder in dirs:
        try:
            with os.scandir(folder) as entries:
                stamp.append(max((e.stat().st_mtime_ns for e in entries), default=0))
        except OSError:
            stamp.append(None)
    return tuple(stamp)


def _render_both(ws: Workspace, stem: str, context: dict[str, Any]) -> tuple[str, str]:
    return render_text(ws, f"{stem}.txt.j2", context), render_html_email(ws, f"{stem}.mjml.j2", context)


def render_with_link(ws: Workspace, stem: str, context: dict[str, Any], field: str, link: str) -> tuple[str, str]:
    """(text, html) of template ``stem`` with ``context[field] = link``, rendered once per process.

    Only the link differs between readers, so the parts around it are cached and the
    link joined in (HTML-escaped for the HTML part, as the template would).  A template
    that transforms the link (a filter, a wrap) is detected on the first render and then
    always rendered in full.
    """
    dirs = template_dirs(ws)
    key = (stem, field, tuple(map(str, dirs)), _stamp(dirs), repr(sorted(context.items())))
    with _PARTS_LOCK:
        parts = _PARTS.get(key, False)
    if parts is False:
        text, html = _render_both(ws, stem, {**context, field: _LINK})
        parts = (text.split(_LINK), html.split(_LINK))
        if len(parts[0]) < 2 or len(parts[1]) < 2 or _join(parts, link) != _render_both(ws, stem, {**context, field: link}):
            parts = None
        with _PARTS_LOCK:
            if len(_PARTS) > 64:
                _PARTS.clear()
            _PARTS[key] = parts
    if parts is None:
        return _render_both(ws, stem, {**context, field: link})
    return _join(parts, link)


def _join(parts: tuple[list[str], list[str]], link: str) -> tuple[str, str]:
    return link.join(parts[0]), str(escape(link)).join(parts[1])


def _deliver(ws: Workspace, to: str, message: bytes, transport: Transport | None = None) -> None:
    """Send through ``transport`` (kept open by the caller), else through a new one."""
    sender = str(ws.settings.delivery.bounce_address) or parseaddr(str(ws.settings.site["from"]))[1]
    if transport is not None:
        transport.send(sender, [to], message)
        return
    with open_transport(ws) as own:
        own.send(sender, [to], message)


def send_confirmation(ws: Workspace, subscriber_id: int, email: str, transport: Transport | None = None) -> None:
    """Mail the confirmation link; the name typed into the form is deliberately never included."""
    context = _context(ws, expiry_days=int(ws.settings.subscribers.confirm_expiry_days))
    text, html = render_with_link(ws, "confirm", context, "confirm_url", confirm_url(ws, subscriber_id))
    subject = f"Please confirm your subscription to {ws.settings.site.name}"
    message = build_message(
        ws, to=email, subject=subject, text=text, html=html,
        headers=(("Auto-Submitted", "auto-generated", "the confirmation mail"),), mail_type="confirm",
    )
    _deliver(ws, email, message, transport)


def send_welcome(ws: Workspace, subscriber_id: int, email: str, transport: Transport | None = None) -> None:
    """Mail the welcome note that follows a confirmation, with the reader's unsubscribe link."""
    text, html = render_with_link(ws, "welcome", _context(ws), "unsubscribe_url", unsubscribe_url(ws, subscriber_id))
    message = build_message(
        ws, to=email, subject=f"Welcome to {ws.settings.site.name}", text=text, html=html,
        unsubscribe_from=subscriber_id, mail_type="welcome",
    )
    _deliver(ws, email, message, transport)
