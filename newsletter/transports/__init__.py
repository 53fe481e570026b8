"""Mail transports: where a finished message goes (SMTP relay, local Maildir, memory for tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError
from .base import CanonicalMessage, Outgoing, Reply, Transport, TransportError

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["CanonicalMessage", "MaildirTransport", "Outgoing", "Reply", "SMTPTransport", "Transport", "TransportError",
           "open_transport", "refuse_plain_password"]
_LAZY = {"SMTPTransport": ".smtp", "refuse_plain_password": ".smtp", "MaildirTransport": ".maildir"}


def __getattr__(name: str) -> object:
    """The concrete transports, imported on first use (a command that sends nothing never loads them)."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_transport(ws: Workspace, kind: str | None = None) -> Transport:
    """A new transport as the workspace's ``[delivery] transport`` setting says."""
    kind = kind or ws.settings.delivery.transport
    if kind == "maildir":
        from .maildir import MaildirTransport

        return MaildirTransport(ws.path(ws.settings.delivery.maildir))
    if kind == "smtp":
        from .smtp import SMTPTransport

        return SMTPTransport.from_settings(ws.settings)
    raise ConfigError(f"[delivery] transport = {kind!r} is not known; use 'maildir' or 'smtp'")
