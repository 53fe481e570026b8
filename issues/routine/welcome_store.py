"""The welcome series' ledger: one row per (reader, mail), unique, like the issue outbox.

Rows go ``pending`` -> ``sending`` (claimed by this run) -> ``sent`` | ``failed`` |
``skipped``; a temporary failure goes back to ``pending`` with a later ``due_at``.
A row left ``sending`` by a killed run is the only mail that can go out twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from newsletter import clock
from newsletter.db import Database, write_transaction
from newsletter.workspace import Workspace

COMPONENT = "welcome_series"
MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=15)


def _create_tables(db: Database) -> None:
    db.execute(
        """CREATE TABLE welcome_mails (
            id INTEGER PRIMARY KEY,
            subscriber_id INTEGER NOT NULL,
            step INTEGER NOT NULL,           -- 1 .. [welcome] mails
            due_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
            articles TEXT NOT NULL DEFAULT '[]',  -- JSON article ids, chosen when claimed
            attempts INTEGER NOT NULL DEFAULT 0,
            code INTEGER,
            detail TEXT,
            message_id TEXT,
            sent_at TEXT,
            updated_at TEXT NOT NULL,
            UNIQUE (subscriber_id, step)
        )"""
    )
    db.execute("CREATE INDEX welcome_mails_due ON welcome_mails (status, due_at)")


MIGRATIONS = [_create_tables]


def welcome_db(ws: Workspace) -> Database:
    return ws.require_schema(COMPONENT, MIGRATIONS)


def enrol(ws: Workspace, reader_id: int, confirmed_at: str, days: tuple[int, ...]) -> int:
    """Give a reader their series' rows (once: a reader is never enrolled twice); how many were added."""
    start = datetime.fromisoformat(confirmed_at)
    now = clock.now_iso()
    rows = [(reader_id, step, (start + timedelta(days=day)).isoformat(timespec="seconds"), now)
            for step, day in enumerate(days, 1)]
    db = welcome_db(ws)
    with write_transaction(db):
        if db.execute("SELECT 1 FROM welcome_mails WHERE subscriber_id = ? LIMIT 1", [reader_id]).fetchone():
            return 0
        db.conn.executemany(
            "INSERT OR IGNORE INTO welcome_mails (subscriber_id, step, due_at, updated_at) VALUES (?, ?, ?, ?)", rows)
    return len(rows)


def recover_in_flight(ws: Workspace) -> int:
    """Rows a killed run left ``sending`` go back to ``pending`` (their mail may go out twice)."""
    db = welcome_db(ws)
    with write_transaction(db):
        return db.execute("UPDATE welcome_mails SET status = 'pending', updated_at = ? WHERE status = 'sending'",
                          [clock.now_iso()]).rowcount


def due(ws: Workspace, limit: int | None = None) -> list[tuple[int, int, int, int]]:
    """(row id, reader id, step, attempts) of pending rows that are due, oldest first."""
    sql = ("SELECT id, subscriber_id, step, attempts FROM welcome_mails WHERE status = 'pending' AND due_at <= ? "
           "ORDER BY due_at, step, id")
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [tuple(r) for r in welcome_db(ws).execute(sql, [clock.now_iso()]).fetchall()]


def next_due(ws: Workspace) -> tuple[str, int] | None:
    """(when, how many) of the next pending rows not yet due."""
    row = welcome_db(ws).execute(
        "SELECT min(due_at) FROM welcome_mails WHERE status = 'pending' AND due_at > ?", [clock.now_iso()]
    ).fetchone()
    if not row or row[0] is None:
        return None
    count = welcome_db(ws).execute(
        "SELECT count(*) FROM welcome_mails WHERE status = 'pending' AND due_at = ?", [row[0]]).fetchone()[0]
    return row[0], count


def articles_given(ws: Workspace, reader_id: int) -> set[int]:
    """Articles this reader's series has shown or is about to show."""
    rows = welcome_db(ws).execute(
        "SELECT articles FROM welcome_mails WHERE subscriber_id = ? AND status IN ('sending', 'sent')", [reader_id])
    return {a for (data,) in rows for a in json.loads(data)}


def claim(ws: Workspace, row_id: int, articles: list[int]) -> bool:
    """Mark one due row ``sending`` with its articles; False if it is no longer pending."""
    db = welcome_db(ws)
    with write_transaction(db):
        return db.execute(
            "UPDATE welcome_mails SET status = 'sending', articles = ?, attempts = attempts + 1, updated_at = ? "
            "WHERE id = ? AND status = 'pending'", [json.dumps(articles), clock.now_iso(), row_id]).rowcount == 1


def finish(db: Database, row_id: int, status: str, *, code: int | None = None, detail: str = "",
           message_id: str | None = None) -> None:
    """Record a row's outcome (inside the caller's write transaction)."""
    now = clock.now_iso()
    db.execute("UPDATE welcome_mails SET status = ?, code = ?, detail = ?, message_id = ?, sent_at = ?, "
               "updated_at = ? WHERE id = ?",
               [status, code, detail or None, message_id, now if status == "sent" else None, now, row_id])


def retry_later(ws: Workspace, row_id: int, attempts: int, code: int, detail: str) -> str:
    """A temporary failure: pending again after a pause, or failed after :data:`MAX_ATTEMPTS`; the new status."""
    db = welcome_db(ws)
    status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
    later = (clock.utcnow() + RETRY_AFTER * attempts).isoformat(timespec="seconds")
    with write_transaction(db):
        db.execute("UPDATE welcome_mails SET status = ?, code = ?, detail = ?, due_at = ?, updated_at = ? "
                   "WHERE id = ?", [status, code, detail, later, clock.now_iso(), row_id])
    return status


def stop_series(db: Database, reader_id: int, why: str) -> int:
    """Skip every mail of the reader's series not sent yet (inside the caller's transaction)."""
    return db.execute("UPDATE welcome_mails SET status = 'skipped', detail = ?, updated_at = ? "
                      "WHERE subscriber_id = ? AND status IN ('pending', 'sending')",
                      [why, clock.now_iso(), reader_id]).rowcount


def rows_of(ws: Workspace, reader_id: int | None = None) -> list[dict[str, Any]]:
    """Rows as dicts (for status and tests)."""
    where, args = ("WHERE subscriber_id = ?", [reader_id]) if reader_id is not None else ("", [])
    return list(welcome_db(ws).query(f"SELECT * FROM welcome_mails {where} ORDER BY subscriber_id, step", args))
