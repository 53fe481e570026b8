"""The small typed records a send's threads keep for the recorder.

One record is one reader's word for this run: delivered, refused for good,
deferred to a later try, skipped, or released unsent.  The recorder turns a
thread's records into one transaction (see :mod:`issues.send.recorder`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .outbox import Job


@dataclass(slots=True, frozen=True)
class Delivered:
    """The server accepted the reader's message."""

    job: Job
    code: int
    text: str
    message_id: str
    sent_at: str


@dataclass(slots=True, frozen=True)
class Refused:
    """A permanent refusal (5xx), or a message we could not build; ``bounce`` marks the reader bounced."""

    job: Job
    code: int | None
    detail: str
    bounce: bool = False


@dataclass(slots=True, frozen=True)
class Deferred:
    """A temporary refusal of this reader: try again at ``retry_at`` (Unix time) unless out of attempts."""

    job: Job
    code: int
    detail: str
    retry_at: float


@dataclass(slots=True, frozen=True)
class Skipped:
    """The reader is no longer confirmed (or was forgotten): not sent, never will be for this issue."""

    job: Job
    reason: str


@dataclass(slots=True, frozen=True)
class Released:
    """Claimed but not sent (a stop, a paused provider): back to pending as it was."""

    job: Job
    provider: str | None = None


Result = Delivered | Refused | Deferred | Skipped | Released
