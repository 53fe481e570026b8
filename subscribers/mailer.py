"""The confirmation and welcome mails: rendered from templates, sent through the workspace transport.

Each is ``multipart/alternative`` (plain text, then MJML-rendered HTML) built with the
stdlib email package; header values with CR/LF are refused before anything is built.
"""

from __future__ import annotations

import os
import threading
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from markupsafe import escape

from newsletter import clock
from newsletter.render import render_html_email, render_text
from newsletter.templating import template_dirs
from newsletter.transports import Transport, open_transport
from newsletter.workspace import Workspace

from .addresses import refuse_controls
from .tokens import confirm_url, unsubscribe_url
from .verp import feedback_id, sender_domain, unsubscribe_mailto


def build_message(
    ws: Workspace, *, to: str, subject: str, text: str, html: str, headers: dict[str, str] | None = None
) -> bytes:
    """A multipart/alternative message with Date and a Message-ID on the From domain, as bytes."""
    from_header = refuse_controls(str(ws.settings.site["from"]), "[site] from")
    domain = sender_domain(ws)  # refuses a From without an address
    # An internationalised local part needs SMTPUTF8 (raw UTF-8 headers); everything else stays 7-bit.
    message = EmailMessage(policy=SMTP if to.isascii() else SMTPUTF8)
    fields = {"From": from_header, "To": to, "Subject": subject, **(headers or {})}
    if ws.settings.site.reply_to:
        fields["Reply-To"] = str(ws.settings.site.reply_to)
    for name, value in fields.items():
        message[name] = refuse_controls(value, f"header {name}")
    message["Date"] = format_datetime(clock.utcnow())
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message.as_bytes()


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
        headers={"Auto-Submitted": "auto-generated", "Feedback-ID": feedback_id(ws, "", "confirm")},
    )
    _deliver(ws, email, message, transport)


def list_unsubscribe_headers(ws: Workspace, subscriber_id: int) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers: the one-click link and the reader's mailto, as in every issue."""
    targets = f"<{unsubscribe_url(ws, subscriber_id)}>, <mailto:{unsubscribe_mailto(ws, subscriber_id)}>"
    return {"List-Unsubscribe": targets, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def send_welcome(ws: Workspace, subscriber_id: int, email: str, transport: Transport | None = None) -> None:
    """Mail the welcome note that follows a confirmation, with the reader's unsubscribe link."""
    text, html = render_with_link(ws, "welcome", _context(ws), "unsubscribe_url", unsubscribe_url(ws, subscriber_id))
    message = build_message(
        ws, to=email, subject=f"Welcome to {ws.settings.site.name}", text=text, html=html,
        headers={**list_unsubscribe_headers(ws, subscriber_id), "Feedback-ID": feedback_id(ws, "", "welcome")},
    )
    _deliver(ws, email, message, transport)
