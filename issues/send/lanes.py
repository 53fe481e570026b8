"""Per-provider queues of claimed readers, and the choice of which one a free worker serves next.

Each provider has a lane: its waiting jobs, how many workers are on it, its rate,
its back-off after a 421 or a run of temporary refusals, and whether it is paused.
A free worker takes a chunk from the ready lane with the fewest workers on it, so a
slow or throttling provider holds at most its own share of the connections.

Readers on their first try go before readers retried after a temporary refusal
(greylisting), in each lane and over all lanes: a first try that is refused starts
its reader's wait at once, and the retries that fell due meanwhile fill the end of
the send, when the last readers refused are still waiting for their turn.

A provider that refuses every first try for now is held, not paused at once: its
first tries wait while its retries go on, until one retry says whether it
greylists every new sender (delivered: it goes on) or refuses us (refused: paused).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from .outbox import Job
from .providers import ProviderLimits


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


class Lane:
    """One provider's queue and health (changed only under :class:`Lanes`' lock)."""

    def __init__(self, limits: ProviderLimits) -> None:
        self.limits = limits
        self.jobs: collections.deque[Job] = collections.deque()  # readers on their first try
        self.retries: collections.deque[Job] = collections.deque()  # readers tried before (a deferral fell due)
        self.active = 0  # workers sending this provider's mail right now
        self.bucket = TokenBucket(limits.rate) if limits.rate > 0 else None
        self.pace = 0.0  # extra delay between this provider's messages, raised when it throttles us
        self.cool_until = 0.0  # monotonic time before which no worker starts on it
        self.strikes = 0  # throttles in a row: the back-off doubles with each
        self.failures_in_a_row = 0
        self.temporary_in_a_row = 0
        self.answers = 0  # answers about a reader (delivered or refused) in this run
        self.temporary = 0  # of which temporary refusals
        self.run_throttled = False  # the current run of temporary refusals has slowed the lane already
        self.paused: str | None = None
        self.held_until = 0.0  # monotonic deadline while held: only retries go until one is answered
        self.hold_reason = ""  # the refusals that started the hold
        self.greylisting = False  # a retry was delivered after a run of refusals: first tries are refused for now
        self.served = 0.0  # when a worker last took a chunk (round robin among equals)

    @property
    def name(self) -> str:
        return self.limits.name

    def waiting(self) -> int:
        return len(self.jobs) + len(self.retries)

    def queue_of(self, job: Job) -> collections.deque[Job]:
        return self.retries if job.attempts else self.jobs

    def ready_jobs(self) -> int:
        """Jobs a worker may take now: a held lane offers only its retries."""
        return len(self.retries) if self.held_until else self.waiting()

    def take(self, size: int) -> list[Job]:
        """Up to ``size`` jobs, first tries before retries (only retries while held)."""
        jobs = [] if self.held_until else [self.jobs.popleft() for _ in range(min(size, len(self.jobs)))]
        return jobs + [self.retries.popleft() for _ in range(min(size - len(jobs), len(self.retries)))]

    def delay(self) -> float:
        """How long to wait before this lane's next message (its rate and its pace)."""
        return (self.bucket.wait_time() if self.bucket else 0.0) + self.pace


