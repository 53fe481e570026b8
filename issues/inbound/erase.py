"""Forgetting a reader reaches the mail that came back: masked wording (inbound rows and the
send outbox's server replies), kept-aside copies deleted.

Registered with :func:`subscribers.on_forget`, so it runs inside ``forget``'s transaction.
A kept-aside message that holds the address is deleted (erasure wins over keeping it),
and its row says so; the counts and per-issue figures stay.
"""

from __future__ import annotations

import mailbox
import re

import sqlite_utils

from newsletter.db import has_table
from newsletter.workspace import Workspace
from subscribers import on_forget

from .mime import parse_bytes

ERASED_NOTE = "kept-aside copy deleted when the reader was forgotten"


def _mentions(raw: bytes, needles: list[bytes]) -> bool:
    """Whether the message names one of ``needles`` (lower-case), raw or in a decoded (QP/base64) part."""
    texts = [raw.lower()]
    for part in parse_bytes(raw).walk():
        payload = part.get_payload(decode=True) if not part.is_multipart() else None
        if isinstance(payload, bytes):
            texts.append(payload.lower())
    return any(needle in text for text in texts for needle in needles)


def _masker(spellings: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(s) for s in spellings), re.IGNORECASE)


def erase_reader(ws: Workspace, db: sqlite_utils.Database, subscriber_id: int | None, normalized: str) -> None:
    """Remove what the inbound store holds about one address (the ``on_forget`` hook)."""
    row = db.execute("SELECT email FROM subscribers WHERE id = ?", [subscriber_id]).fetchone()
    spellings = sorted({normalized, *([row[0].lower()] if row and row[0] else [])}, key=len, reverse=True)
    pattern = _masker(spellings)
    if subscriber_id is not None:
        _mask_rows(db, "outbox", "subscriber_id = ?", [subscriber_id], pattern)
    if not has_table(db, "inbound_messages"):
        return
    if subscriber_id is not None:
        db.execute("UPDATE inbound_feedback SET detail = NULL WHERE subscriber_id = ?", [subscriber_id])
    like = " OR ".join("lower(detail) LIKE ?" for _ in spellings)
    _mask_rows(db, "inbound_messages", like, [f"%{s}%" for s in spellings], pattern)
    _delete_kept_aside(ws, db, [s.encode("utf-8") for s in spellings])


def _mask_rows(db: sqlite_utils.Database, table: str, where: str, params: list, pattern: re.Pattern[str]) -> None:
    """Mask the address in ``table.detail`` where ``where`` holds.

    The outbox (the send's own table) is included: a refusal at send time is mail
    coming back too, and servers quote the recipient ("550 <jane@...>: no such user").
    """
    if not has_table(db, table):
        return
    query = f"SELECT id, detail FROM {table} WHERE detail IS NOT NULL AND ({where})"
    for row_id, detail in db.execute(query, params).fetchall():
        masked = pattern.sub("…", detail)
        if masked != detail:
            db.execute(f"UPDATE {table} SET detail = ? WHERE id = ?", [masked, row_id])


def _delete_kept_aside(ws: Workspace, db: sqlite_utils.Database, needles: list[bytes]) -> None:
    """Delete kept-aside messages naming the reader; their rows say so (counts and kinds stay)."""
    folder = ws.path(ws.settings.inbound.rejected_maildir)
    if not folder.is_dir():
        return
    box = mailbox.Maildir(folder, create=False)
    for key in list(box.iterkeys()):
        try:
            raw = box.get_bytes(key)
        except (KeyError, OSError):  # removed meanwhile
            continue
        if not _mentions(raw, needles):
            continue
        box.discard(key)
        # The reason may quote the message (its subject), so it goes with it; the kind stays.
        db.execute("UPDATE inbound_messages SET kept_as = NULL, detail = ? WHERE kept_as = ?", [ERASED_NOTE, key])


on_forget(erase_reader)
