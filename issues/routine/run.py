"""``newsletter run``: every step that is due, once, under one lock per workspace.

Safe to call every few minutes from cron or a systemd timer.  A step that fails
is reported and retried by the next run; it never stops the steps after it (the
send still waits for its own conditions).  Each real run's results are stored
for ``newsletter schedule status``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from newsletter import clock
from newsletter.errors import NewsletterError
from newsletter.locks import exclusive_lock
from newsletter.workspace import Workspace

from . import steps
from .config import read_schedule, read_welcome
from .cycle import current_cycle
from .steps import RunContext, StepResult
from .store import record_run

log = logging.getLogger(__name__)

LOCK_FILE = ".run.lock"

# In this order: returned mail before the send (a bounce or an unsubscribe counts at once),
# the draft before its test copy, the issue before the welcome series.
STEPS: list[tuple[str, Callable[[RunContext], StepResult]]] = [
    ("import", steps.import_step), ("inbound", steps.inbound_step), ("draft", steps.draft_step),
    ("test copy", steps.test_copy_step), ("send", steps.send_step), ("welcome", steps.welcome_step),
]


@dataclass
class RunReport:
    """What one run did: a result per step, or that another run held the lock."""

    started_at: str
    cycle: dict[str, str] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    busy: bool = False
    dry_run: bool = False

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "failed"]

    def as_dict(self) -> dict[str, Any]:
        return {"started_at": self.started_at, "dry_run": self.dry_run, "busy": self.busy, "cycle": self.cycle,
                "failed": len(self.failed), "steps": [s.as_dict() for s in self.steps]}


class RunBusy(NewsletterError):
    """Another ``newsletter run`` holds this workspace's lock."""


@contextlib.contextmanager
def run_lock(ws: Workspace) -> Iterator[None]:
    """One run per workspace at a time (the kernel drops the lock even on kill -9)."""
    with exclusive_lock(ws.root / LOCK_FILE, RunBusy(f"another 'newsletter run' is working in {ws.root}")):
        yield


def _one_step(name: str, step: Callable[[RunContext], StepResult], ctx: RunContext) -> StepResult:
    try:
        return step(ctx)
    except (NewsletterError, OSError) as exc:
        return StepResult(name, "failed", str(exc))
    except Exception as exc:  # a bug in one step must not keep the others from running
        log.debug("step %s failed", name, exc_info=True)
        return StepResult(name, "failed", f"internal error: {type(exc).__name__}: {exc}")


def run_routine(ws: Workspace, *, dry_run: bool = False, stop: threading.Event | None = None) -> RunReport:
    """Do every step that is due now (or, with ``dry_run``, say what it would do)."""
    schedule = read_schedule(ws)  # settings errors stop the run before anything happens
    read_welcome(ws)
    now = clock.utcnow()
    cycle = current_cycle(schedule, now)
    report = RunReport(clock.now_iso(), cycle.as_dict(), dry_run=dry_run)
    ctx = RunContext(ws, now, schedule, cycle, dry_run=dry_run, stop=stop or threading.Event())
    if dry_run:
        report.steps = [_one_step(name, step, ctx) for name, step in STEPS]
        return report
    try:
        with run_lock(ws):
            for name, step in STEPS:
                if ctx.stop.is_set():
                    report.steps.append(StepResult(name, "skipped", "stopped before this step; the next run does it"))
                    continue
                report.steps.append(_one_step(name, step, ctx))
            record_run(ws, report.started_at, [s.as_dict() for s in report.steps])
    except RunBusy:
        report.busy = True
    return report
