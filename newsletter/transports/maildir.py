"""The embedded default transport: every message becomes a file in a local Maildir.

Like a file email backend, it lets the whole pipeline run on a fresh machine
with no mail server; any mail client (or ``mutt -f outbox``) can read the result.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path

from .base import Reply, Transport, TransportError


class MaildirTransport(Transport):
    """Write each message into ``folder`` (created as a Maildir if missing); safe from many threads.

    Each file is written under ``tmp/``, synced, then renamed into ``new/`` (the
    Maildir delivery protocol), with a name that is unique without any shared
    counter (the stdlib's ``Maildir.add`` can clash between threads).
    """

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self._ready = False
        self._host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")

    def _open(self) -> None:
        if self._ready:
            return
        if not self.folder.exists():
            # Made whole beside it, then renamed into place: a mail client (or another thread)
            # never sees a Maildir with ``cur/`` still missing.
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.", dir=self.folder.parent))
            for sub in ("tmp", "new", "cur"):
                (staging / sub).mkdir(mode=0o700)
            try:
                os.rename(staging, self.folder)
            except OSError:  # another thread or process made it first
                shutil.rmtree(staging, ignore_errors=True)
        for sub in ("tmp", "new", "cur"):  # a folder made by hand may lack a part
            os.makedirs(self.folder / sub, mode=0o700, exist_ok=True)
        self._ready = True

    def check(self) -> None:
        try:
            self._open()
        except OSError as exc:
            raise TransportError(0, f"cannot write to {self.folder}: {exc.strerror}", temporary=True) from exc

    def send(self, sender: str, recipients: list[str], message: bytes) -> Reply:
        envelope = (
            f"Return-Path: <{sender}>\r\nX-Envelope-To: {', '.join(recipients)}\r\n".encode()
        )
        name = f"{int(time.time())}.M{uuid.uuid4().hex}P{os.getpid()}.{self._host}"
        tmp = self.folder / "tmp" / name
        try:
            self._open()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, envelope)
                view = memoryview(message)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, self.folder / "new" / name)
        except OSError as exc:
            raise TransportError(0, f"cannot write to {self.folder}: {exc.strerror}", temporary=True) from exc
        return Reply(250, f"2.0.0 Ok: queued as {name}")
