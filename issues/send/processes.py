"""A send spread over several processes, each with its own connections, outbox claims and recorder.

One Python process tops out near one CPU core (building, signing and recording each
message run under one GIL), so a big send forks a few children.  Each runs the
whole pipeline of :mod:`issues.send.pipeline` with its part of the connections and of
every rate (:class:`~issues.send.pipeline.Share`).  Claims in the outbox are row-level,
so no two children take the same reader.  Each child's workers still wait for
their last delivery to be recorded (in the child's own journal) before sending
the next body, so a crash repeats at most one message per connection, counted
over all children.

The parent only coordinates:
- it passes a stop (the first Ctrl-C) or an abort (the second) on to the children;
- it passes one child's throttle or pause of a provider on to the others;
- it looks up the receiving provider of each new domain, once per send, for all of them;
- it adds up progress and results;
- it folds the children's journals of deliveries into the outbox (:mod:`issues.send.journals`)
  every second or so, and all that is left once they have ended.

Children die with the parent (``PR_SET_PDEATHSIG``), so a ``kill -9`` of the
command leaves nobody sending.  The parent's database connection is closed
before the fork: SQLite's lock and WAL state belong to one process.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import pickle
import queue
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection, wait
from typing import Any

from newsletter.errors import NewsletterError
from newsletter.transports import open_transport
from newsletter.workspace import Workspace

from .folding import folding_journals
from .journals import JournalWriter, journal_path
from .message import IssueMessage
from .pipeline import DeliveryOptions, ReaderMessages, RunResult, SendRun, Share, run_pipeline
from .providers import ProviderMap, dns_mx_hosts
from .workers import greylisting, hold_lane, pause_lane, throttle

__all__ = ["can_fork", "process_count", "run_in_processes"]

log = logging.getLogger(__name__)

PER_PROCESS = 1000  # with processes = 0, a list of fewer readers than this per process uses fewer processes
ABORT_GRACE = 3.0  # seconds the children get after a second Ctrl-C to record their answers and go
LOOKUP_WAIT = 120.0  # seconds a child waits for the parent's provider lookups (each lookup gives up after 5 s)
_PR_SET_PDEATHSIG = 1


class SendProcessDied(NewsletterError):
    """A child process of the send ended without a word (killed, or out of memory)."""


def process_count(options: DeliveryOptions, pending: int) -> int:
    """How many processes a send of ``pending`` readers uses: ``[delivery] processes``, or 0 = one per core."""
    wanted = options.processes
    if wanted == 0:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        wanted = min(cores, max(1, pending // PER_PROCESS))
    return max(1, min(wanted, options.connections))


def can_fork() -> bool:
    """Forking is safe here: a POSIX system and no other thread running (its locks would be copied held)."""
    return hasattr(os, "fork") and threading.active_count() == 1


@dataclass
class _Child:
    pid: int
    conn: Connection
    result: RunResult | None = None
    lanes_paused: dict[str, str] | None = None
    ended: bool = False


def run_in_processes(ws: Workspace, issue_id: str, template: IssueMessage, issue_number: int,
                     options: DeliveryOptions, count: int, stop: threading.Event,
                     providers: ProviderMap, progress: Any = None) -> RunResult:
    """Run the send's pipeline in ``count`` child processes until all of them end; their results added up."""
    ws.close()  # this thread's connection; a fork must not copy an open SQLite connection
    children: list[_Child] = []
    try:
        for index in range(count):
            parent_end, child_end = Pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns into the caller's stack
                code = 1
                try:
                    parent_end.close()
                    for other in children:
                        other.conn.close()
                    _child(ws, issue_id, template, issue_number, options, Share(index, count), child_end)
                    code = 0
                finally:
                    os._exit(code)
            child_end.close()
            children.append(_Child(pid, parent_end))
        with folding_journals(ws, issue_id):  # its last fold once the children are gone
            try:
                return _coordinate(children, stop, providers, progress)
            except KeyboardInterrupt:  # a second Ctrl-C: no more bodies anywhere; let the children record, then go
                _abort(children)
                raise
            finally:
                _reap(children)
    except KeyboardInterrupt:  # while forking (after the above, telling reaped children again is harmless)
        _abort(children)
        raise
    finally:
        _reap(children)


# -- the parent -----------------------------------------------------------------------------------


def _tell(children: list[_Child], message: tuple, but: _Child | None = None) -> None:
    for child in children:
        if child is not but and not child.ended:
            with contextlib.suppress(OSError, ValueError):
                child.conn.send(message)