class Lanes:
    """All lanes of a send, with one condition variable workers wait on."""

    def __init__(self, limits_for: Callable[[str], ProviderLimits], lane_cap: int) -> None:
        self._limits_for = limits_for
        self.lane_cap = lane_cap  # claimed jobs one lane may hold before its readers are left for later
        self.lanes: dict[str, Lane] = {}
        self.cond = threading.Condition()
        self.closed = False

    def lane(self, name: str) -> Lane:
        found = self.lanes.get(name)
        if found is None:
            found = self.lanes[name] = Lane(self._limits_for(name))
        return found

    def add(self, job: Job) -> bool:
        """Queue a job on its provider's lane; False when that lane is full, paused or not ours (the caller releases it).

        A lane with no connections in this process belongs to the other processes of the send.
        """
        with self.cond:
            lane = self.lane(job.provider)
            full = len(lane.retries) >= self.lane_cap if lane.held_until and job.attempts else \
                lane.waiting() >= self.lane_cap  # a held lane's retries are what it waits for
            if lane.paused or not lane.limits.connections or full:
                return False
            lane.queue_of(job).append(job)
            self.cond.notify()
            return True

    def crowded(self, first_tries: bool | None = None) -> list[str]:
        """Providers a new claim should leave alone: paused, not ours, or holding half their cap or more.

        ``first_tries=False`` (a claim of retries only): a held lane counts only its retries.
        """
        with self.cond:
            return [n for n, lane in self.lanes.items()
                    if lane.paused or not lane.limits.connections
                    or (len(lane.retries) if lane.held_until and first_tries is False else lane.waiting()) * 2
                    >= self.lane_cap]

    def held_first_tries(self) -> int:
        """First tries waiting in held lanes (they do not count against how much a send claims)."""
        with self.cond:
            return sum(len(lane.jobs) for lane in self.lanes.values() if lane.held_until)

    def hold(self, lane: Lane, until: float, reason: str) -> None:
        """Keep a provider's first tries waiting until ``until`` (monotonic) or one of its retries is answered."""
        with self.cond:
            if not lane.paused:
                lane.held_until, lane.hold_reason = until, reason
                self.cond.notify_all()

    def release_hold(self, lane: Lane) -> bool:
        """End a hold (a delivery); True when the lane was held."""
        with self.cond:
            held, lane.held_until = bool(lane.held_until), 0.0
            if held:
                self.cond.notify_all()
            return held

    def overdue_holds(self) -> list[Lane]:
        """Held lanes whose deadline passed with no retry answered."""
        now = time.monotonic()
        with self.cond:
            return [lane for lane in self.lanes.values() if lane.held_until and lane.held_until <= now]

    def unserved(self) -> list[str]:
        """Providers this process does not send to in this run: paused, or served by the other processes."""
        with self.cond:
            return [n for n, lane in self.lanes.items() if lane.paused or not lane.limits.connections]

    def queued(self) -> int:
        with self.cond:
            return sum(lane.waiting() for lane in self.lanes.values())

    def take(self, size: int, stop: threading.Event) -> tuple[Lane, list[Job]] | None:
        """Block until a lane is ready, then take up to ``size`` of its jobs; None once closed or stopped.

        Lanes with readers on their first try are served before lanes holding only retries.
        """
        with self.cond:
            while not self.closed and not stop.is_set():
                now = time.monotonic()
                ready = [lane for lane in self.lanes.values() if lane.ready_jobs() and not lane.paused
                         and lane.cool_until <= now and lane.active < lane.limits.connections]
                if ready:
                    lane = min(ready, key=lambda lane: (not lane.jobs or bool(lane.held_until), lane.active, lane.served))
                    lane.active += 1
                    lane.served = now
                    return lane, lane.take(size)
                cooling = [lane.cool_until - now for lane in self.lanes.values()
                           if lane.ready_jobs() and not lane.paused and lane.cool_until > now]
                self.cond.wait(min([0.1, *cooling]))
            return None

    def give_back(self, lane: Lane, jobs: list[Job]) -> None:
        """Put unsent jobs back at the front of their lane (a lost connection, a throttle)."""
        with self.cond:
            for job in reversed(jobs):
                lane.queue_of(job).appendleft(job)
            self.cond.notify()

    def leave(self, lane: Lane) -> None:
        with self.cond:
            lane.active -= 1
            self.cond.notify()

    def pause(self, lane: Lane, reason: str) -> list[Job]:
        """Stop serving a provider for this run; returns its waiting jobs (to release)."""
        with self.cond:
            lane.paused = lane.paused or reason
            lane.held_until = 0.0
            jobs = [*lane.jobs, *lane.retries]
            lane.jobs.clear()
            lane.retries.clear()
            return jobs

    def paused(self) -> dict[str, str]:
        with self.cond:
            return {n: lane.paused for n, lane in self.lanes.items() if lane.paused}

    def drain(self) -> list[Job]:
        """Every waiting job of every lane (the send is stopping)."""
        with self.cond:
            jobs = [job for lane in self.lanes.values() for job in (*lane.jobs, *lane.retries)]
            for lane in self.lanes.values():
                lane.jobs.clear()
                lane.retries.clear()
            return jobs

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()
