"""The send's workers: each holds one connection and sends chunks of one provider's readers.

A worker builds each message just before the transport takes it (after checking,
at most a second earlier, that the reader is still confirmed), keeps every answer
as a typed record, and has it written (:mod:`issues.send.recorder`) before it starts
the next message's body: after a crash only the message in flight on each
connection can go out twice.  How a refusal is handled depends on what it concerns:

- the reader (a 4xx to RCPT or DATA on a live connection): the reader is deferred
  to a later try and the connection goes on with the next reader;
- the provider (a 421, a run of 4xx): that provider's lane slows down and cools off;
  ``pause_after_failures`` refusals in a row pause it for the run, except that when
  all of them are temporary it is held first: its retries alone go on, and one
  delivered says it greylists new senders (it goes on), one refused pauses it;
- the server (cannot connect, no answer, connection lost): the job goes back to its
  lane, and when every connection fails in a row the whole send pauses.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import random
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from newsletter.clock import now_iso
from newsletter.errors import InvalidInput
from newsletter.transports import Outgoing, Transport, TransportError
from subscribers import confirmed_among, is_confirmed, status_of

from .lanes import Lane
from .outbox import Job
from .records import Deferred, Delivered, Refused, Released, Skipped

if TYPE_CHECKING:
    from .pipeline import SendRun

log = logging.getLogger(__name__)

DOWN_GRACE = 10  # back-offs (at most 10 s) without a delivery before unreachable connections pause the send
TEMPORARY_RUN = 3  # temporary refusals in a row from one provider that can count as it throttling us
CHANCE = 0.01  # a run of temporary refusals is a throttle when greylisting alone would give one this long less often
HOLD_SLACK = 30.0  # seconds a held provider's first retry may take beyond its due time before it is paused
RECHECK_EVERY = 1.0  # seconds a look at which readers are still confirmed holds (one query per chunk, not per reader)


class Aborted(Exception):
    """A second Ctrl-C: send no further message body."""


def throttle_run(run: int, answers: int, temporary: int) -> bool:
    """Whether ``run`` temporary refusals in a row (the last of ``answers``, ``temporary`` of them
    refusals) say the provider is throttling us, rather than greylisting some readers.

    A provider that greylists a share q of the readers gives runs of k refusals in a row by
    chance, about n * q**k times in n answers; a run is taken as a throttle once it is longer
    than that share explains (and at least ``TEMPORARY_RUN`` long).  Without greylisting
    before, three refusals in a row are a throttle, as they always were.
    """
    if run < TEMPORARY_RUN:
        return False
    share = (temporary - run + 1) / (answers - run + 2)  # refused for now before this run (Laplace's rule)
    return answers * share ** run < CHANCE


def backoff(first: float, tries: int, cap: float, *, never_early: bool = False) -> float:
    """``first`` doubling per try, capped, with +-25% jitter so retries do not arrive in step.

    ``never_early``: jitter only upward, for a reader's retry after a temporary refusal: a
    greylister refuses a retry that comes before its window (postgrey's is 300 s, our
    ``defer_delay``), and an early retry costs the reader a doubled wait.
    """
    return min(first * 2 ** max(0, tries - 1), cap) * random.uniform(1.0 if never_early else 0.75, 1.25)


class Worker:
    """One connection's loop: take a chunk from a ready lane, send it, report every answer."""

    def __init__(self, run: SendRun) -> None:
        self.run = run

    def __call__(self) -> None:
        run = self.run
        transport: Transport | None = None
        try:
            transport = run.transport_factory()
            while True:
                taken = run.lanes.take(run.chunk, run.stop)
                if taken is None:
                    return
                lane, chunk = taken
                try:
                    self._send_chunk(transport, lane, chunk)
                finally:
                    run.lanes.leave(lane)
        except Aborted:
            return
        except BaseException as exc:  # a bug or a setting error: stop the whole send
            log.debug("worker stopped by %r", exc, exc_info=True)
            run.halt(fatal=exc)
        finally:
            with contextlib.suppress(Exception):
                run.record()
            if transport is not None and not run.aborted.is_set():
                with contextlib.suppress(Exception):
                    transport.close()
            run.ws.close()

    def _send_chunk(self, transport: Transport, lane: Lane, chunk: list[Job]) -> None:
        unsent = collections.deque(chunk)
        self.give_back = False
        rest = 0.0
        for job, outcome in transport.send_many(self._outgoing(lane, unsent), before_body=self._record_before_body):
            if isinstance(outcome, TransportError):
                rest = max(rest, self._failed(lane, job, outcome, unsent))
            else:
                self.run.report(Delivered(job, outcome.code, outcome.text, job.message_id, now_iso()))
                self._succeeded(lane, job)
        if unsent:  # requeued after the transport had read the last item
            self.run.lanes.give_back(lane, list(unsent))
            unsent.clear()
        self.run.record()
        if rest:
            self.run.stop.wait(rest)  # a lost connection: wait a little before reconnecting

    def _record_before_body(self) -> None:
        """Before the next message body: this worker's answers so far on disk (and none at all once aborted)."""
        self.run.record()
        if self.run.aborted.is_set():
            raise Aborted

    def _outgoing(self, lane: Lane, unsent: collections.deque[Job]) -> Iterator[Outgoing]:
        """The chunk's messages, each checked and built just before the transport takes it.

        Read lazily by the transport, so each pull sees the latest word: a stop or a paused
        provider releases the rest, a lost connection gives the rest back to the lane.
        """
        run = self.run
        confirmed: set[int] = set()
        checked_at = float("-inf")
        while unsent:
            if self.give_back:
                run.lanes.give_back(lane, list(unsent))
                unsent.clear()
                return
            wait = 0.0 if run.halted else lane.delay() + (run.bucket.wait_time() if run.bucket else 0.0)
            if run.halted or lane.paused or (wait > 0 and run.stop.wait(wait)) or lane.paused:
                for left in unsent:
                    run.report(Released(left, lane.name if lane.paused else None))
                unsent.clear()
                return
            if time.monotonic() - checked_at > RECHECK_EVERY:  # an unsubscribe is honoured within a second
                confirmed = confirmed_among(run.ws, [left.subscriber_id for left in unsent])
                checked_at = time.monotonic()
            job = unsent.popleft()
            # not in the last look (gone since, or put back after it): asked on its own
            if job.email is None or (job.subscriber_id not in confirmed and not is_confirmed(run.ws, job.subscriber_id)):
                status = "forgotten" if job.email is None else self._status_of(job.subscriber_id)
                run.report(Skipped(job, f"reader is {status}"))
                continue
            try:
                sender, rcpt, message, job.message_id = run.messages.compose(job.subscriber_id, job.email, job.name)
            except InvalidInput as exc:
                run.report(Refused(job, None, f"not sent: {exc}"))
                continue
            job.tries += 1
            yield job, sender, [rcpt], message

    def _status_of(self, subscriber_id: int) -> str:
        return status_of(self.run.ws, subscriber_id) or "gone"

    # -- outcomes -----------------------------------------------------------------------------

    def _succeeded(self, lane: Lane, job: Job) -> None:
        run = self.run
        lane.answers += 1  # a statistic for throttle_run: an increment lost to a race now and then does not matter
        if lane.held_until and run.lanes.release_hold(lane):
            log.info("%s delivered a %s after %s; going on", lane.name,
                     "retry (it greylists new senders)" if job.attempts else "first try", lane.hold_reason)
            if job.attempts:
                greylisting(run, lane)
        if lane.failures_in_a_row or lane.temporary_in_a_row or lane.strikes or lane.pace or lane.run_throttled:
            with run.lanes.cond:  # else nothing to reset
                lane.failures_in_a_row = lane.temporary_in_a_row = lane.strikes = 0
                lane.run_throttled = False
                lane.pace = lane.pace * 0.8 if lane.pace > 0.01 else 0.0
        run.last_success = time.monotonic()
        if run.unreachable_in_a_row or run.refusing:
            with run.lock:
                run.unreachable_in_a_row = 0
                run.refusing.clear()

    def _failed(self, lane: Lane, job: Job, exc: TransportError, unsent: collections.deque[Job]) -> float:
        """Handle one refusal; returns how long this worker should rest before going on."""
        run, options = self.run, self.run.options
        detail = f"{exc.enhanced} {exc.text}".strip()
        job.last_code, job.last_detail = exc.code, detail
        log.debug("%s: %s", job.email, exc)
        if exc.code == 0 or exc.connection_lost:  # the connection, not the reader
            return self._connection_failed(lane, job, exc, detail, unsent)
        # a proven greylister refuses every first try for now: that says nothing about its health
        explained = exc.temporary and lane.greylisting and not job.attempts
        with run.lanes.cond:
            lane.failures_in_a_row += not explained
            lane.answers += 1
            lane.temporary += exc.temporary
            lane.temporary_in_a_row = lane.temporary_in_a_row + 1 if exc.temporary else 0
            in_a_row = lane.failures_in_a_row
            # slowed once per run: a provider refusing on and on is paused below, not slowed to a crawl
            slow_down = not explained and not lane.run_throttled and \
                throttle_run(lane.temporary_in_a_row, lane.answers, lane.temporary)
            lane.run_throttled = lane.run_throttled or slow_down
        if slow_down:
            throttle(self.run, lane)
        if not exc.temporary:
            run.report(Refused(job, exc.code, detail, exc.recipient_level))
        else:
            tries = job.attempts + job.tries
            run.report(Deferred(job, exc.code, detail,
                                time.time() + backoff(options.defer_delay, tries, options.defer_cap, never_early=True)))
        if explained or self._everyone_refused(lane, exc, detail):
            return 0.0
        if lane.held_until:  # only its retries go: one refused for now says it refuses us, not new senders
            if exc.temporary and job.attempts:
                pause_lane(run, lane, f"{lane.hold_reason}; a retry was refused too: {exc.code} {detail}")
        elif in_a_row >= options.pause_after_failures:
            reason = f"{in_a_row} failures in a row from {lane.name}, the last: {exc.code} {detail}"
            if lane.temporary_in_a_row >= in_a_row and not lane.greylisting:
                hold_lane(run, lane, reason)
            else:
                pause_lane(run, lane, reason)
        return 0.0

    def _everyone_refused(self, lane: Lane, exc: TransportError, detail: str) -> bool:
        """Pause the whole send once ``pause_after_failures`` temporary refusals in a row, from more than
        one provider and with no delivery between them, say the server refuses everybody (a relay or
        a server that is down answering 4xx), instead of waiting for each provider's own count."""
        run = self.run
        with run.lock:
            if not exc.temporary:  # a reader's own hard refusal: the server is answering
                run.refusing.clear()
                return False
            run.refusing[lane.name] += 1
            count, providers = run.refusing.total(), len(run.refusing)
        if count < run.options.pause_after_failures or providers < 2:
            return False
        run.halt(paused=f"{count} refusals in a row from {providers} providers and no delivery between them, "
                        f"the last: {exc.code} {detail}")
        return True

    def _connection_failed(self, lane: Lane, job: Job, exc: TransportError, detail: str,
                           unsent: collections.deque[Job]) -> float:
        run, options = self.run, self.run.options
        if exc.code == 421:
            throttle(self.run, lane)
        if job.tries < options.max_attempts:
            unsent.appendleft(job)  # its turn again once the connection is back
        else:
            run.report(Deferred(job, exc.code, detail,
                                time.time() + backoff(options.retry_delay, job.tries, options.defer_cap)))
        with run.lock:
            run.unreachable_in_a_row += exc.unreachable
            failures = max(1, run.unreachable_in_a_row)
        silent = time.monotonic() - run.last_success
        if exc.unreachable and failures >= run.down_after and silent >= min(10.0, DOWN_GRACE * options.retry_delay):
            run.halt(paused=f"the server is down (nothing delivered for {silent:.0f}s): {detail}")
        self.give_back = True  # the rest of the chunk goes back to the lane for a worker with a connection
        return backoff(options.retry_delay, min(failures, 6), 30.0)


