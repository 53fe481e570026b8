"""Sending an issue to a real SMTP server on loopback: everyone once, faults, pauses, stops, resumes."""

from __future__ import annotations

import threading
import time
from collections import Counter
from email.utils import parseaddr

import pytest
from send_fixtures import ISSUE, add_readers, build_issue, smtp_workspace, status_of
from smtp_sink import SmtpSink

from issues.build import get_issue
from issues.send import outbox, send_issue
from newsletter.workspace import Workspace
from subscribers import register, unsubscribe


def recipients(sink: SmtpSink) -> Counter[str]:
    return sink.counts()


def addresses(ws: Workspace, ids: list[int]) -> set[str]:
    marks = ",".join("?" * len(ids))
    rows = ws.db.execute(f"SELECT email FROM subscribers WHERE id IN ({marks})", ids).fetchall()
    return {r[0].lower() for r in rows}


@pytest.fixture
def issue_ws(workspace: Workspace) -> Workspace:
    build_issue(workspace)
    return workspace


def test_every_confirmed_reader_gets_exactly_one_copy_and_nobody_else(issue_ws: Workspace) -> None:
    confirmed = add_readers(issue_ws, 60)
    register(issue_ws, "pending@readers.example.org", source="form")  # never confirmed
    gone = add_readers(issue_ws, 3, start=100)
    for sid in gone:
        unsubscribe(issue_ws, sid, source="test")
    with SmtpSink() as sink:
        report = send_issue(smtp_workspace(issue_ws.root, sink, connections=3), ISSUE)
    assert report.finished and report.this_run["sent"] == 60
    assert recipients(sink) == Counter({a: 1 for a in addresses(issue_ws, confirmed)})
    rows = outbox.rows_of(issue_ws, ISSUE)
    assert len(rows) == 60 and {r["status"] for r in rows} == {"sent"}
    assert all(r["message_id"] and r["sent_at"] and r["code"] == 250 for r in rows)
    assert get_issue(issue_ws, ISSUE).status == "sent"
    # Each envelope sender is the reader's own VERP address.
    from subscribers.verp import parse_bounce_address

    by_address = {e.lower(): sid for sid, e in issue_ws.db.execute("SELECT id, email FROM subscribers")}
    for m in sink.messages:
        target = parse_bounce_address(issue_ws, m.mail_from)
        assert target is not None and target.subscriber_id == by_address[m.rcpt_tos[0].lower()]
        assert target.issue_number == get_issue(issue_ws, ISSUE).number


def test_a_finished_issue_is_already_sent(issue_ws: Workspace) -> None:
    add_readers(issue_ws, 5)
    with SmtpSink() as sink:
        ws = smtp_workspace(issue_ws.root, sink)
        send_issue(ws, ISSUE)
        add_readers(issue_ws, 2, start=50)  # confirmed after the send started: not in the snapshot
        again = send_issue(ws, ISSUE)
    assert again.already_sent and again.counts["sent"] == 5
    assert "already sent" in again.summary()
    assert len(sink.messages) == 5


def test_faults_end_delivered_or_bounced_and_nothing_is_lost(issue_ws: Workspace) -> None:
    ids = add_readers(issue_ws, 40)
    emails = {sid: f"reader{n}@readers.example.org" for n, sid in enumerate(ids)}
    greylisted = [ids[i] for i in (2, 9, 17, 30)]
    throttled = [ids[i] for i in (5, 22)]
    unknown = [ids[i] for i in (7, 25, 33)]
    with SmtpSink() as sink:
        for sid in greylisted:
            sink.answer(emails[sid], "451 4.7.1 Greylisted, try again later", "451 4.7.1 Still greylisted")
        for sid in throttled:
            sink.answer(emails[sid], "421 4.7.0 Too many connections, slow down")
        for sid in unknown:
            sink.always(emails[sid], "550 5.1.1 No such user here")
        sink.drop_at(4, 15, 28)  # hang up right after the message body, storing nothing
        ws = smtp_workspace(issue_ws.root, sink, connections=2, pause_after_failures=20)
        report = send_issue(ws, ISSUE)
        runs = 1
        while not report.finished and runs < 4:
            report = send_issue(ws, ISSUE)
            runs += 1
    assert report.finished
    delivered = set(ids) - set(unknown)
    assert recipients(sink) == Counter({emails[sid]: 1 for sid in delivered})
    rows = {r["subscriber_id"]: r for r in outbox.rows_of(issue_ws, ISSUE)}
    for sid in unknown:
        assert rows[sid]["status"] == "failed" and rows[sid]["code"] == 550 and "5.1.1" in rows[sid]["detail"]
        assert status_of(issue_ws, sid) == "bounced"
    for sid in greylisted:
        assert rows[sid]["status"] == "sent" and rows[sid]["attempts"] == 3
    assert all(rows[sid]["status"] == "sent" for sid in delivered)
    assert all(status_of(issue_ws, sid) == "confirmed" for sid in delivered)


