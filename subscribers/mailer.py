"""The confirmation and welcome mails: rendered from templates, sent through the workspace transport.

Each is ``multipart/alternative`` (plain text, then MJML-rendered HTML) built with the
stdlib email package; header values with CR/LF are refused before anything is built.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from newsletter import clock
from newsletter.errors import ConfigError
from newsletter.render import render_html_email, render_text
from newsletter.transports import Transport, open_transport
from newsletter.workspace import Workspace

from .addresses import refuse_controls
from .tokens import compact_token, confirm_url, unsubscribe_url


def _from_address(ws: Workspace) -> tuple[str, str]:
    """(the From header, the bare sender address) from ``[site] from``."""
    header = refuse_controls(str(ws.settings.site["from"]), "[site] from")
    address = parseaddr(header)[1]
    if "@" not in address:
        raise ConfigError(f"[site] from = {header!r} has no address; use 'Name <news@example.com>'")
    return header, address


def build_message(
    ws: Workspace, *, to: str, subject: str, text: str, html: str, headers: dict[str, str] | None = None
) -> bytes:
    """A multipart/alternative message with Date and a Message-ID on the From domain, as bytes."""
    from_header, from_address = _from_address(ws)
    # An internationalised local part needs SMTPUTF8 (raw UTF-8 headers); everything else stays 7-bit.
    message = EmailMessage(policy=SMTP if to.isascii() else SMTPUTF8)
    fields = {"From": from_header, "To": to, "Subject": subject, **(headers or {})}
    if ws.settings.site.reply_to:
        fields["Reply-To"] = str(ws.settings.site.reply_to)
    for name, value in fields.items():
        message[name] = refuse_controls(value, f"header {name}")
    message["Date"] = format_datetime(clock.utcnow())
    message["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2])
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message.as_bytes()


def _context(ws: Workspace, **extra: Any) -> dict[str, Any]:
    return {"site": dict(ws.settings.site), **extra}


def _deliver(ws: Workspace, to: str, message: bytes, transport: Transport | None = None) -> None:
    """Send through ``transport`` (kept open by the caller), else through a new one."""
    sender = str(ws.settings.delivery.bounce_address) or _from_address(ws)[1]
    if transport is not None:
        transport.send(sender, [to], message)
        return
    with open_transport(ws) as own:
        own.send(sender, [to], message)


def send_confirmation(ws: Workspace, subscriber_id: int, email: str, transport: Transport | None = None) -> None:
    """Mail the confirmation link; the name typed into the form is deliberately never included."""
    context = _context(
        ws, confirm_url=confirm_url(ws, subscriber_id),
        expiry_days=int(ws.settings.subscribers.confirm_expiry_days),
    )
    subject = f"Please confirm your subscription to {ws.settings.site.name}"
    message = build_message(
        ws, to=email, subject=subject,
        text=render_text(ws, "confirm.txt.j2", context),
        html=render_html_email(ws, "confirm.mjml.j2", context),
        headers={"Auto-Submitted": "auto-generated"},
    )
    _deliver(ws, email, message, transport)


def list_unsubscribe_headers(ws: Workspace, subscriber_id: int) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers: the one-click link, and a mailto when an address is set."""
    link = unsubscribe_url(ws, subscriber_id)
    targets = [f"<{link}>"]
    mailbox = str(ws.settings.delivery.unsubscribe_address)
    if "@" in mailbox:
        local, _, domain = mailbox.partition("@")
        targets.append(f"<mailto:{local}+{compact_token(ws, 'unsubscribe', subscriber_id)}@{domain}>")
    return {"List-Unsubscribe": ", ".join(targets), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def send_welcome(ws: Workspace, subscriber_id: int, email: str) -> None:
    """Mail the welcome note that follows a confirmation, with the reader's unsubscribe link."""
    context = _context(ws, unsubscribe_url=unsubscribe_url(ws, subscriber_id))
    message = build_message(
        ws, to=email, subject=f"Welcome to {ws.settings.site.name}",
        text=render_text(ws, "welcome.txt.j2", context),
        html=render_html_email(ws, "welcome.mjml.j2", context),
        headers=list_unsubscribe_headers(ws, subscriber_id),
    )
    _deliver(ws, email, message)
