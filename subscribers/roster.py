"""The reader list as other packages see it: a send's snapshot, contacts for a batch, one reader's status.

Other packages call these instead of SQL on the subscribers tables (they are this package's own).
They run on this thread's connection, so inside a caller's transaction they see and join it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from newsletter.workspace import Workspace

from .schema import database
from .store import record_event, select_in

# A table or column name the caller passes: plain identifiers only (they go into the SQL text).
_IDENTIFIER_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


def identifier(name: str) -> str:
    if not name or not set(name.lower()) <= _IDENTIFIER_CHARS or name[0].isdigit():
        raise ValueError(f"{name!r} is not a plain table or column name")
    return name


def snapshot_confirmed(ws: Workspace, table: str, id_column: str, values: Mapping[str, Any]) -> int:
    """Add one row to ``table`` per reader confirmed now (``id_column`` = their id, ``values`` the rest).

    One ``INSERT OR IGNORE … SELECT`` inside SQLite, in id order: it streams (no reader list
    in Python) and, inside the caller's transaction, is exactly the confirmed readers at that
    instant. Returns how many rows it added.
    """
    columns = [identifier(id_column), *(identifier(c) for c in values)]
    marks = ", ".join(["id", *("?" * len(values))])
    cur = database(ws).execute(
        f"INSERT OR IGNORE INTO {identifier(table)} ({', '.join(columns)}) "
        f"SELECT {marks} FROM subscribers WHERE status = 'confirmed' ORDER BY id",
        list(values.values()),
    )
    return cur.rowcount


def count_confirmed(ws: Workspace) -> int:
    """How many readers are confirmed now (what a send started now would mail)."""
    return database(ws).execute("SELECT count(*) FROM subscribers WHERE status = 'confirmed'").fetchone()[0]


def contacts_of(ws: Workspace, subscriber_ids: Iterable[int]) -> dict[int, tuple[str | None, str | None]]:
    """{id: (email, name)} for these readers; a forgotten reader has (None, None), an unknown id is absent."""
    rows = select_in(database(ws), "SELECT id, email, name FROM subscribers WHERE id", list(subscriber_ids))
    return {row[0]: (row[1], row[2]) for row in rows}


def status_of(ws: Workspace, subscriber_id: int) -> str | None:
    """The reader's status now (``confirmed``, ``unsubscribed``, …); None for an id that is not a reader."""
    row = database(ws).execute("SELECT status FROM subscribers WHERE id = ?", [subscriber_id]).fetchone()
    return row[0] if row else None


def note_event(ws: Workspace, subscriber_id: int, kind: str, *, source: str, detail: str | None = None) -> None:
    """Add an audit event that changes no status (a soft bounce below the limit, say)."""
    status = status_of(ws, subscriber_id)
    record_event(database(ws), subscriber_id, kind, status=status, source=source, detail=detail)
