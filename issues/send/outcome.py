"""Where an issue's send stands, in one word, in words, and as the exit status the CLI returns.

An issue is *sent* only when every reader in its snapshot has a final answer
(delivered, failed or skipped) and at least one was delivered; only then is it
marked sent and shown in the public archive.  The exit statuses, also in the README:

====  =========================================================================
0     done: every reader has an answer and none failed (or nothing to do)
1     error: nothing changed, or the run stopped on an error (one line on stderr)
2     usage error: a wrong option or value on the command line
3     finished with failures: every reader has an answer, but some (or all) failed
4     paused or unfinished: readers are still waiting; run ``send`` again to resume
130   stopped by Ctrl-C / SIGTERM after the messages in flight; ``send`` resumes
====  =========================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

EXIT_DONE, EXIT_ERROR, EXIT_USAGE, EXIT_FAILURES, EXIT_UNFINISHED, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


@dataclass(frozen=True)
class Outcome:
    """The state of an issue's send: a name for scripts, a sentence for people, the exit status."""

    state: str  # not-started | sent | sent-with-failures | nothing-delivered | paused | unfinished
    words: str
    exit_code: int

    @property
    def delivered(self) -> bool:
        """True when the issue counts as sent (every reader answered, at least one delivered)."""
        return self.state in ("sent", "sent-with-failures")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "delivered": self.delivered}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def outcome_of(issue_id: str, counts: Mapping[str, int], *, started: bool = True,
               paused: str | None = None) -> Outcome:
    """Classify an issue's outbox ``counts`` (rows per status) into an :class:`Outcome`."""
    if not started:
        return Outcome("not-started", f"{issue_id} has not been sent yet", EXIT_DONE)
    sent, failed, skipped = counts.get("sent", 0), counts.get("failed", 0), counts.get("skipped", 0)
    waiting = counts.get("pending", 0) + counts.get("sending", 0)
    resume = f"run 'newsletter send {issue_id}' to resume"
    if waiting:
        head = f"{issue_id} is {'paused' if paused else 'not finished'}: {_plural(waiting, 'reader')} still " \
               f"waiting, {sent} delivered, {failed} failed"
        if paused:
            return Outcome("paused", f"the send paused itself after {paused}; {head}; fix the cause (see "
                           f"'newsletter issue status {issue_id}'), then {resume}", EXIT_UNFINISHED)
        return Outcome("unfinished", f"{head}; {resume}", EXIT_UNFINISHED)
    retry = f"see 'newsletter issue status {issue_id}', fix the cause and run " \
            f"'newsletter send {issue_id} --retry-failed' for temporary failures"
    if sent == 0:
        return Outcome("nothing-delivered", f"{issue_id} was delivered to nobody: {failed} failed, {skipped} "
                       f"skipped; it is not marked sent nor shown in the archive; {retry}", EXIT_FAILURES)
    if failed:
        return Outcome("sent-with-failures", f"{issue_id} is sent with failures: {sent} delivered, "
                       f"{failed} failed, {skipped} skipped; {retry}", EXIT_FAILURES)
    return Outcome("sent", f"{issue_id} is sent: {sent} delivered, {skipped} skipped", EXIT_DONE)
