"""The outbox: one row per (issue, reader), the ledger a send works through and resumes from.

Rows go ``pending`` -> ``sending`` (claimed by this run) -> ``sent`` | ``failed`` |
``skipped``; a temporary failure goes back to ``pending``.  A row left ``sending``
by a killed run is the only message that can go out twice.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from issues.build import resolve_issue_id
from newsletter.clock import now_iso
from newsletter.db import Database, write_transaction
from newsletter.workspace import Workspace
from subscribers import contacts_of, count_confirmed, snapshot_confirmed

from .journals import WRITER_GONE_WAIT, JournalFolder
from .outbox_schema import COMPONENT, MIGRATIONS, STATUSES

TEMPORARY_FAILURE = "(code = 0 OR code BETWEEN 400 AND 499)"


def outbox_db(ws: Workspace) -> Database:
    """This thread's database with the outbox tables in place."""
    return ws.require_schema(COMPONENT, MIGRATIONS)


@dataclass
class SendRecord:
    """An issue's send as stored: when the snapshot was taken, its size, whether it is finished."""

    issue_id: str
    started_at: str
    readers: int
    finished_at: str | None
    runs: int
    paused: str | None = None  # why the last run paused itself, if it did


_RECORD = "issue_id, started_at, readers, finished_at, runs, paused"  # SendRecord's fields, in order


def send_record(ws: Workspace, issue_id: str) -> SendRecord | None:
    row = outbox_db(ws).execute(f"SELECT {_RECORD} FROM issue_sends WHERE issue_id = ?", [issue_id]).fetchone()
    return SendRecord(*row) if row else None


def start_send(ws: Workspace, issue_id: str) -> tuple[SendRecord, bool]:
    """Snapshot every reader confirmed now into the outbox, once per issue; (record, whether new).

    One ``INSERT … SELECT`` inside SQLite: it streams (no reader list in Python) and,
    being one transaction, is exactly the confirmed readers at that instant.  The send's
    row is written and read back in one statement (``RETURNING``).
    """
    db = outbox_db(ws)
    with write_transaction(db):
        existing = send_record(ws, issue_id)
        if existing is None:
            now = now_iso()
            readers = snapshot_confirmed(ws, "outbox", "subscriber_id",
                                         {"issue_id": issue_id, "status": "pending", "updated_at": now})
            rows = db.execute(f"INSERT INTO issue_sends (issue_id, started_at, readers, runs) VALUES (?, ?, ?, 1) "
                              f"RETURNING {_RECORD}", [issue_id, now, readers]).fetchall()
        else:
            rows = db.execute("UPDATE issue_sends SET runs = runs + 1, finished_at = NULL, paused = NULL "
                              f"WHERE issue_id = ? RETURNING {_RECORD}", [issue_id]).fetchall()
    return SendRecord(*rows[0]), existing is None


def fold_journals(ws: Workspace, issue_id: str, *, wait: float = 0.0) -> int:
    """Fold into the outbox the deliveries a send's processes wrote to their journals and nobody folded yet.

    A journal still locked by a live send is left to that send (after ``wait`` seconds;
    see :mod:`issues.send.journals`).  Returns how many deliveries were folded.
    """
    db = outbox_db(ws)
    return JournalFolder(ws, issue_id, functools.partial(record_sent, db)).finish(wait=wait)


def recover_in_flight(ws: Workspace, issue_id: str) -> int:
    """Put rows a killed run left ``sending`` back to ``pending`` (their messages may go out twice).

    Deliveries a killed run wrote to its journals are folded first: those rows are sent, not in flight.
    """
    fold_journals(ws, issue_id, wait=WRITER_GONE_WAIT)
    db = outbox_db(ws)
    with write_transaction(db):
        cur = db.execute(
            "UPDATE outbox SET status = 'pending', updated_at = ? WHERE issue_id = ? AND status = 'sending'",
            [now_iso(), issue_id],
        )
    return cur.rowcount


