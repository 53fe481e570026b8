"""The send's machinery: claimed batches -> a job queue -> SMTP workers -> one recorder.

Shaped like listmonk's campaign manager (rate, concurrency, pause after N
failures in a row), but every reader has an outbox row.  Workers are threads,
each holding one SMTP connection (socket calls release the GIL) and streaming
small chunks of jobs through :meth:`Transport.send_many`, which pipelines each
message's end with the next envelope.  The recorder writes whatever results have
arrived in one transaction (group commit): each result is on disk milliseconds
after the server's answer, without one commit per message.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from newsletter.clock import now_iso
from newsletter.errors import InvalidInput
from newsletter.transports import Transport, TransportError
from newsletter.transports.base import Outgoing
from newsletter.workspace import Workspace
from subscribers import compact_token, is_confirmed, mark_bounced, unsubscribe_url
from subscribers.verp import bounce_sender, sender_domain, unsubscribe_mailto

from . import outbox
from .message import IssueMessage, Recipient, envelope_recipient
from .outbox import Job, Outcomes

log = logging.getLogger(__name__)

THROTTLE_CODES = (421, 450, 451, 454)


@dataclass(frozen=True)
class DeliveryOptions:
    """How hard to push: the ``[delivery]`` settings."""

    connections: int = 4
    rate: float = 0.0  # messages per second over all connections; 0 = no limit
    batch_size: int = 200
    max_attempts: int = 5  # tries of one message within one run, then it waits for the next run
    max_total_attempts: int = 15  # tries over all runs before a temporary failure is left as failed
    pause_after_failures: int = 50
    retry_delay: float = 1.0  # first back-off in seconds; doubles per try, with jitter

    @classmethod
    def from_settings(cls, ws: Workspace) -> DeliveryOptions:
        d = ws.settings.delivery
        return cls(
            connections=max(1, int(d.connections)), rate=float(d.rate), batch_size=max(1, int(d.batch_size)),
            max_attempts=max(1, int(d.max_attempts)), max_total_attempts=max(1, int(d.max_total_attempts)),
            pause_after_failures=max(1, int(d.pause_after_failures)), retry_delay=float(d.retry_delay),
        )


class TokenBucket:
    """At most ``rate`` acquisitions per second over all threads, bursts up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.burst = max(1.0, rate) * self.interval
        self._next = time.monotonic() - self.burst  # a full burst is available at the start
        self._lock = threading.Lock()

    def wait_time(self) -> float:
        """Take one token; return how long the caller must wait before using it."""
        with self._lock:
            now = time.monotonic()
            self._next = max(self._next, now - self.burst)
            wait = self._next - now
            self._next += self.interval
        return max(0.0, wait)


class ReaderMessages:
    """Fill one reader into the issue's message template: tokens, envelope sender, Message-ID."""

    def __init__(self, ws: Workspace, template: IssueMessage, issue_id: str, issue_number: int) -> None:
        self.ws, self.template = ws, template
        self.issue_id, self.issue_number = issue_id, issue_number
        self.domain = sender_domain(ws)

    def compose(self, subscriber_id: int, email: str, name: str | None) -> tuple[str, str, bytes, str]:
        """(envelope sender, recipient, message bytes, Message-ID) for one reader."""
        ws, sid = self.ws, subscriber_id
        # Deterministic per (issue, reader): a copy resent after a crash carries the same Message-ID.
        message_id = f"<{self.issue_id.lower()}.{compact_token(ws, 'message-id', sid, self.issue_number)}@{self.domain}>"
        recipient = Recipient(email, name, unsubscribe_url(ws, sid), unsubscribe_mailto(ws, sid), message_id)
        message = self.template.build(recipient)
        return bounce_sender(ws, sid, self.issue_number), envelope_recipient(email), message, message_id


def _backoff(options: DeliveryOptions, tries: int) -> float:
    return min(options.retry_delay * 2 ** (tries - 1), 300.0) * random.uniform(0.5, 1.5)


