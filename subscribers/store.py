"""Readers and their history: look-ups, status changes and the append-only event log.

Every status change and its event are written in one ``BEGIN IMMEDIATE``
transaction, so the history always explains the status.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from newsletter import clock
from newsletter.db import Database
from newsletter.db import write_transaction as kernel_write_transaction
from newsletter.errors import NotFound
from newsletter.workspace import Workspace

from .addresses import InvalidAddress, validate_address
from .schema import LEAVER_STATUSES, database


def write_transaction(db: Database) -> Any:
    """A write that survives a power cut once committed (``synchronous = FULL``): readers' data is
    proof of consent and of leaving, and must never be lost or rolled back by a crash."""
    return kernel_write_transaction(db, durable=True)


COLUMNS = "id, email, name, status, source, created_at, updated_at, confirmed_at, forgotten_at"
ITER_BATCH = 1000
LOOKUP_CHUNK = 5_000


@dataclass(frozen=True)
class Subscriber:
    """One reader. ``email`` and ``name`` are None once the reader has been forgotten.

    ``newly_confirmed`` is True only on the value :func:`subscribers.confirm` returns for
    the click that confirmed; a repeated click gets False ("already confirmed").
    """

    id: int
    email: str | None
    name: str | None
    status: str
    source: str
    created_at: str
    updated_at: str
    confirmed_at: str | None
    forgotten_at: str | None = None
    newly_confirmed: bool = field(default=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("newly_confirmed")
        return data


@dataclass(frozen=True)
class Event:
    """One entry of a reader's history."""

    id: int
    subscriber_id: int
    kind: str
    status: str | None
    at: str
    source: str | None
    ip: str | None
    user_agent: str | None
    consent_text: str | None
    detail: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row(db: Database, where: str, params: list[Any]) -> Subscriber | None:
    row = db.execute(f"SELECT {COLUMNS} FROM subscribers WHERE {where}", params).fetchone()
    return Subscriber(*row) if row else None


def load(db: Database, subscriber_id: int) -> Subscriber:
    """The reader with this id, or :class:`NotFound`."""
    found = _row(db, "id = ?", [subscriber_id])
    if found is None:
        raise NotFound(f"no reader with id {subscriber_id}; see 'newsletter subscribers list'")
    return found


def get_subscriber(ws: Workspace, key: int | str) -> Subscriber:
    """A reader by id (an int or digits) or by address (any spelling); :class:`NotFound` otherwise."""
    db = database(ws)
    if isinstance(key, int) or (isinstance(key, str) and key.strip().isdigit()):
        return load(db, int(key))
    try:
        normalized = validate_address(key).normalized
    except InvalidAddress:
        normalized = key.strip().lower()
    found = _row(db, "email_normalized = ?", [normalized])
    if found is None:
        raise NotFound(f"no reader with address {key!r}; see 'newsletter subscribers list'")
    return found


def find_by_normalized(db: Database, normalized: str) -> Subscriber | None:
    return _row(db, "email_normalized = ?", [normalized])


def select_in(db: Database, query: str, values: list[Any]) -> Iterator[tuple]:
    """Rows of ``query IN (values)``, asked in chunks (SQLite limits the number of parameters)."""
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        yield from db.execute(f"{query} IN ({', '.join('?' * len(chunk))})", chunk)


def ever_left(db: Database, reader_ids: list[int]) -> set[int]:
    """Which of these readers ever unsubscribed, bounced or complained (their history says so).

    Such a reader who is pending again re-opened through the public form; only their own
    click confirms them, never an editor's import or ``add --confirmed``.
    """
    leavers = ", ".join(f"'{s}'" for s in LEAVER_STATUSES)
    query = f"SELECT DISTINCT subscriber_id FROM subscriber_events WHERE status IN ({leavers}) AND subscriber_id"
    return {row[0] for row in select_in(db, query, list(reader_ids))}


def is_confirmed(ws: Workspace, subscriber_id: int) -> bool:
    """Whether the reader may be mailed an issue right now (checked just before each send)."""
    row = database(ws).execute("SELECT status FROM subscribers WHERE id = ?", [subscriber_id]).fetchone()
    return bool(row) and row[0] == "confirmed"


def confirmed_among(ws: Workspace, subscriber_ids: list[int]) -> set[int]:
    """Which of these readers may be mailed an issue right now (one query for a send's next few)."""
    query = "SELECT id FROM subscribers WHERE status = 'confirmed' AND id"
    return {row[0] for row in select_in(database(ws), query, list(subscriber_ids))}