def requeue_failed(ws: Workspace, issue_id: str) -> int:
    """Put rows that failed temporarily (4xx, no answer) back to ``pending`` with a fresh attempt count."""
    db = outbox_db(ws)
    with write_transaction(db):
        cur = db.execute(
            f"UPDATE outbox SET status = 'pending', attempts = 0, updated_at = ? "
            f"WHERE issue_id = ? AND status = 'failed' AND {TEMPORARY_FAILURE}",
            [now_iso(), issue_id],
        )
        if cur.rowcount:
            db.execute("UPDATE issue_sends SET finished_at = NULL WHERE issue_id = ?", [issue_id])
    return cur.rowcount


def set_paused(ws: Workspace, issue_id: str, reason: str | None) -> None:
    """Note why the send paused itself (None: it did not); the next run clears it and resumes."""
    db = outbox_db(ws)
    with write_transaction(db):
        db.execute("UPDATE issue_sends SET paused = ? WHERE issue_id = ?", [reason, issue_id])


def finish_send(ws: Workspace, issue_id: str) -> None:
    db = outbox_db(ws)
    with write_transaction(db):
        db.execute("UPDATE issue_sends SET finished_at = ? WHERE issue_id = ?", [now_iso(), issue_id])


@dataclass(slots=True)
class Job:
    """One claimed outbox row on its way to a worker."""

    outbox_id: int
    subscriber_id: int
    email: str | None
    name: str | None
    attempts: int = 0  # tries in earlier runs (or earlier deferrals), as stored
    tries: int = 0     # tries in this run
    last_code: int = 0
    last_detail: str = ""
    message_id: str = ""
    provider: str = ""

    @property
    def domain(self) -> str:
        return (self.email or "").rpartition("@")[2].lower()


def claim(ws: Workspace, issue_id: str, after_id: int, limit: int, *, now: float | None = None,
          skip_providers: Sequence[str] = (), first_tries: bool | None = None) -> list[Job]:
    """Mark the next ``limit`` pending rows after ``after_id`` that are due as ``sending``; return them by id.

    A row deferred to ``next_try_at`` is due from then on; rows of ``skip_providers``
    (providers with enough work in hand, or paused) are left for a later claim.
    ``first_tries``: True for rows never tried yet only, False for rows tried before only.
    """
    db = outbox_db(ws)
    due = time.time() if now is None else now
    skip = ""
    if skip_providers:
        skip = f" AND (provider IS NULL OR provider NOT IN ({','.join('?' * len(skip_providers))}))"
    if first_tries is not None:
        skip += " AND attempts = 0" if first_tries else " AND attempts > 0"
    with write_transaction(db):
        rows = db.execute(
            "UPDATE outbox SET status = 'sending', updated_at = ? WHERE id IN ("
            " SELECT id FROM outbox WHERE issue_id = ? AND status = 'pending' AND id > ?"
            f" AND (next_try_at IS NULL OR next_try_at <= ?){skip} ORDER BY id LIMIT ?"
            ") RETURNING id, subscriber_id, attempts",
            [now_iso(), issue_id, after_id, due, *skip_providers, limit],
        ).fetchall()
    if not rows:
        return []
    rows.sort()
    readers = contacts_of(ws, [r[1] for r in rows])
    return [Job(oid, sid, *readers.get(sid, (None, None)), attempts=attempts) for oid, sid, attempts in rows]


def pending_rows(db: Database, issue_id: str,
                 skip_providers: Sequence[str] = ()) -> tuple[int, int, float | None]:
    """(pending rows, how many are due now, when the first deferred one is due: Unix time or None).

    Rows of ``skip_providers`` (paused for this run) are not counted.
    """
    now = time.time()
    skip = ""
    if skip_providers:
        skip = f" AND (provider IS NULL OR provider NOT IN ({','.join('?' * len(skip_providers))}))"
    pending, due, earliest = db.execute(
        "SELECT count(*), count(*) FILTER (WHERE next_try_at IS NULL OR next_try_at <= ?), "
        "min(next_try_at) FILTER (WHERE next_try_at > ?) FROM outbox "
        f"WHERE issue_id = ? AND status = 'pending'{skip}",
        [now, now, issue_id, *skip_providers],
    ).fetchone()
    return pending, due, earliest