def throttle(run: SendRun, lane: Lane, *, tell: bool = True) -> None:
    """The provider asks us to slow down: space its messages out and let it cool off a while.

    ``tell``: pass it on to the send's other processes (their connections to it slow down too).
    """
    with run.lanes.cond:
        first = lane.limits.retry_delay
        lane.strikes += 1
        lane.pace = min(max(lane.pace * 2, first / 4), first * 30)
        lane.cool_until = time.monotonic() + backoff(first, lane.strikes, 300.0)
    if tell and run.lane_event is not None:
        run.lane_event("throttle", lane.name, "")


def hold_lane(run: SendRun, lane: Lane, reason: str, *, tell: bool = True) -> None:
    """Refused for now in a row: hold the provider's first tries until a retry of a reader refused
    (due after ``defer_delay``, at most +25%) is answered, or pause it if none is by the deadline.

    Paused at once when the send does not stay that long for retries (``wait_for_deferred``).
    ``tell``: hold it in the send's other processes too (any of them may be the one to retry a reader).
    """
    due = run.options.defer_delay * 1.25
    if due > run.options.wait_for_deferred:
        pause_lane(run, lane, reason, tell=tell)
        return
    run.lanes.hold(lane, time.monotonic() + due + HOLD_SLACK, reason)
    log.info("held %s for up to %.0fs, until a retry tells greylisting from refusal: %s", lane.name,
             due + HOLD_SLACK, reason)
    if tell and run.lane_event is not None:
        run.lane_event("hold", lane.name, reason)


def greylisting(run: SendRun, lane: Lane, *, tell: bool = True) -> None:
    """A retry was delivered after a run of refusals for now: the provider greylists new senders.
    Its refusals were no throttle (full speed again), and its first tries refused no longer count.

    ``tell``: pass it on to the send's other processes (their lanes to it go on without a hold).
    """
    run.lanes.release_hold(lane)
    with run.lanes.cond:
        lane.greylisting, lane.pace, lane.cool_until = True, 0.0, 0.0
    if tell and run.lane_event is not None:
        run.lane_event("greylisting", lane.name, "")


def pause_lane(run: SendRun, lane: Lane, reason: str, *, tell: bool = True) -> None:
    """Stop serving a provider for this run (in every process of the send): its waiting readers are released."""
    for job in run.lanes.pause(lane, reason):
        run.report(Released(job, job.provider))
    run.record()
    log.info("paused %s: %s", lane.name, reason)
    if tell and run.lane_event is not None:
        run.lane_event("pause", lane.name, reason)