def test_a_reader_refused_for_now_is_deferred_with_a_retry_time_then_failed_then_retried(issue_ws: Workspace) -> None:
    ids = add_readers(issue_ws, 6)
    stuck = "reader1@readers.example.org"
    with SmtpSink() as sink:
        sink.always(stuck, "452 4.2.2 Mailbox full")
        # A send that does not stay for deferred readers leaves them pending with their next try noted.
        first = send_issue(smtp_workspace(issue_ws.root, sink, wait_for_deferred=0, defer_delay=600,
                                          max_total_attempts=4), ISSUE)
        assert not first.finished and first.counts["pending"] == 1 and first.this_run["deferred"] == 1
        assert first.counts["sent"] == 5 and first.deferred == 1 and first.next_try_at
        assert "1 deferred, next try at " in first.summary()
        row = next(r for r in outbox.rows_of(issue_ws, ISSUE) if r["subscriber_id"] == ids[1])
        assert row["next_try_at"] > time.time() + 300 and row["attempts"] == 1
        # Not due yet: a new run leaves it alone.
        again = send_issue(smtp_workspace(issue_ws.root, sink, wait_for_deferred=0), ISSUE)
        assert again.this_run == {"sent": 0, "failed": 0, "bounced": 0, "skipped": 0, "deferred": 0}
        issue_ws.db.execute("UPDATE outbox SET next_try_at = 0 WHERE subscriber_id = ?", [ids[1]])
        # Due now, and a run that stays for its retries tries until attempts reach 4: a temporary failure.
        second = send_issue(smtp_workspace(issue_ws.root, sink, max_total_attempts=4), ISSUE)
        assert second.finished and second.counts["failed"] == 1 and second.this_run["deferred"] == 3
        assert send_issue(smtp_workspace(issue_ws.root, sink), ISSUE).already_sent
        sink.clear(stuck)  # the mailbox has room again
        third = send_issue(smtp_workspace(issue_ws.root, sink), ISSUE, retry_failed=True)
    assert third.finished and third.counts["sent"] == 6
    assert recipients(sink)[stuck] == 1 and status_of(issue_ws, ids[1]) == "confirmed"


def test_the_send_pauses_after_too_many_failures_in_a_row(issue_ws: Workspace) -> None:
    add_readers(issue_ws, 30)
    with SmtpSink() as sink:
        sink.refuse_everyone("451 4.3.0 Local problem, try later")
        ws = smtp_workspace(issue_ws.root, sink, pause_after_failures=5, connections=2)
        report = send_issue(ws, ISSUE)
        assert report.paused and "5 failures in a row" in report.paused and "451" in report.paused
        assert not report.finished and report.counts["sending"] == 0
        assert report.counts["pending"] == 30 and len(sink.messages) == 0
        sink.refuse_everyone(None)
        resumed = send_issue(ws, ISSUE)
    assert resumed.finished and len(sink.messages) == 30 and max(recipients(sink).values()) == 1


def test_the_whole_send_pauses_when_every_provider_refuses_everybody(issue_ws: Workspace) -> None:
    for n, domain in enumerate(("gmail.com", "outlook.com", "yahoo.com")):
        add_readers(issue_ws, 20, start=20 * n, domain=domain)
    with SmtpSink() as sink:
        sink.refuse_everyone("451 4.3.0 Try later")
        ws = smtp_workspace(issue_ws.root, sink, pause_after_failures=10, connections=2)
        report = send_issue(ws, ISSUE)
        assert report.paused and "refusals in a row from" in report.paused and "451" in report.paused
        tried = issue_ws.db.execute("SELECT COUNT(*) FROM outbox WHERE attempts > 0").fetchone()[0]
        assert tried < 10 + 2 * 2 + 1  # the send's count, not three providers' counts of 10 each
        assert report.counts["pending"] == 60 and len(sink.messages) == 0
        sink.refuse_everyone(None)
        resumed = send_issue(ws, ISSUE)
    assert resumed.finished and len(sink.messages) == 60 and max(recipients(sink).values()) == 1