class SendRun:
    """The shared state of one send run: queues, counters, the halt flag."""

    def __init__(self, ws: Workspace, issue_id: str, messages: ReaderMessages, options: DeliveryOptions,
                 transport_factory: Callable[[], Transport], stop: threading.Event) -> None:
        self.ws, self.issue_id, self.messages, self.options = ws, issue_id, messages, options
        self.transport_factory = transport_factory
        self.stop = stop
        # Jobs travel in small chunks: fewer queue hand-offs (and GIL switches) per message.
        self.chunk = max(1, min(16, options.batch_size // options.connections))
        self.jobs: queue.Queue[list[Job] | None] = queue.Queue(maxsize=options.connections * 2)
        self.results: queue.Queue[tuple[str, Job, tuple]] = queue.Queue()
        self.bucket = TokenBucket(options.rate) if options.rate > 0 else None
        self.lock = threading.Lock()
        self.retries: list[tuple[float, int, Job]] = []
        self.outstanding = 0  # claimed jobs without a final result yet
        self.done = 0
        self.tally = {"sent": 0, "failed": 0, "bounced": 0, "skipped": 0, "deferred": 0}
        self.failures_in_a_row = 0
        self.paused: str | None = None
        self.fatal: BaseException | None = None
        self.recorder_stop = threading.Event()

    @property
    def halted(self) -> bool:
        return self.stop.is_set()

    def halt(self, *, paused: str | None = None, fatal: BaseException | None = None) -> None:
        with self.lock:
            if paused and not self.paused:
                self.paused = paused
            if fatal and not self.fatal:
                self.fatal = fatal
        self.stop.set()

    # -- workers ------------------------------------------------------------------------------

    def worker(self) -> None:
        transport: Transport | None = None
        pace = [0.0]  # this connection's extra delay between messages, raised when the server throttles us
        try:
            transport = self.transport_factory()
            while True:
                chunk = self.jobs.get()
                if chunk is None:
                    return
                for job, outcome in transport.send_many(self._outgoing(chunk, pace)):
                    if isinstance(outcome, TransportError):
                        pace[0] = self._failed(job, outcome, pace[0])
                        continue
                    with self.lock:
                        self.failures_in_a_row = 0
                    self.results.put(("sent", job, (outcome.code, outcome.text, job.message_id, now_iso())))
                    pace[0] = pace[0] * 0.8 if pace[0] > 0.01 else 0.0
        except BaseException as exc:  # a bug or a setting error: stop the whole send
            log.debug("worker stopped by %r", exc, exc_info=True)
            self.halt(fatal=exc)
        finally:
            if transport is not None:
                with contextlib.suppress(Exception):
                    transport.close()
            self.ws.close()

    def _outgoing(self, chunk: list[Job], pace: list[float]) -> Iterator[Outgoing]:
        """The chunk's messages, each checked and built just before the transport takes it."""
        for i, job in enumerate(chunk):
            wait = 0.0 if self.halted else (self.bucket.wait_time() if self.bucket else 0.0) + pace[0]
            if self.halted or (wait > 0 and self.stop.wait(wait)):
                for unsent in chunk[i:]:
                    self.results.put(("released", unsent, ()))
                return
            if job.email is None or not is_confirmed(self.ws, job.subscriber_id):
                status = "forgotten" if job.email is None else self._status_of(job.subscriber_id)
                self.results.put(("skipped", job, (f"reader is {status}",)))
                continue
            try:
                sender, rcpt, message, job.message_id = self.messages.compose(
                    job.subscriber_id, job.email, job.name
                )
            except InvalidInput as exc:
                self.results.put(("failed", job, (None, f"not sent: {exc}", False)))
                continue
            job.tries += 1
            yield job, sender, [rcpt], message

    def _status_of(self, subscriber_id: int) -> str:
        row = outbox.outbox_db(self.ws).execute("SELECT status FROM subscribers WHERE id = ?", [subscriber_id])
        found = row.fetchone()
        return found[0] if found else "gone"

    def _failed(self, job: Job, exc: TransportError, throttle: float) -> float:
        detail = f"{exc.enhanced} {exc.text}".strip()
        job.last_code, job.last_detail = exc.code, detail
        log.debug("%s: %s", job.email, exc)
        with self.lock:
            self.failures_in_a_row += 1
            in_a_row = self.failures_in_a_row
        if in_a_row >= self.options.pause_after_failures:
            self.halt(paused=f"{in_a_row} failures in a row, the last: {exc.code} {detail}")
        if exc.code in THROTTLE_CODES:
            throttle = min(max(throttle * 2, self.options.retry_delay / 4), self.options.retry_delay * 30)
        if not exc.temporary:
            self.results.put(("failed", job, (exc.code, detail, exc.recipient_level)))
        elif job.tries < self.options.max_attempts and not self.halted:
            with self.lock:
                heapq.heappush(self.retries, (time.monotonic() + _backoff(self.options, job.tries),
                                              job.outbox_id, job))
        else:
            self.results.put(("deferred", job, (exc.code, detail)))
        return throttle

    # -- recorder -----------------------------------------------------------------------------

    def recorder(self) -> None:
        db = outbox.outbox_db(self.ws)
        try:
            while True:
                try:
                    first = self.results.get(timeout=0.05)
                except queue.Empty:
                    if self.recorder_stop.is_set():
                        return
                    continue
                batch = [first]
                with contextlib.suppress(queue.Empty):
                    while len(batch) < 5000:
                        batch.append(self.results.get_nowait())
                self._record(db, batch)
        except BaseException as exc:
            self.halt(fatal=exc)
            raise
        finally:
            self.ws.close()

    def _record(self, db: Any, batch: list[tuple[str, Job, tuple]]) -> None:
        out, bounces, tally = Outcomes(), [], dict.fromkeys(self.tally, 0)
        for kind, job, data in batch:
            if kind == "sent":
                out.sent.append((job.tries, data[0], data[1], data[2], data[3], job.outbox_id))
            elif kind == "failed":
                out.failed.append((job.tries, data[0], data[1], job.outbox_id))
                if data[2]:
                    bounces.append((job.subscriber_id, f"{data[0]} {data[1]}"))
                    tally["bounced"] += 1
            elif kind == "deferred":
                out.deferred.append((job.tries, self.options.max_total_attempts, data[0], data[1], job.outbox_id))
            elif kind == "skipped":
                out.skipped.append((data[0], job.outbox_id))
            else:
                out.released.append((job.outbox_id,))
            if kind in tally:
                tally[kind] += 1
        outbox.record(db, out)
        for subscriber_id, detail in bounces:
            mark_bounced(self.ws, subscriber_id, source="send", detail=f"{self.issue_id}: {detail}")
        with self.lock:
            for key, n in tally.items():
                self.tally[key] += n
            self.outstanding -= len(batch)
            self.done += len(batch) - len(out.released)

    # -- dispatcher (the calling thread) ------------------------------------------------------

    def due_retries(self) -> list[Job]:
        now, due = time.monotonic(), []
        with self.lock:
            while self.retries and self.retries[0][0] <= now:
                due.append(heapq.heappop(self.retries)[2])
        return due

    def dispatch(self, progress: Callable[[int], None] | None) -> None:
        db = outbox.outbox_db(self.ws)
        cursor, exhausted, waiting = 0, False, collections.deque()
        reported = 0
        while not self.halted:
            waiting.extendleft(reversed(self.due_retries()))
            # Claim more only while few claimed jobs lack a recorded result (memory stays flat
            # even if the recorder is held up by another writer).
            if not waiting and not exhausted and self.outstanding < self.options.batch_size * 3:
                batch = outbox.claim(db, self.issue_id, cursor, self.options.batch_size)
                if batch:
                    cursor = batch[-1].outbox_id
                    with self.lock:
                        self.outstanding += len(batch)
                    waiting.extend(batch)
                else:
                    exhausted = True
            if waiting:
                chunk = [waiting.popleft() for _ in range(min(self.chunk, len(waiting)))]
                try:
                    self.jobs.put(chunk, timeout=0.05)
                except queue.Full:
                    waiting.extendleft(reversed(chunk))
            else:
                with self.lock:
                    if self.outstanding == 0 and not self.retries:
                        break
                self.stop.wait(0.02)
            if progress is not None and self.done != reported:
                progress(self.done - reported)
                reported = self.done
        self._wind_down(waiting)
        if progress is not None and self.done != reported:
            progress(self.done - reported)

    def _wind_down(self, waiting: Iterable[Job]) -> None:
        """Stop cleanly: unsent jobs back to pending, in-flight ones finished and recorded."""
        for job in waiting:
            self.results.put(("released", job, ()))
        with self.lock:
            retries, self.retries = self.retries, []
        for _, _, job in retries:
            self.results.put(("deferred", job, (job.last_code, job.last_detail)))
        with contextlib.suppress(queue.Empty):
            while True:
                chunk = self.jobs.get_nowait()
                for job in chunk or ():
                    self.results.put(("released", job, ()))


def run_pipeline(run: SendRun, progress: Callable[[int], None] | None) -> None:
    workers = [threading.Thread(target=run.worker, name=f"send-worker-{i}", daemon=True)
               for i in range(run.options.connections)]
    recorder = threading.Thread(target=run.recorder, name="send-recorder", daemon=True)
    recorder.start()
    for w in workers:
        w.start()
    try:
        run.dispatch(progress)
    finally:
        for _ in workers:
            run.jobs.put(None)
        for w in workers:
            w.join()
        run._wind_down([])
        run.recorder_stop.set()
        recorder.join()
