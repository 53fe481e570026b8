"""The send's recorder: writes whatever results have arrived in one transaction (group commit).

Each result is on disk milliseconds after the server's answer, without one commit
per message; after each commit it tells the workers how far it got, and a worker
starts its next message body only once its last delivery is recorded.
"""

from __future__ import annotations

import contextlib
import queue
from typing import TYPE_CHECKING

from subscribers import mark_bounced

from . import outbox
from .outbox import Outcomes
from .records import Deferred, Delivered, Refused, Result, Skipped

if TYPE_CHECKING:
    from .pipeline import SendRun

GROUP_LIMIT = 5000  # results per transaction at most


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
    """The thread that empties the run's result queue into the outbox."""

    def __init__(self, run: SendRun) -> None:
        self.run = run

    def __call__(self) -> None:
        run = self.run
        db = outbox.outbox_db(run.ws)
        try:
            while True:
                try:
                    first = run.results.get(timeout=0.05)
                except queue.Empty:
                    if run.recorder_stop.is_set():
                        return
                    continue
                batch = [first]
                with contextlib.suppress(queue.Empty):
                    while len(batch) < GROUP_LIMIT:
                        batch.append(run.results.get_nowait())
                self.record(db, batch)
        except BaseException as exc:
            run.halt(fatal=exc)
            raise
        finally:
            run.ws.close()

    def record(self, db: object, batch: list[tuple[int, Result]]) -> None:
        run = self.run
        records = [r for _, r in batch]
        out, bounces = outcomes_of(records, run.options.max_total_attempts)
        outbox.record(db, out)  # type: ignore[arg-type]
        run.recorded_up_to(batch[-1][0])
        for subscriber_id, detail in bounces:
            mark_bounced(run.ws, subscriber_id, source="send", detail=f"{run.issue_id}: {detail}")
        run.count(tally_of(records), finished=len(records) - len(out.released), settled=len(records))
