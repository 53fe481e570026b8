"""The embedded default transport: every message becomes a file in a local Maildir.

Like a file email backend, it lets the whole pipeline run on a fresh machine
with no mail server; any mail client (or ``mutt -f outbox``) can read the result.
"""

from __future__ import annotations

import mailbox
from pathlib import Path

from .base import Reply, Transport, TransportError


class MaildirTransport(Transport):
    """Write each message into ``folder`` (created as a Maildir if missing)."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self._box: mailbox.Maildir | None = None

    def _open(self) -> mailbox.Maildir:
        if self._box is None:
            self._box = mailbox.Maildir(self.folder, create=True)
        return self._box

    def send(self, sender: str, recipients: list[str], message: bytes) -> Reply:
        envelope = (
            f"Return-Path: <{sender}>\r\nX-Envelope-To: {', '.join(recipients)}\r\n".encode()
        )
        try:
            key = self._open().add(envelope + message)
        except OSError as exc:
            raise TransportError(0, f"cannot write to {self.folder}: {exc.strerror}", temporary=True) from exc
        return Reply(250, f"2.0.0 Ok: queued as {key}")