def test_an_unsubscribe_during_the_send_is_honoured(issue_ws: Workspace) -> None:
    ids = add_readers(issue_ws, 80)
    leaving = ids[-10:]
    done = threading.Event()
    with SmtpSink() as sink:
        def on_message(_received) -> None:
            if len(sink.handler.messages) == 5 and not done.is_set():
                other = Workspace(issue_ws.root)
                for sid in leaving:
                    unsubscribe(other, sid, source="link")
                other.close()
                done.set()

        sink.handler.on_message = on_message
        report = send_issue(smtp_workspace(issue_ws.root, sink, connections=2), ISSUE)
    assert done.is_set() and report.finished
    assert recipients(sink) == Counter({a: 1 for a in addresses(issue_ws, ids[:-10])})
    rows = {r["subscriber_id"]: r for r in outbox.rows_of(issue_ws, ISSUE)}
    assert all(rows[sid]["status"] == "skipped" and rows[sid]["detail"] == "reader is unsubscribed"
               for sid in leaving)
    assert report.counts["skipped"] == 10


def test_a_stop_finishes_in_flight_messages_and_the_next_run_resumes(issue_ws: Workspace) -> None:
    ids = add_readers(issue_ws, 120)
    stop = threading.Event()
    with SmtpSink() as sink:
        sink.handler.on_message = lambda _m: stop.set() if len(sink.handler.messages) >= 20 else None
        ws = smtp_workspace(issue_ws.root, sink, connections=3)
        first = send_issue(ws, ISSUE, stop=stop)
        assert first.interrupted and not first.finished
        assert first.counts["sending"] == 0
        assert first.counts["sent"] == len(sink.messages) >= 20  # every delivered message is recorded
        second = send_issue(ws, ISSUE)
    assert second.finished and second.counts["sent"] == 120
    assert recipients(sink) == Counter({a: 1 for a in addresses(issue_ws, ids)})


def test_the_default_maildir_transport_needs_no_server(issue_ws: Workspace) -> None:
    import mailbox

    add_readers(issue_ws, 12)
    report = send_issue(issue_ws, ISSUE)
    assert report.finished
    box = mailbox.Maildir(issue_ws.root / "outbox", create=False)
    tos = Counter(parseaddr(m["To"])[1] for m in box)
    assert len(tos) == 12 and set(tos.values()) == {1}


def test_no_confirmed_readers_sends_nothing_and_leaves_the_issue_a_draft(issue_ws: Workspace) -> None:
    from issues.send import NothingToSend

    register(issue_ws, "pending@readers.example.org", source="form")
    with pytest.raises(NothingToSend, match="no confirmed readers"):
        send_issue(issue_ws, ISSUE)
    assert get_issue(issue_ws, ISSUE).status == "draft" and outbox.send_record(issue_ws, ISSUE) is None


def test_a_reader_with_an_internationalised_address_gets_the_issue(issue_ws: Workspace) -> None:
    plain = add_readers(issue_ws, 2)
    accented = register(issue_ws, "zoë@readers.example.org", name="Zoë", source="import",
                        consent_text="test", confirmed=True).subscriber_id
    with SmtpSink(smtputf8=True) as sink:
        report = send_issue(smtp_workspace(issue_ws.root, sink), ISSUE)
    assert report.finished and report.this_run["sent"] == 3
    assert recipients(sink) == Counter({**{a: 1 for a in addresses(issue_ws, plain)}, "zoë@readers.example.org": 1})
    [copy] = [m for m in sink.messages if m.rcpt_tos == ("zoë@readers.example.org",)]
    assert "SMTPUTF8" in copy.mail_options
    assert parseaddr(copy.parse()["To"])[1] == "zoë@readers.example.org"
    assert status_of(issue_ws, accented) == "confirmed"
