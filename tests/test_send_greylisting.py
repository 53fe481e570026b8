"""Greylisted readers within one send: retried on the live connection once due, after every first try,
and a chance run of greylisting is not taken for a provider throttling us."""

from __future__ import annotations

import pytest
from send_fixtures import ISSUE, add_readers, build_issue, smtp_workspace
from smtp_sink import SmtpSink

from issues.send import outbox, send_issue
from issues.send.workers import throttle_run
from newsletter.workspace import Workspace

GREYLISTED = "451 4.7.1 Greylisted, please try again later"


@pytest.fixture()
def issue_ws(workspace: Workspace) -> Workspace:
    build_issue(workspace)
    return workspace


def test_greylisted_readers_are_retried_in_the_same_send_after_every_first_try(issue_ws: Workspace) -> None:
    """Two providers, one connection: the retries of the first provider's greylisted readers fall due
    while the other provider's readers still wait for their first try; they go after those, on the
    connection the send already has (no new pass, no new connection)."""
    add_readers(issue_ws, 50, domain="gmail.com")
    add_readers(issue_ws, 150, start=1000, domain="yahoo.com")
    greylisted = {f"reader{n}@gmail.com" for n in (0, 1, 2, 20, 21, 49)}
    sessions_at: list[int] = []  # connections the sink had seen at each delivery
    with SmtpSink() as sink:
        for address in greylisted:
            sink.answer(address, GREYLISTED)
        sink.handler.on_message = lambda message: sessions_at.append(sink.handler.connections)
        ws = smtp_workspace(issue_ws.root, sink, connections=1, resolve_mx="false")
        report = send_issue(ws, ISSUE)
    assert report.finished and report.this_run["sent"] == 200 and report.this_run["deferred"] == len(greylisted)
    delivered = [r.lower() for m in sink.messages for r in m.rcpt_tos]
    assert len(delivered) == len(set(delivered)) == 200  # nobody twice
    assert set(delivered[-len(greylisted):]) == greylisted  # every first try went before the retries
    assert len(set(sessions_at)) == 1  # one connection for every delivery, retries included
    rows = outbox.rows_of(issue_ws, ISSUE)
    assert sum(r["attempts"] == 2 for r in rows) == len(greylisted) and all(r["status"] == "sent" for r in rows)


def test_a_provider_greylisting_every_new_sender_is_held_then_goes_on_in_the_same_send(issue_ws: Workspace) -> None:
    """Every gmail reader is refused once (greylisting of new senders): far more than
    ``pause_after_failures`` in a row.  The provider is held, not paused: its first retry is
    delivered, and the rest of its readers go out in the same send, each once."""
    add_readers(issue_ws, 40, domain="gmail.com")
    add_readers(issue_ws, 20, start=1000, domain="yahoo.com")
    with SmtpSink() as sink:
        for n in range(40):
            sink.answer(f"reader{n}@gmail.com", GREYLISTED)
        ws = smtp_workspace(issue_ws.root, sink, connections=2, pause_after_failures=5, resolve_mx="false")
        report = send_issue(ws, ISSUE)
    assert report.paused is None and report.finished and report.this_run["sent"] == 60
    delivered = [r.lower() for m in sink.messages for r in m.rcpt_tos]
    assert len(delivered) == len(set(delivered)) == 60
    attempts = {(r["provider"], r["attempts"]) for r in outbox.rows_of(issue_ws, ISSUE)}
    assert attempts == {("google", 2), ("yahoo", 1)}  # each gmail reader refused once, then delivered


def test_a_provider_refusing_its_retries_too_is_paused_after_the_first_one(issue_ws: Workspace) -> None:
    """Every gmail reader refused for now, retries included: held after ``pause_after_failures``, then
    paused when its first retry is refused; its other readers were never tried, the rest went out."""
    add_readers(issue_ws, 40, domain="gmail.com")
    add_readers(issue_ws, 20, start=1000, domain="yahoo.com")
    with SmtpSink() as sink:
        for n in range(40):
            sink.always(f"reader{n}@gmail.com", "451 4.7.0 Try again later")
        ws = smtp_workspace(issue_ws.root, sink, connections=2, pause_after_failures=5, resolve_mx="false")
        report = send_issue(ws, ISSUE)
        assert report.paused and "5 failures in a row from google" in report.paused
        assert "a retry was refused too: 451" in report.paused
        assert report.this_run["sent"] == 20 and report.counts["pending"] == 40
        tried = issue_ws.db.execute("SELECT COUNT(*) FROM outbox WHERE attempts > 0 AND status = 'pending'").fetchone()[0]
        assert tried < 40  # held: the provider's other first tries waited
        for n in range(40):
            sink.clear(f"reader{n}@gmail.com")
        resumed = send_issue(ws, ISSUE)
    assert resumed.finished and len(sink.messages) == 60


def test_a_send_that_does_not_stay_for_retries_pauses_such_a_provider_at_once(issue_ws: Workspace) -> None:
    """With ``wait_for_deferred`` shorter than a retry's wait, no retry can tell greylisting from
    refusal in this send: the provider is paused at its count, as before."""
    add_readers(issue_ws, 30, domain="gmail.com")
    with SmtpSink() as sink:
        sink.refuse_everyone("451 4.7.0 Try again later")
        ws = smtp_workspace(issue_ws.root, sink, connections=1, pause_after_failures=5, defer_delay=60,
                            wait_for_deferred=10, resolve_mx="false")
        report = send_issue(ws, ISSUE)
    assert report.paused and report.paused.startswith("5 failures in a row from google")
    assert "retry" not in report.paused and report.counts["pending"] == 30


def test_a_run_of_refusals_counts_as_a_throttle_only_beyond_what_greylisting_explains() -> None:
    # (run of temporary refusals in a row, answers so far, temporary refusals so far, a throttle?)
    for run, answers, temporary, throttled in [
        (2, 200, 2, False),   # shorter than a run ever counted
        (3, 203, 3, True),    # three in a row after 200 deliveries: the provider slows us down
        (3, 203, 23, False),  # the same three from a provider greylisting one reader in ten: chance
        (4, 204, 24, False),
        (6, 206, 26, True),   # far longer than one in ten explains
        (9, 9, 9, False),     # from the start: nothing to compare with yet ...
        (12, 12, 12, True),   # ... until the run is long
    ]:
        assert throttle_run(run, answers, temporary) is throttled, (run, answers, temporary)


def test_a_reader_s_retry_never_comes_before_the_greylisting_window() -> None:
    from issues.send.workers import backoff

    retries = [backoff(300.0, 1, 3600.0, never_early=True) for _ in range(2000)]
    assert min(retries) >= 300.0 and max(retries) <= 375.0
    others = [backoff(300.0, 1, 3600.0) for _ in range(2000)]
    assert min(others) < 300.0  # a connection's own retry keeps its jitter both ways