def deferred(ws: Workspace, issue_id: str) -> tuple[int, str | None]:
    """(readers waiting for a retry after a temporary refusal, when the first is due: UTC ISO 8601)."""
    n, earliest = outbox_db(ws).execute(
        "SELECT count(*), min(next_try_at) FROM outbox WHERE issue_id = ? AND status = 'pending' "
        "AND next_try_at IS NOT NULL", [issue_id],
    ).fetchone()
    when = datetime.fromtimestamp(earliest, UTC).isoformat(timespec="seconds") if earliest else None
    return n, when


@dataclass
class Outcomes:
    """Results to record in one transaction (the recorder groups whatever has arrived)."""

    sent: list[tuple] = field(default_factory=list)      # (tries, code, detail, message_id, sent_at, provider, id)
    failed: list[tuple] = field(default_factory=list)    # (tries, code, detail, provider, outbox_id)
    deferred: list[tuple] = field(default_factory=list)  # (tries, max_total, code, detail, next_try_at, provider, id)
    skipped: list[tuple] = field(default_factory=list)   # (detail, outbox_id)
    released: list[tuple] = field(default_factory=list)  # (provider or None, outbox_id)

    def __len__(self) -> int:
        return len(self.sent) + len(self.failed) + len(self.deferred) + len(self.skipped) + len(self.released)


def record(db: Database, outcomes: Outcomes) -> None:
    """Write a group of results in one transaction (each row's final word for this run)."""
    now = now_iso()
    with write_transaction(db):
        conn = db.conn
        if outcomes.sent:
            conn.executemany(
                "UPDATE outbox SET status = 'sent', attempts = attempts + ?, code = ?, detail = ?, "
                f"message_id = ?, sent_at = ?, provider = ?, next_try_at = NULL, updated_at = '{now}' "
                "WHERE id = ? AND status = 'sending'",  # so a journal folded twice changes nothing
                outcomes.sent,
            )
        if outcomes.failed:
            conn.executemany(
                "UPDATE outbox SET status = 'failed', attempts = attempts + ?, code = ?, detail = ?, "
                f"provider = ?, next_try_at = NULL, updated_at = '{now}' WHERE id = ?",
                outcomes.failed,
            )
        if outcomes.deferred:
            conn.executemany(
                "UPDATE outbox SET attempts = attempts + ?1, "
                "status = CASE WHEN attempts + ?1 >= ?2 THEN 'failed' ELSE 'pending' END, "
                "next_try_at = CASE WHEN attempts + ?1 >= ?2 THEN NULL ELSE ?5 END, "
                f"code = ?3, detail = ?4, provider = ?6, updated_at = '{now}' WHERE id = ?7",
                outcomes.deferred,
            )
        if outcomes.skipped:
            conn.executemany(
                f"UPDATE outbox SET status = 'skipped', detail = ?, updated_at = '{now}' WHERE id = ?",
                outcomes.skipped,
            )
        if outcomes.released:
            conn.executemany(
                "UPDATE outbox SET status = 'pending', provider = coalesce(?, provider), "
                f"updated_at = '{now}' WHERE id = ? AND status = 'sending'",
                outcomes.released,
            )


def record_sent(db: Database, rows: list[tuple]) -> None:
    """Write a batch of deliveries folded from a send's journals (rows as in :attr:`Outcomes.sent`)."""
    record(db, Outcomes(sent=rows))


def counts(ws: Workspace, issue_id: str) -> dict[str, int]:
    """Rows of this issue per status (every status present, zero when none)."""
    found = dict(
        outbox_db(ws).execute(
            "SELECT status, count(*) FROM outbox WHERE issue_id = ? GROUP BY status", [issue_id]
        ).fetchall()
    )
    return {status: found.get(status, 0) for status in STATUSES}


