"""The send's recorder: each thread writes its own results, all that it has, in one transaction.

A worker records before each message body it sends (its last answer and anything
it skipped or deferred since), so after a crash only the message in flight on
each connection can go out twice, and no result waits for another thread: no
queue, no hand-off, no wake-up per message.  The dispatcher and the thread that
winds the run down record their releases the same way.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from subscribers import mark_bounced

from . import outbox
from .outbox import Outcomes
from .records import Deferred, Delivered, Refused, Result, Skipped

if TYPE_CHECKING:
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
    """Results of one run, kept per thread until that thread writes them (:meth:`flush`)."""

    def __init__(self, run: SendRun) -> None:
        self.run = run
        self._local = threading.local()

    def add(self, record: Result) -> None:
        buffer = getattr(self._local, "records", None)
        if buffer is None:
            buffer = self._local.records = []
        buffer.append(record)

    def flush(self) -> None:
        """Write this thread's results in one transaction, then count them."""
        records = getattr(self._local, "records", None)
        if not records:
            return
        self._local.records = []
        run = self.run
        out, bounces = outcomes_of(records, run.options.max_total_attempts)
        outbox.record(outbox.outbox_db(run.ws), out)
        for subscriber_id, detail in bounces:
            mark_bounced(run.ws, subscriber_id, source="send", detail=f"{run.issue_id}: {detail}")
        run.count(tally_of(records), finished=len(records) - len(out.released), settled=len(records))
