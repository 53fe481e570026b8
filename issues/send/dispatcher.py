"""The send's dispatcher (the calling thread): claims due outbox rows and queues them per provider.

Rows are claimed in id order in batches.  Each reader's provider is found from
their domain (one MX lookup per new domain per send); a provider whose lane is
full or paused has its rows released with their provider noted, so the next
claims pass them by and the other providers never wait behind it.  When the
list is worked through, the dispatcher comes back for rows deferred to a later
try while they fall due within ``[delivery] wait_for_deferred``.

From then on it claims little at a time, only as its workers run short: the
retries falling due are shared among the send's processes as each has room,
instead of one process taking them all while the others' connections wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import outbox
from .records import Released
from .workers import pause_lane

if TYPE_CHECKING:
    from .pipeline import SendRun

RESCAN_EVERY = 0.25  # seconds between looks for rows that fell due or lanes with room again


class Dispatcher:
    """Feeds the lanes until every due row has an answer, the send is stopped, or only waiting rows are left."""

    def __init__(self, run: SendRun, progress: Callable[[int], None] | None) -> None:
        self.run = run
        self.progress = progress
        self.reported = 0
        self.next_due: float | None = None  # when the first deferred row falls due, if past this run's wait

    def __call__(self) -> None:
        run = self.run
        db = outbox.outbox_db(run.ws)
        cursor, exhausted, last_scan = 0, False, 0.0
        first_tries = True  # readers never tried are claimed before the retries that fell due
        room, size = max(run.options.batch_size * 3, run.lanes.lane_cap), run.options.batch_size
        while not run.halted:
            for lane in run.lanes.overdue_holds():
                pause_lane(run, lane, f"{lane.hold_reason}; no retry was answered in time")
            # first tries waiting in a held lane leave room for the retries it waits for
            if not exhausted and run.outstanding - run.lanes.held_first_tries() < room:
                batch = outbox.claim(run.ws, run.issue_id, cursor, size, skip_providers=run.lanes.crowded(first_tries),
                                     first_tries=first_tries)
                if batch:
                    cursor = batch[-1].outbox_id
                    self._queue(batch)
                    continue
                if first_tries and cursor:
                    cursor = 0  # first tries passed over while their provider's lane was full
                    continue
                if first_tries:
                    first_tries = False  # now the retries that are due
                    continue
                exhausted, last_scan, first_tries = True, time.monotonic(), True
                # the list is worked through: from now on a chunk per connection, as the workers run short
                size = min(size, run.chunk * run.connections)
                room = min(room, 2 * size)
            self._show_progress()
            if run.outstanding == 0 and run.lanes.queued() == 0:
                pending, due, earliest = outbox.pending_rows(db, run.issue_id, run.lanes.unserved())
                if not due:
                    if not pending or earliest is None or earliest - time.time() > run.options.wait_for_deferred:
                        self.next_due = earliest
                        break
                    run.stop.wait(max(0.0, min(earliest - time.time(), 1.0)))
                    continue
                cursor, exhausted = 0, False  # rows deferred earlier in this run are due again
                continue
            if exhausted and time.monotonic() - last_scan > RESCAN_EVERY:
                cursor, exhausted = 0, False  # look again for due rows and lanes with room
                continue
            run.stop.wait(0.02)
        self._show_progress()

    def _queue(self, batch: list) -> None:
        run = self.run
        run.add_outstanding(len(batch))
        run.providers.resolve({job.domain for job in batch if job.email})
        for job in batch:
            job.provider = run.providers.provider_of(job.domain) if job.email else ""
            if not run.lanes.add(job):
                run.report(Released(job, job.provider))
        run.record()

    def _show_progress(self) -> None:
        done = self.run.done
        if self.progress is not None and done != self.reported:
            self.progress(done - self.reported)
            self.reported = done
