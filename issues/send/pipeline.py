"""The send's machinery: dispatcher -> per-provider lanes -> SMTP workers, each recording its own results.

Shaped like listmonk's campaign manager (rate, concurrency, pause after N
failures in a row), but every reader has an outbox row, and readers are queued
per receiving provider, each with its own concurrency, rate and back-off.  Workers
are threads, each holding one connection (socket calls and RSA signing release the
GIL); each keeps its results as typed records (:mod:`issues.send.records`) and
writes them before its next message body.  The parts: :mod:`issues.send.dispatcher`,
:mod:`issues.send.lanes`, :mod:`issues.send.workers`, :mod:`issues.send.recorder`; this module
holds the state they share and runs them, in this process or, for a big send, in
several (:mod:`issues.send.processes`).
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from newsletter.transports import Transport
from newsletter.workspace import Workspace
from subscribers import ReaderAddresses, sender_domain, unsubscribe_token, unsubscribe_url_base

from .dispatcher import Dispatcher
from .lanes import Lanes, TokenBucket
from .message import IssueMessage, Recipient, envelope_recipient
from .providers import ProviderLimits, ProviderMap, dns_mx_hosts, limits_for, provider_settings
from .recorder import Recorder
from .records import Released, Result
from .workers import Worker

ABORT_GRACE = 1.0  # seconds workers get after a second Ctrl-C to record the answers they are reading

__all__ = ["DeliveryOptions", "ReaderMessages", "RunResult", "SendRun", "Share", "TokenBucket", "run_pipeline"]


@dataclass(frozen=True)
class DeliveryOptions:
    """How hard to push: the ``[delivery]`` settings."""

    connections: int = 4
    rate: float = 0.0  # messages per second over all connections; 0 = no limit
    batch_size: int = 200
    max_attempts: int = 5  # tries of one message over lost connections within one run, then it is deferred
    max_total_attempts: int = 15  # tries over all runs before a temporary failure is left as failed
    pause_after_failures: int = 50  # refusals in a row from one provider that pause it
    retry_delay: float = 1.0  # first back-off after a lost connection or a throttle; doubles per try
    defer_delay: float = 300.0  # first retry of a reader refused temporarily (greylisting waits minutes)
    defer_cap: float = 4 * 3600.0  # the longest wait between two tries of one reader
    wait_for_deferred: float = 900.0  # a send stays to retry deferred readers due within this many seconds
    resolve_mx: bool = True  # group readers by their domain's MX hosts (else by the domain alone)
    providers: tuple[tuple[str, Any], ...] = ()  # the [delivery.providers.<name>] tables
    processes: int = 0  # processes sharing the connections (0: one per CPU core, see issues.send.processes)

    @classmethod
    def from_settings(cls, ws: Workspace) -> DeliveryOptions:
        d = ws.settings.delivery
        return cls(
            connections=max(1, int(d.connections)), rate=float(d.rate), batch_size=max(1, int(d.batch_size)),
            max_attempts=max(1, int(d.max_attempts)), max_total_attempts=max(1, int(d.max_total_attempts)),
            pause_after_failures=max(1, int(d.pause_after_failures)), retry_delay=float(d.retry_delay),
            defer_delay=float(d.defer_delay), wait_for_deferred=float(d.wait_for_deferred),
            resolve_mx=bool(d.resolve_mx), providers=tuple(provider_settings(d).items()),
            processes=max(0, int(d.processes)),
        )


@dataclass(frozen=True)
class Share:
    """This process's part of a send spread over ``count`` processes (``index`` counts from 0).

    Connections and rates are divided so that the processes together never exceed
    a limit: a provider allowed fewer connections than there are processes is served
    by only some of them (which ones rotates with the provider's name).
    """

    index: int = 0
    count: int = 1

    def of(self, total: int, key: str = "") -> int:
        """This process's part of ``total`` connections; the remainder goes to the processes in turn."""
        turn = (self.index - zlib.crc32(key.encode())) % self.count
        return total // self.count + (1 if turn < total % self.count else 0)

    def limits(self, whole: ProviderLimits) -> ProviderLimits:
        """A provider's limits for this process: its part of the connections, the rate in proportion."""
        mine = self.of(whole.connections, whole.name)
        rate = whole.rate * mine / whole.connections if whole.rate and whole.connections else whole.rate
        return ProviderLimits(whole.name, mine, rate, whole.retry_delay)


@dataclass
class RunResult:
    """What the pipeline of one run (in one or several processes) did."""

    tally: dict[str, int] = field(default_factory=dict)
    paused: str | None = None
    fatal: BaseException | None = None


class ReaderMessages:
    """Fill one reader into the issue's message template: tokens, envelope sender, Message-ID."""

    def __init__(self, ws: Workspace, template: IssueMessage, issue_id: str, issue_number: int) -> None:
        self.ws, self.template = ws, template
        self.issue_id, self.issue_number = issue_id, issue_number
        self.domain = sender_domain(ws)
        self.addresses = ReaderAddresses(ws)
        self.unsubscribe_base = unsubscribe_url_base(ws)
        self._id_prefix = f"<{issue_id.lower()}."

    def compose(self, subscriber_id: int, email: str, name: str | None) -> tuple[str, str, bytes, str]:
        """(envelope sender, recipient, message bytes, Message-ID) for one reader."""
        sid, addresses = subscriber_id, self.addresses
        # Deterministic per (issue, reader): a copy resent after a crash carries the same Message-ID.
        message_id = f"{self._id_prefix}{addresses.signer.token('message-id', sid, self.issue_number)}@{self.domain}>"
        recipient = Recipient(email, name, self.unsubscribe_base + unsubscribe_token(self.ws, sid),
                              addresses.unsubscribe_mailto(sid), message_id)
        message = self.template.build(recipient)
        return addresses.bounce_sender(sid, self.issue_number), envelope_recipient(email), message, message_id


class SendRun:
    """The shared state of one send run: lanes, the recorder, counters, the halt flags."""

    def __init__(self, ws: Workspace, issue_id: str, messages: ReaderMessages, options: DeliveryOptions,
                 transport_factory: Callable[[], Transport], stop: threading.Event,
                 providers: ProviderMap | None = None, share: Share = Share()) -> None:
        self.ws, self.issue_id, self.messages, self.options = ws, issue_id, messages, options
        self.transport_factory = transport_factory
        self.stop = stop
        self.share = share
        tables = dict(options.providers)
        self.providers = providers or ProviderMap(tables, resolver=dns_mx_hosts if options.resolve_mx else None)
        # This process's connections (all of them unless the send is spread over processes).
        self.connections = max(1, share.of(options.connections))
        # Jobs travel in small chunks: fewer hand-offs (and GIL switches) per message.
        self.chunk = max(1, min(16, options.batch_size // self.connections))
        self.lanes = Lanes(lambda name: share.limits(limits_for(name, tables, options.connections, options.retry_delay)),
                           lane_cap=max(options.batch_size, self.chunk * self.connections * 2))
        self.recorder = Recorder(self)
        rate = options.rate * self.connections / options.connections
        self.bucket = TokenBucket(rate) if rate > 0 else None
        self.lane_event: Callable[[str, str, str], None] | None = None  # (kind, provider, reason) to other processes
        self.lock = threading.Lock()
        self.aborted = threading.Event()  # a second Ctrl-C: no further message body goes out
        self.outstanding = 0  # claimed jobs without a recorded result yet
        self.done = 0
        self.tally = {"sent": 0, "failed": 0, "bounced": 0, "skipped": 0, "deferred": 0}
        self.unreachable_in_a_row = 0  # connections that could not reach the server, over all workers
        self.refusing: collections.Counter[str] = collections.Counter()  # temporary refusals per provider since the last delivery
        self.down_after = max(2, self.connections)
        self.last_success = time.monotonic()
        self.paused: str | None = None
        self.fatal: BaseException | None = None

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
        self.lanes.close()

    def abort(self) -> None:
        """A second Ctrl-C: no further message body goes out; what has been answered is still recorded."""
        self.aborted.set()
        self.halt()

    def report(self, record: Result) -> None:
        """Keep one result for the recorder; the reporting thread writes it at its next :meth:`record`."""
        self.recorder.add(record)

    def record(self) -> None:
        """Write the results this thread has reported, in one transaction."""
        self.recorder.flush()

    def add_outstanding(self, n: int) -> None:
        with self.lock:
            self.outstanding += n

    def count(self, tally: dict[str, int], *, finished: int, settled: int) -> None:
        with self.lock:
            for key, n in tally.items():
                self.tally[key] += n
            self.outstanding -= settled
            self.done += finished

    def result(self) -> RunResult:
        return RunResult(dict(self.tally), self.paused_reason(), self.fatal)

    def paused_reason(self) -> str | None:
        """Why this run paused (the whole send, or the providers it had to leave), if it did."""
        if self.paused:
            return self.paused
        lanes = self.lanes.paused()
        return "; ".join(lanes.values()) if lanes else None

    def wind_down(self) -> None:
        """Release every job still waiting in a lane (the workers are gone)."""
        for job in self.lanes.drain():
            self.report(Released(job))
        try:
            self.record()
        finally:
            self.recorder.close()


def run_pipeline(run: SendRun, progress: Callable[[int], None] | None) -> Dispatcher:
    """Run the workers and the dispatcher until the send stops; returns the dispatcher."""
    workers = [threading.Thread(target=Worker(run), name=f"send-worker-{i}", daemon=True)
               for i in range(run.connections)]
    dispatcher = Dispatcher(run, progress)
    for w in workers:
        w.start()
    try:
        dispatcher()
        run.lanes.close()
        for w in workers:
            w.join()
    except KeyboardInterrupt:  # a second Ctrl-C: no more bodies; workers record what has been answered, then go
        run.abort()
        deadline = time.monotonic() + ABORT_GRACE
        with contextlib.suppress(KeyboardInterrupt):
            for w in workers:
                w.join(max(0.0, deadline - time.monotonic()))
        raise
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            run.wind_down()
    return dispatcher
