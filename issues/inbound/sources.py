"""Where returned mail is read from: a file, a folder of files, a Maildir, an mbox, or IMAP over TLS.

Every source yields raw bytes into :func:`~issues.inbound.process.process_message`.
"""

from __future__ import annotations

import imaplib
import mailbox
import re
import ssl
from collections.abc import Iterator
from pathlib import Path

from newsletter.errors import ConfigError, NewsletterError, NotFound
from newsletter.workspace import Workspace

from .process import Outcome, process_message

IMAP_TIMEOUT = 60.0


class InboundSourceError(NewsletterError):
    """A mailbox cannot be read (missing file, IMAP login or folder refused)."""


def _is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def iter_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) of every message at ``path``: a Maildir, an mbox, a folder of files, or one file."""
    if not path.exists():
        raise NotFound(f"{path}: no such file or folder; give a message file, a Maildir or an mbox")
    if _is_maildir(path):
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(box.keys()):
            with box.get_file(key) as fh:
                yield f"{path}/{key}", fh.read()
        return
    if path.is_dir():
        for item in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
            yield from iter_messages(item)
        return
    raw = path.read_bytes()
    if raw.startswith(b"From "):
        messages = split_mbox(raw)
        if len(messages) == 1:
            yield str(path), messages[0]  # one message saved with its mbox "From " line
            return
        for index, message in enumerate(messages, 1):
            yield f"{path}#{index}", message
        return
    yield str(path), raw


# An mbox separator: a "From " line after a blank line (or at the start), followed by a header line.
MBOX_SEPARATOR_RE = re.compile(rb"(?:\A|(?<=\n\n)|(?<=\r\n\r\n))From [^\n]*\r?\n(?=[!-9;-~]+:)")


def split_mbox(raw: bytes) -> list[bytes]:
    """The messages of an mbox, without their "From " lines.

    Only a "From " line that follows a blank line and precedes a header starts a message,
    so a body line that happens to begin with "From " (unescaped, as in saved .eml files)
    does not split a message in two.
    """
    starts = [m for m in MBOX_SEPARATOR_RE.finditer(raw)]
    if not starts:
        return [raw]
    messages = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(raw)
        messages.append(raw[m.end():end].rstrip(b"\r\n") + b"\n")
    return messages


def process_path(ws: Workspace, path: Path | str) -> list[Outcome]:
    """Process every message at ``path`` (see :func:`iter_messages`); the files are left as they are."""
    return [process_message(ws, raw, source="file", label=label) for label, raw in iter_messages(Path(path))]


# --- IMAP -------------------------------------------------------------------------------------------


def _error_text(exc: BaseException) -> str:
    """imaplib errors carry the server's bytes; show them as text."""
    arg = exc.args[0] if exc.args else None
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(exc)


def _ssl_context(ws: Workspace) -> ssl.SSLContext:
    cafile = str(ws.settings.inbound.imap_cafile)
    if cafile and not ws.path(cafile).is_file():
        raise ConfigError(f"[inbound] imap_cafile = {cafile!r}: no such file")
    return ssl.create_default_context(cafile=str(ws.path(cafile)) if cafile else None)


def connect_imap(ws: Workspace) -> imaplib.IMAP4:
    """A logged-in IMAP connection over TLS (implicit, or STARTTLS), as ``[inbound]`` says."""
    s = ws.settings.inbound
    if not s.imap_host:
        raise ConfigError("[inbound] imap_host is not set; set it (and imap_username) in newsletter.toml")
    security = str(s.imap_security)
    try:
        if security == "tls":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                s.imap_host, int(s.imap_port), ssl_context=_ssl_context(ws), timeout=IMAP_TIMEOUT
            )
        elif security == "starttls":
            conn = imaplib.IMAP4(s.imap_host, int(s.imap_port), timeout=IMAP_TIMEOUT)
            conn.starttls(ssl_context=_ssl_context(ws))
        else:
            raise ConfigError(f"[inbound] imap_security = {security!r}: use 'tls' or 'starttls'")
    except (OSError, imaplib.IMAP4.error) as exc:
        raise InboundSourceError(
            f"cannot talk to IMAP server {s.imap_host}:{s.imap_port} ({security}): {_error_text(exc)}"
        ) from exc
    try:
        conn.login(s.imap_username, s.imap_password)
    except imaplib.IMAP4.error as exc:
        conn.logout()
        raise InboundSourceError(
            f"IMAP login as {s.imap_username!r} refused by {s.imap_host}: {_error_text(exc)}; "
            "check [inbound] imap_username and NEWSLETTER_INBOUND_IMAP_PASSWORD"
        ) from exc
    typ, data = conn.capability()  # servers announce more (MOVE, UIDPLUS) once logged in
    if typ == "OK" and data and isinstance(data[-1], bytes):
        conn.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())
    return conn


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(typ: str, data: list, what: str) -> list:
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise InboundSourceError(f"IMAP {what} failed: {detail}")
    return data


def _set_aside(conn: imaplib.IMAP4, uid: bytes, moved_to: str) -> None:
    """Mark one processed message: move it to ``moved_to`` if set, else flag it \\Seen."""
    if not moved_to:
        _check(*conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)"), "STORE \\Seen")
        return
    if "MOVE" in conn.capabilities:
        _check(*conn.uid("MOVE", uid, _quote(moved_to)), f"MOVE to {moved_to}")
        return
    _check(*conn.uid("COPY", uid, _quote(moved_to)), f"COPY to {moved_to}")
    _check(*conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted \Seen)"), "STORE \\Deleted")
    if "UIDPLUS" in conn.capabilities:
        _check(*conn.uid("EXPUNGE", uid), "UID EXPUNGE")
    else:
        _check(*conn.expunge(), "EXPUNGE")


def _fetched_bytes(data: list) -> bytes | None:
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and re.search(rb"BODY\[\]", item[0] or b""):
            return item[1]
    return None


def fetch_imap(ws: Workspace, *, limit: int | None = None) -> list[Outcome]:
    """Process the unseen mail of ``[inbound] imap_folder``, then flag it \\Seen (or move it)."""
    s = ws.settings.inbound
    moved_to = str(s.imap_processed_folder)
    conn = connect_imap(ws)
    outcomes = []
    try:
        _check(*conn.select(_quote(str(s.imap_folder))), f"SELECT {s.imap_folder}")
        if moved_to:
            conn.create(_quote(moved_to))  # "NO: already exists" is fine
        criteria = "ALL" if moved_to else "UNSEEN"
        uids = _check(*conn.uid("SEARCH", None, criteria), "SEARCH")[0].split()
        for uid in uids[:limit] if limit else uids:
            data = _check(*conn.uid("FETCH", uid, "(BODY.PEEK[])"), f"FETCH {uid!r}")
            raw = _fetched_bytes(data)
            if raw is None:
                continue  # expunged by another client meanwhile
            label = f"imap:{s.imap_folder}/{uid.decode()}"
            outcomes.append(process_message(ws, raw, source="imap", label=label))
            _set_aside(conn, uid, moved_to)
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    return outcomes