def reasons(ws: Workspace, issue_id: str, statuses: Sequence[str] = ("failed", "skipped", "pending"),
            limit: int = 10) -> list[dict[str, Any]]:
    """The most common (status, code, detail) among rows not sent, for ``issue status``."""
    marks = ",".join("?" * len(statuses))
    rows = outbox_db(ws).execute(
        f"SELECT status, code, detail, count(*) AS n FROM outbox WHERE issue_id = ? AND status IN ({marks}) "
        "AND (detail IS NOT NULL OR status != 'pending') GROUP BY status, code, detail ORDER BY n DESC LIMIT ?",
        [issue_id, *statuses, limit],
    ).fetchall()
    return [{"status": s, "code": c, "detail": d, "count": n} for s, c, d, n in rows]


def rows_of(ws: Workspace, issue_id: str) -> list[dict[str, Any]]:
    """Outbox rows of an issue as dicts (for tests and ``--json`` detail; not for big lists)."""
    db = outbox_db(ws)
    return list(db.query("SELECT * FROM outbox WHERE issue_id = ? ORDER BY id", [issue_id]))


def by_provider(ws: Workspace, issue_id: str) -> dict[str, dict[str, int]]:
    """Rows per receiving provider and status (rows not yet tried have no provider: left out)."""
    out: dict[str, dict[str, int]] = {}
    for provider, status, n in outbox_db(ws).execute(
        "SELECT provider, status, count(*) FROM outbox WHERE issue_id = ? AND provider IS NOT NULL "
        "GROUP BY provider, status ORDER BY provider", [issue_id],
    ).fetchall():
        out.setdefault(provider, dict.fromkeys(STATUSES, 0))[status] = n
    return out


def send_status(ws: Workspace, issue_id: str) -> dict[str, Any]:
    """Where an issue's send stands: the snapshot, counts per status, and the reasons rows were not sent."""
    fold_journals(ws, issue_id)
    record = send_record(ws, issue_id)
    waiting, next_try_at = deferred(ws, issue_id)
    return {
        "issue": issue_id,
        "started_at": record.started_at if record else None,
        "finished_at": record.finished_at if record else None,
        "readers": record.readers if record else 0,
        "runs": record.runs if record else 0,
        "counts": counts(ws, issue_id),
        "paused": record.paused if record else None,
        "deferred": waiting,
        "next_try_at": next_try_at,
        "providers": by_provider(ws, issue_id),
        "reasons": reasons(ws, issue_id),
    }


def sent_message(ws: Workspace, message_id: str) -> tuple[str, int] | None:
    """(issue id, subscriber id) of the outbox row that sent ``message_id`` (with or without <>), if any."""
    bare = message_id.strip().strip("<>")
    if not bare:
        return None
    row = outbox_db(ws).execute(
        "SELECT issue_id, subscriber_id FROM outbox WHERE message_id IN (?, ?) LIMIT 1", [f"<{bare}>", bare]
    ).fetchone()
    return (row[0], int(row[1])) if row else None


def issues_sent_to(ws: Workspace, subscriber_id: int,
                   statuses: Sequence[str] = ("sent",)) -> list[str]:
    """The issues whose outbox row for this reader has one of ``statuses``, the latest sent first."""
    marks = ",".join("?" * len(statuses))
    rows = outbox_db(ws).execute(
        f"SELECT issue_id FROM outbox WHERE subscriber_id = ? AND status IN ({marks}) "
        "ORDER BY sent_at DESC, issue_id DESC", [subscriber_id, *statuses])
    return [row[0] for row in rows]


def pending_readers(ws: Workspace, issue_key: str, *, retry_failed: bool = False) -> int:
    """How many readers a send would mail now (for the confirmation prompt and the progress bar)."""
    issue_id = resolve_issue_id(ws, issue_key)
    db = outbox_db(ws)
    fold_journals(ws, issue_id)
    if send_record(ws, issue_id) is None:
        return count_confirmed(ws)
    found = counts(ws, issue_id)
    waiting = found["pending"] + found["sending"]
    if retry_failed:
        waiting += db.execute(
            f"SELECT count(*) FROM outbox WHERE issue_id = ? AND status = 'failed' AND {TEMPORARY_FAILURE}",
            [issue_id],
        ).fetchone()[0]
    return waiting
