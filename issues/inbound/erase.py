"""Forgetting a reader reaches the mail that came back: masked wording, kept-aside copies deleted.

Declared in ``pyproject.toml`` (entry point group ``newsletter.erasers``), so
:func:`subscribers.forget` runs it inside its transaction whatever was imported.
A kept-aside message that names the reader is deleted (erasure wins over keeping it),
and its row says so; the counts and per-issue figures stay.
"""

from __future__ import annotations

from newsletter.db import Database, has_table
from newsletter.maildirs import discard_where
from newsletter.workspace import Workspace
from subscribers import Traces

from .mime import parse_bytes

ERASED_NOTE = "kept-aside copy deleted when the reader was forgotten"


def _texts(raw: bytes) -> list[str]:
    """The message as written, and each part decoded (QP/base64), as text to look in."""
    texts = [raw.decode("utf-8", "replace")]
    for part in parse_bytes(raw).walk():
        payload = part.get_payload(decode=True) if not part.is_multipart() else None
        if isinstance(payload, bytes):
            texts.append(payload.decode("utf-8", "replace"))
    return texts


def erase_reader(ws: Workspace, db: Database, traces: Traces) -> None:
    """Remove what the inbound store holds about one reader (or an address that never was one)."""
    if not has_table(db, "inbound_messages"):
        return
    if traces.subscriber_id is not None:
        db.execute("UPDATE inbound_feedback SET detail = NULL WHERE subscriber_id = ?", [traces.subscriber_id])
    patterns = traces.like_patterns()
    sieve = " OR ".join(["lower(detail) LIKE ?", "lower(label) LIKE ?"] * len(patterns))
    params = [p for pattern in patterns for p in (pattern, pattern)]
    for row_id, detail, label in db.execute(
        f"SELECT id, detail, label FROM inbound_messages WHERE {sieve}", params
    ).fetchall():
        masked = [traces.mask(text) if text else text for text in (detail, label)]
        if masked != [detail, label]:
            db.execute("UPDATE inbound_messages SET detail = ?, label = ? WHERE id = ?", [*masked, row_id])
    folder = ws.path(ws.settings.inbound.rejected_maildir)
    for key in discard_where(folder, lambda raw: any(traces.found_in(t) for t in _texts(raw))):
        # The reason may quote the message (its subject), so it goes with it; the kind stays.
        db.execute("UPDATE inbound_messages SET kept_as = NULL, detail = ? WHERE kept_as = ?", [ERASED_NOTE, key])