def paged(
    db: Database, columns: str, where: str, params: list[Any], *, limit: int | None = None
) -> Iterator[tuple]:
    """Rows of ``SELECT columns FROM subscribers WHERE where`` in id order, a page at a time.

    ``columns`` must start with ``id``; no read transaction stays open between pages.
    """
    last, left = 0, limit
    while left is None or left > 0:
        size = ITER_BATCH if left is None else min(ITER_BATCH, left)
        rows = db.execute(
            f"SELECT {columns} FROM subscribers WHERE ({where}) AND id > ? ORDER BY id LIMIT ?", [*params, last, size]
        ).fetchall()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]
        left = None if left is None else left - len(rows)


def iter_confirmed(ws: Workspace) -> Iterator[tuple[int, str, str | None]]:
    """(id, email, name) of every confirmed reader in id order, read in batches (bounded memory)."""
    return paged(database(ws), "id, email, name", "status = 'confirmed'", [])


def confirmed_since(ws: Workspace, since: str) -> list[Subscriber]:
    """Readers confirmed now whose confirmation is at or after ``since`` (stored ISO UTC), oldest first."""
    db = database(ws)
    rows = db.execute(
        f"SELECT {COLUMNS} FROM subscribers WHERE status = 'confirmed' AND confirmed_at >= ? ORDER BY confirmed_at, id",
        [since],
    ).fetchall()
    return [Subscriber(*row) for row in rows]


def events_of(ws: Workspace, subscriber_id: int) -> list[Event]:
    """The reader's whole history, oldest first."""
    rows = database(ws).execute(
        "SELECT id, subscriber_id, kind, status, at, source, ip, user_agent, consent_text, detail "
        "FROM subscriber_events WHERE subscriber_id = ? ORDER BY id",
        [subscriber_id],
    ).fetchall()
    return [Event(*row) for row in rows]


def record_event(
    db: Database,
    subscriber_id: int,
    kind: str,
    *,
    at: str | None = None,
    status: str | None = None,
    source: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    consent_text: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one event (call inside the transaction that made the change it records)."""
    db.execute(
        "INSERT INTO subscriber_events (subscriber_id, kind, status, at, source, ip, user_agent, consent_text, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [subscriber_id, kind, status, at or clock.now_iso(), source, ip, user_agent, consent_text, detail],
    )


def set_status(
    db: Database, reader: Subscriber, status: str, *, kind: str | None = None, **event: Any
) -> Subscriber:
    """Move ``reader`` to ``status`` and record the event, inside the caller's transaction."""
    now = clock.now_iso()
    confirmed_at = now if status == "confirmed" else reader.confirmed_at
    db.execute(
        "UPDATE subscribers SET status = ?, updated_at = ?, confirmed_at = ? WHERE id = ?",
        [status, now, confirmed_at, reader.id],
    )
    record_event(db, reader.id, kind or status, at=now, status=status, **event)
    return load(db, reader.id)


def _leave(
    ws: Workspace, subscriber_id: int, status: str, from_statuses: tuple[str, ...], **event: Any
) -> Subscriber:
    """Change to a leaving status if the reader is in one of ``from_statuses``; otherwise a no-op."""
    db = database(ws)
    with write_transaction(db):
        reader = load(db, subscriber_id)
        if reader.forgotten_at or reader.status not in from_statuses:
            return reader
        return set_status(db, reader, status, **event)


def unsubscribe(
    ws: Workspace,
    subscriber_id: int,
    *,
    source: str,
    ip: str | None = None,
    user_agent: str | None = None,
    detail: str | None = None,
) -> Subscriber:
    """Stop mailing the reader at once; idempotent (a complaint stays a complaint)."""
    return _leave(
        ws, subscriber_id, "unsubscribed", ("pending", "confirmed", "bounced"),
        source=source, ip=ip, user_agent=user_agent, detail=detail,
    )


def mark_bounced(ws: Workspace, subscriber_id: int, *, source: str, detail: str | None = None) -> Subscriber:
    """The reader's address bounced permanently: no more mail until they opt in again."""
    return _leave(ws, subscriber_id, "bounced", ("pending", "confirmed"), source=source, detail=detail)


def mark_complained(ws: Workspace, subscriber_id: int, *, source: str, detail: str | None = None) -> Subscriber:
    """The reader reported our mail as spam: the strongest stop, from any status."""
    return _leave(
        ws, subscriber_id, "complained", ("pending", "confirmed", "unsubscribed", "bounced"),
        source=source, detail=detail,
    )
