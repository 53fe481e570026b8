"""Sending an issue: freeze it, snapshot the readers into the outbox, run the pipeline, report.

A send can be stopped at any point (Ctrl-C, kill -9, power loss) and run again:
the outbox holds one row per reader, so the next run resumes without skipping
anyone and repeats only a message that was in flight.  The machinery that does
the sending is in :mod:`issues.send.pipeline`.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from issues.build import get_issue, mark_sent, resolve_issue_id
from newsletter.errors import NewsletterError
from newsletter.locks import exclusive_lock
from newsletter.transports import Transport, TransportError, open_transport
from newsletter.workspace import Workspace

from . import outbox
from .folding import folding_journals
from .freeze import freeze_issue
from .journals import WRITER_GONE_WAIT, JournalWriter, journal_path
from .message import IssueMessage
from .outbox import pending_readers
from .outcome import Outcome, outcome_of
from .pipeline import DeliveryOptions, ReaderMessages, SendRun, TokenBucket, run_pipeline
from .processes import can_fork, process_count, run_in_processes
from .providers import ProviderMap, dns_mx_hosts

__all__ = [
    "DeliveryOptions", "DeliveryUnavailable", "NothingToSend", "ReaderMessages", "SendBusy", "SendReport", "TokenBucket",
    "pending_readers", "send_issue", "send_lock", "stop_on_signals",
]

log = logging.getLogger(__name__)


class SendBusy(NewsletterError):
    """Another process is sending this issue right now."""


class DeliveryUnavailable(NewsletterError):
    """The transport cannot deliver at all right now (server down, folder not writable): nothing was sent."""


class NothingToSend(NewsletterError):
    """The list has no confirmed reader: the issue is left as it is (not frozen, not marked sent)."""


@dataclass
class SendReport:
    """What a send run did and where the issue stands afterwards."""

    issue_id: str
    readers: int = 0  # confirmed readers in the snapshot
    counts: dict[str, int] = field(default_factory=dict)  # outbox rows per status after the run
    this_run: dict[str, int] = field(default_factory=dict)  # sent / failed / bounced / skipped / deferred
    elapsed: float = 0.0
    recovered: int = 0  # rows a killed run left in flight, sent again
    already_sent: bool = False
    finished: bool = False
    interrupted: bool = False
    paused: str | None = None
    deferred: int = 0  # readers refused for now, waiting for their next try
    next_try_at: str | None = None  # when the first of them is due (UTC, ISO 8601)

    @property
    def rate(self) -> float:
        return self.this_run.get("sent", 0) / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def outcome(self) -> Outcome:
        """Where the issue stands after this run (sent only when every reader answered and one was delivered)."""
        return outcome_of(self.issue_id, self.counts, paused=self.paused)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": round(self.rate, 1), "outcome": self.outcome.as_dict()}

    def summary(self) -> str:
        c = self.counts
        totals = f"{c.get('sent', 0)} sent, {c.get('failed', 0)} failed, {c.get('skipped', 0)} skipped, " \
                 f"{c.get('pending', 0) + c.get('sending', 0)} pending"
        outcome = self.outcome
        if self.already_sent:
            return f"{self.issue_id} was already {'sent' if outcome.delivered else 'tried'}: {totals}."
        run = self.this_run
        head = f"{self.issue_id}: {run.get('sent', 0)} sent in {self.elapsed:.1f}s ({self.rate:.0f}/s)"
        if run.get("bounced"):
            head += f", {run['bounced']} bounced"
        state = {"sent": "finished", "sent-with-failures": "finished with failures",
                 "nothing-delivered": "delivered to nobody", "paused": "paused"}.get(outcome.state, "not finished")
        state = "stopped" if self.interrupted else state
        later = f" ({self.deferred} deferred, next try at {self.next_try_at})" if self.deferred else ""
        return f"{head}; issue {state}: {totals}{later}."


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event, on_first: Callable[[], None] | None = None) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM) sets ``stop`` for a graceful finish; a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        if on_first is not None:
            on_first()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def send_lock(ws: Workspace, issue_id: str) -> Iterator[None]:
    """One send per issue at a time (released by the kernel even on kill -9)."""
    busy = SendBusy(f"another 'newsletter send {issue_id}' is running in {ws.root}; wait for it")
    with exclusive_lock(ws.root / f".send-{issue_id}.lock", busy):
        yield


def send_issue(
    ws: Workspace,
    issue_key: str,
    *,
    retry_failed: bool = False,
    options: DeliveryOptions | None = None,
    transport_factory: Callable[[], Transport] | None = None,
    stop: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
    providers: ProviderMap | None = None,
) -> SendReport:
    """Send an issue to every reader confirmed when its send first started; resume where a run stopped."""
    issue_id = resolve_issue_id(ws, issue_key)
    options = options or DeliveryOptions.from_settings(ws)
    stop = stop or threading.Event()
    with send_lock(ws, issue_id):
        outbox.fold_journals(ws, issue_id, wait=WRITER_GONE_WAIT)  # what a killed run's processes delivered
        if retry_failed:
            outbox.requeue_failed(ws, issue_id)
        existing = outbox.send_record(ws, issue_id)
        counts = outbox.counts(ws, issue_id)
        if existing and existing.finished_at and not counts["pending"] and not counts["sending"]:
            return SendReport(issue_id, existing.readers, counts, already_sent=True, finished=True)
        if existing is None and not pending_readers(ws, issue_id):
            raise NothingToSend(f"no confirmed readers to send {issue_id} to; add some with "
                                "'newsletter subscribers add' or import a CSV, then send again")
        factory = transport_factory or (lambda: open_transport(ws))
        _check_delivery(factory, issue_id)
        rendered = freeze_issue(ws, issue_id)
        issue = get_issue(ws, issue_id)
        record, _ = outbox.start_send(ws, issue_id)
        recovered = outbox.recover_in_flight(ws, issue_id)
        if recovered:
            log.warning("%d readers were still claimed by an earlier run that stopped (waiting in its queues, or in "
                        "flight: at most one per connection may get a second copy); sending them again", recovered)
        template = IssueMessage(ws, rendered.subject, rendered.html, rendered.text, campaign=rendered.issue_id)
        # Several processes only with the transport of the settings (a test's transport double stays in one).
        count = 1
        if transport_factory is None and options.processes != 1:
            count = process_count(options, outbox.counts(ws, issue_id)["pending"])
        started = time.monotonic()
        if count > 1 and can_fork():
            lookups = providers or ProviderMap(dict(options.providers),
                                               resolver=dns_mx_hosts if options.resolve_mx else None)
            result = run_in_processes(ws, issue_id, template, issue.number, options, count, stop, lookups, progress)
        else:
            run = SendRun(ws, issue_id, ReaderMessages(ws, template, issue_id, issue.number), options,
                          factory, stop, providers)
            run.recorder.journal = JournalWriter(journal_path(ws, issue_id, 0))
            with folding_journals(ws, issue_id):
                run_pipeline(run, progress)
            result = run.result()
        elapsed = time.monotonic() - started
        outbox.recover_in_flight(ws, issue_id)  # nothing is in flight now; claimed-but-unsent goes back
        counts = outbox.counts(ws, issue_id)
        paused = result.paused
        finished = not counts["pending"] and not counts["sending"] and result.fatal is None and not paused
        if finished:
            outbox.finish_send(ws, issue_id)
            if outcome_of(issue_id, counts).delivered:  # every reader answered and one was delivered
                mark_sent(ws, issue_id)
        elif paused:
            outbox.set_paused(ws, issue_id, paused)
        if result.fatal is not None:
            raise result.fatal
        deferred, next_try_at = outbox.deferred(ws, issue_id)
        return SendReport(
            issue_id, record.readers, counts, dict(result.tally), elapsed, recovered,
            finished=finished, interrupted=stop.is_set() and not paused and not finished, paused=paused,
            deferred=deferred, next_try_at=next_try_at,
        )


def _check_delivery(factory: Callable[[], Transport], issue_id: str) -> None:
    """Connect once before anything changes, so a server that is down is one clear error, not N failures."""
    with factory() as transport:
        try:
            transport.check()
        except TransportError as exc:
            raise DeliveryUnavailable(
                f"{exc.text or exc}; nothing was sent. Check the [smtp] / [delivery] settings (or their "
                f"NEWSLETTER_* variables) and that the server is up, then run 'newsletter send {issue_id}' again"
            ) from None