def _coordinate(children: list[_Child], stop: threading.Event, providers: ProviderMap, progress: Any) -> RunResult:
    stop_told = False
    while not all(c.ended for c in children):
        if stop.is_set() and not stop_told:
            _tell(children, ("stop",))
            stop_told = True
        live = {c.conn: c for c in children if not c.ended}
        for conn in wait(list(live), timeout=0.1):
            child = live[conn]  # type: ignore[index]
            try:
                message = conn.recv()  # type: ignore[union-attr]
            except (EOFError, OSError):
                child.ended = True
                if child.result is None:
                    child.result = RunResult(fatal=SendProcessDied(
                        f"a process of the send (pid {child.pid}) ended without reporting; "
                        "run the send again to resume"))
                    _tell(children, ("stop",))
                continue
            kind = message[0]
            if kind == "progress":
                if progress is not None:
                    progress(message[1])
            elif kind == "lane":
                _tell(children, message, but=child)
            elif kind == "providers?":
                providers.resolve(message[1])
                with contextlib.suppress(OSError, ValueError):
                    conn.send(("providers", {d: providers.provider_of(d) for d in message[1]}))  # type: ignore[union-attr]
            elif kind == "done":
                tally, halted, lanes_paused, fatal = message[1:]
                child.result = RunResult(tally, halted, fatal)
                child.lanes_paused = lanes_paused
                if halted or fatal is not None:  # the server is down, or a setting is wrong: all stop
                    _tell(children, ("stop",), but=child)
    return _sum(children)


def _sum(children: list[_Child]) -> RunResult:
    total = RunResult({})
    lanes: dict[str, str] = {}
    for child in children:
        result = child.result or RunResult()
        for key, n in result.tally.items():
            total.tally[key] = total.tally.get(key, 0) + n
        total.paused = total.paused or result.paused
        total.fatal = total.fatal or result.fatal
        lanes.update(child.lanes_paused or {})
    if not total.paused and lanes:
        total.paused = "; ".join(lanes.values())
    return total


def _abort(children: list[_Child]) -> None:
    _tell(children, ("abort",))
    deadline = time.monotonic() + ABORT_GRACE
    with contextlib.suppress(KeyboardInterrupt):
        while time.monotonic() < deadline and any(_alive(c) for c in children):
            time.sleep(0.01)
    for child in children:
        if _alive(child):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)


def _alive(child: _Child) -> bool:
    if child.pid == 0:
        return False
    try:
        pid, _ = os.waitpid(child.pid, os.WNOHANG)
    except ChildProcessError:
        pid = child.pid
    if pid:
        child.pid = 0  # reaped
        return False
    return True


def _reap(children: list[_Child]) -> None:
    for child in children:
        if child.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child.pid, 0)
            child.pid = 0
        child.conn.close()


# -- a child --------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the parent dies (a kill -9 of the command stops all)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _portable(exc: BaseException | None) -> BaseException | None:
    """The exception as it can travel to the parent (pickled), else its message in a plain error."""
    if exc is None:
        return None
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return NewsletterError(f"{type(exc).__name__}: {exc}")


def _child(ws: Workspace, issue_id: str, template: IssueMessage, issue_number: int, options: DeliveryOptions,
           share: Share, conn: Connection) -> None:
    _die_with_parent()
    for sig in (signal.SIGINT, signal.SIGTERM):  # the parent decides when to stop, and tells us
        signal.signal(sig, signal.SIG_IGN)
    ws = ws.reopen()
    lock = threading.Lock()

    def tell(*message: Any) -> None:
        with lock, contextlib.suppress(OSError, ValueError):
            conn.send(message)

    answers: queue.Queue[dict[str, str]] = queue.Queue()
    asking = threading.Lock()

    def ask(domains: list[str]) -> dict[str, str]:
        with asking:
            tell("providers?", domains)
            try:
                return answers.get(timeout=LOOKUP_WAIT)
            except queue.Empty:
                raise NewsletterError("the send's main process did not answer a provider lookup") from None

    providers = ProviderMap(dict(options.providers), resolver=dns_mx_hosts if options.resolve_mx else None, ask=ask)
    run = SendRun(ws, issue_id, ReaderMessages(ws, template, issue_id, issue_number), options,
                  lambda: open_transport(ws), threading.Event(), providers=providers, share=share)
    run.recorder.journal = JournalWriter(journal_path(ws, issue_id, share.index))
    run.lane_event = lambda kind, name, reason: tell("lane", kind, name, reason)
    threading.Thread(target=_listen, args=(run, conn, answers), name="send-control", daemon=True).start()
    try:
        run_pipeline(run, lambda n: tell("progress", n))
    except BaseException as exc:
        run.fatal = run.fatal or exc
    tell("done", dict(run.tally), run.paused, run.lanes.paused(), _portable(run.fatal))


def _listen(run: SendRun, conn: Connection, answers: queue.Queue[dict[str, str]]) -> None:
    """Carry out what the parent says: stop, abort, or another process's word about a provider."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            message = ("abort",)  # the parent is gone
        kind = message[0]
        if kind == "providers":
            answers.put(message[1])
        elif kind == "stop":
            run.stop.set()
        elif kind == "abort":
            run.abort()
            return
        elif kind == "lane":
            _, what, name, reason = message
            with run.lanes.cond:
                lane = run.lanes.lane(name)
            if what == "throttle":
                throttle(run, lane, tell=False)
            elif what == "pause":
                pause_lane(run, lane, reason, tell=False)
            elif what == "greylisting":
                greylisting(run, lane, tell=False)
            elif what == "hold" and not lane.greylisting:
                hold_lane(run, lane, reason, tell=False)
