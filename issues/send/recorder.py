"""The send's recorder: group commit of every thread's results, durable before that thread's next body.

A worker records before each message body it sends, so after a crash only the
message in flight on each connection can go out twice.  Results of all the
process's threads go into one buffer; the thread that writes takes everything
buffered, so one transaction carries several workers' answers, and a thread
whose answers a neighbour already wrote goes on without a write of its own
(no recorder thread, no hand-off per message).  The dispatcher and the thread
that winds the run down record their releases the same way.

Deliveries, nearly every result, are appended to the process's own journal
(:mod:`issues.send.journals`) rather than written to the outbox: one ``write`` instead of
a transaction, and the processes of a send no longer queue for the database's one
write lock on every message.  The rarer answers (refusals, deferrals, skips,
releases) still go to the outbox at once, where the next claims must see them.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from newsletter.db import connect
from subscribers import mark_bounced

from . import outbox
from .journals import JournalWriter
from .outbox import Outcomes
from .records import Deferred, Delivered, Refused, Result, Skipped

if TYPE_CHECKING:
    import sqlite_utils

    from .pipeline import SendRun


def outcomes_of(records: list[Result], max_total_attempts: int) -> tuple[Outcomes, list[tuple[int, str]]]:
    """The records as rows to write, and the (reader, reason) pairs to mark bounced."""
    out, bounces = Outcomes(), []
    for r in records:
        job = r.job
        if isinstance(r, Delivered):
            out.sent.append((job.tries, r.code, r.text, r.message_id, r.sent_at, job.provider or None, job.outbox_id))
        elif isinstance(r, Refused):
            out.failed.append((job.tries, r.code, r.detail, job.provider or None, job.outbox_id))
            if r.bounce:
                bounces.append((job.subscriber_id, f"{r.code} {r.detail}"))
        elif isinstance(r, Deferred):
            out.deferred.append((job.tries, max_total_attempts, r.code, r.detail, r.retry_at,
                                 job.provider or None, job.outbox_id))
        elif isinstance(r, Skipped):
            out.skipped.append((r.reason, job.outbox_id))
        else:
            out.released.append((r.provider, job.outbox_id))
    return out, bounces


def tally_of(records: list[Result]) -> dict[str, int]:
    tally = {"sent": 0, "failed": 0, "bounced": 0, "skipped": 0, "deferred": 0}
    for r in records:
        if isinstance(r, Delivered):
            tally["sent"] += 1
        elif isinstance(r, Refused):
            tally["failed"] += 1
            tally["bounced"] += r.bounce
        elif isinstance(r, Deferred):
            tally["deferred"] += 1
        elif isinstance(r, Skipped):
            tally["skipped"] += 1
    return tally


class Recorder:
    """Results of one run, buffered until a thread that needs them on disk writes them (:meth:`flush`)."""

    def __init__(self, run: SendRun, journal: JournalWriter | None = None) -> None:
        self.run = run
        self.journal = journal  # where deliveries go when set (the send sets it), else the outbox
        self._local = threading.local()
        self._buffer: list[Result] = []
        self._buffer_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._added = 0  # sequence number of the last record buffered
        self._written = 0  # every record up to this number is on disk
        self._db: sqlite_utils.Database | None = None  # opened by the first write, used under _write_lock only

    def add(self, record: Result) -> None:
        with self._buffer_lock:
            self._buffer.append(record)
            self._added += 1
            self._local.last = self._added

    def flush(self) -> None:
        """Return once this thread's results are on disk: written by this thread or by another one's group."""
        mine = getattr(self._local, "last", 0)
        if mine <= self._written:
            return
        with self._write_lock:
            if mine <= self._written:  # a neighbour's transaction carried them while this thread waited
                return
            with self._buffer_lock:
                records, self._buffer = self._buffer, []
                upto = self._added
            try:
                self._write(records)
            except BaseException:
                with self._buffer_lock:  # not written: they stay for the next try (or the wind-down)
                    self._buffer[:0] = records
                raise
            self._written = upto

    def close(self) -> None:
        """Close the recorder's connection (a later write opens it again)."""
        with self._write_lock:
            db, self._db = self._db, None
            if self.journal is not None:
                self.journal.close()
        if db is not None:
            db.conn.close()

    def _database(self) -> sqlite_utils.Database:
        """One connection for every thread's groups: its page cache is not thrown away each time a neighbour writes."""
        if self._db is None:
            outbox.outbox_db(self.run.ws)  # the outbox tables in place
            self._db = connect(self.run.ws.database_path)
        return self._db

    def _write(self, records: list[Result]) -> None:
        run = self.run
        out, bounces = outcomes_of(records, run.options.max_total_attempts)
        if self.journal is not None:
            self.journal.append(out.sent)
            out.sent = []
        if len(out):
            outbox.record(self._database(), out)
        for subscriber_id, detail in bounces:
            mark_bounced(run.ws, subscriber_id, source="send", detail=f"{run.issue_id}: {detail}")
        run.count(tally_of(records), finished=len(records) - len(out.released), settled=len(records))
