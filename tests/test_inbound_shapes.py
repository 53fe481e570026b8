"""Bounce shapes seen from real mail systems: null senders spelled in From, readers named only in
the text, expired deliveries, provider JSON, feedback reports without the standard part, and
message files that start with an mbox "From " line."""

from __future__ import annotations

import itertools
import json

import pytest
from inbound_helpers import inbound_workspace, reader_id, sent_to

from issues.inbound import process_message
from issues.inbound.sources import iter_messages, process_path
from newsletter.workspace import Workspace
from subscribers import get_subscriber

KIM = "kim.trains@yahoo.example"
IVAN = "ivan@example.net"
SERIAL = itertools.count(1)  # a fresh Message-ID per test message (the same one is processed once)


@pytest.fixture
def ws(workspace):
    return inbound_workspace(workspace.root)


@pytest.fixture
def trusting(workspace, monkeypatch):
    """A workspace that believes reports naming a reader only by address (as when no VERP is used)."""
    monkeypatch.setenv("NEWSLETTER_INBOUND_TRUST_UNSIGNED_REPORTS", "true")
    inbound_workspace(workspace.root)
    return Workspace(workspace.root)


def _plain_bounce(address: str, reason: str, message_id: str = "<not-ours@elsewhere.example>") -> bytes:
    """A DragonFly-style report: the null sender written into From, the address only in prose."""
    return f"""From: MAILER-DAEMON <>
To: news@example.com
Subject: Mail delivery failed
Message-Id: <df-{next(SERIAL)}@mx.example.net>
Date: Tue, 03 Mar 2026 10:00:00 +0000

This is the mail agent at mx.example.net.

There was an error delivering your mail to <{address}>.

mx.remote.example [192.0.2.7] did not like our RCPT TO:
{reason}

Original message follows.

From: Weekly Training Notes <news@example.com>
To: {address}
Subject: Hill repeats, done right
Message-ID: {message_id}

Four by four minutes, jog down.
""".encode()


def _outcome_for(ws, raw: bytes) -> tuple[str, str]:
    outcome = process_message(ws, raw)
    return outcome.outcome, ", ".join(r["action"] for r in outcome.readers)


def test_a_null_sender_in_from_with_the_reader_only_in_the_text_is_a_bounce(trusting):
    outcome, actions = _outcome_for(trusting, _plain_bounce(KIM, "550 5.1.1 <kim.trains@yahoo.example>: "
                                                                 "Recipient address rejected: User unknown"))
    assert (outcome, actions) == ("done", "hard bounce")
    assert get_subscriber(trusting, KIM).status == "bounced"


def test_a_full_mailbox_named_only_in_the_text_is_counted_not_bounced(trusting):
    outcome, actions = _outcome_for(trusting, _plain_bounce(KIM, "552 Requested mail action aborted: "
                                                                 "mailbox is full"))
    assert (outcome, actions) == ("done", "soft bounce 1/3")
    assert get_subscriber(trusting, KIM).status == "confirmed"


def test_a_generic_code_with_no_words_never_bounces_a_reader(trusting):
    outcome, actions = _outcome_for(trusting, _plain_bounce(KIM, "550 Requested action not taken"))
    assert actions == "soft bounce 1/3"


def test_an_address_in_the_text_needs_our_message_id_when_unsigned_reports_are_not_trusted(ws):
    reason = "550 5.1.1 User unknown"
    outcome = process_message(ws, _plain_bounce(KIM, reason))
    assert outcome.outcome == "rejected" and "names no reader" in outcome.detail
    assert get_subscriber(ws, KIM).status == "confirmed"
    sent_to(ws, reader_id(ws, "kim"), "2026-W47", "<2026-W47.kim.7@news.example.com>")
    outcome = process_message(ws, _plain_bounce(KIM, reason, "<2026-W47.kim.7@news.example.com>"))
    assert outcome.outcome == "done" and outcome.readers[0]["issue_id"] == "2026-W47"
    assert get_subscriber(ws, KIM).status == "bounced"


def test_addresses_that_are_not_readers_are_left_alone(trusting):
    outcome = process_message(trusting, _plain_bounce("stranger@example.org", "550 5.1.1 User unknown"))
    assert outcome.outcome == "rejected"


def _dsn(action: str, status: str, diagnostic: str) -> bytes:
    return f"""Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: news@example.com
Subject: Delivery Status Notification
Message-Id: <dsn-{next(SERIAL)}@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Delivery to {IVAN} did not succeed.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {IVAN}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {diagnostic}

--b1--
""".encode()


def test_an_expired_delivery_is_a_soft_failure_not_a_delay(trusting):
    outcome, actions = _outcome_for(trusting, _dsn("delayed", "4.4.7", "retry timeout exceeded"))
    assert (outcome, actions) == ("done", "soft bounce 1/3")


def test_a_delay_warning_is_still_only_a_warning(trusting):
    outcome = process_message(trusting, _dsn("delayed", "4.4.1", "connection timed out, will retry"))
    assert (outcome.outcome, outcome.kind) == ("ignored", "delay")


def test_a_dsn_saying_5_0_0_is_soft(trusting):
    outcome, actions = _outcome_for(trusting, _dsn("failed", "5.0.0", "550 Message rejected"))
    assert actions == "soft bounce 1/3"
    outcome, actions = _outcome_for(trusting, _dsn("failed", "5.0.0", "550 5.1.1 No such user"))
    assert actions == "hard bounce"


def _sns_mail(document: dict) -> bytes:
    body = json.dumps({"Type": "Notification", "Message": json.dumps(document)})
    return ("From: AWS Notifications <no-reply@sns.example.com>\nTo: ops@example.com\n"
            f"Subject: AWS Notification Message\nMessage-Id: <sns-{next(SERIAL)}@sns.example.com>\n\n{body}\n").encode()


def test_an_ses_bounce_notification_bounces_the_reader(trusting):
    document = {"notificationType": "Bounce", "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": KIM, "status": "5.1.1",
                                       "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]},
                "mail": {"messageId": "abc", "destination": [KIM]}}
    assert _outcome_for(trusting, _sns_mail(document)) == ("done", "hard bounce")


def test_an_ses_transient_bounce_is_soft_and_a_delivery_is_ignored(trusting):
    document = {"notificationType": "Bounce", "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull",
                "bouncedRecipients": [{"emailAddress": KIM}]}}
    assert _outcome_for(trusting, _sns_mail(document)) == ("done", "soft bounce 1/3")
    delivered = {"notificationType": "Delivery", "delivery": {"recipients": [IVAN]}}
    assert process_message(trusting, _sns_mail(delivered)).outcome == "ignored"


def test_an_ses_complaint_notification_is_a_complaint(trusting):
    document = {"notificationType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": IVAN}],
                "complaintFeedbackType": "abuse"}}
    assert _outcome_for(trusting, _sns_mail(document)) == ("done", "complaint")
    assert get_subscriber(trusting, IVAN).status == "complained"


def test_a_feedback_report_without_the_standard_part_is_a_complaint(trusting):
    raw = f"""From: <staff@feedback.example.com>
To: abuse@example.com
Subject: complaint about message from 192.0.2.9
Message-Id: <fbl-1@feedback.example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fbl"

--fbl
Content-Type: message/rfc822

X-HmXmrOriginalRecipient: {IVAN}
From: Weekly Training Notes <news@example.com>
To: undisclosed-recipients:;
Subject: Hill repeats, done right

Four by four minutes.

--fbl--
""".encode()
    assert _outcome_for(trusting, raw) == ("done", "complaint")


def test_an_opt_out_feedback_report_is_a_complaint(trusting):
    raw = f"""From: feedback@isp.example
To: abuse@example.com
Subject: Feedback report
Message-Id: <arf-optout@isp.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="r"

--r
Content-Type: text/plain

A reader asked to leave.

--r
Content-Type: message/feedback-report

Feedback-Type: opt-out
User-Agent: ExampleFBL/1.0
Version: 1
Original-Rcpt-To: <{IVAN}>

--r
Content-Type: text/rfc822-headers

From: news@example.com
To: {IVAN}
Subject: Hill repeats

--r--
""".encode()
    assert _outcome_for(trusting, raw) == ("done", "complaint")


def test_an_eml_file_with_an_mbox_from_line_is_one_message(tmp_path, trusting):
    raw = _plain_bounce(KIM, "550 5.1.1 User unknown").replace(
        b"Four by four", b"From the start, four by four")  # a body line starting with "From "
    path = tmp_path / "saved.eml"
    path.write_bytes(b"From MAILER-DAEMON  Tue Mar  3 10:00:00 2026\n" + raw)
    [(label, message)] = list(iter_messages(path))
    assert label == str(path) and message.startswith(b"From: MAILER-DAEMON <>")
    [outcome] = process_path(trusting, path)
    assert outcome.readers[0]["action"] == "hard bounce"


def test_an_mbox_of_two_messages_is_split_in_two(tmp_path):
    one = b"From: a@example.org\nSubject: one\n\nFrom here on, text.\n"
    two = b"From: b@example.org\nSubject: two\n\nBody.\n"
    path = tmp_path / "box"
    path.write_bytes(b"From a@example.org Tue Mar  3 10:00:00 2026\n" + one + b"\n"
                     b"From b@example.org Tue Mar  3 10:01:00 2026\n" + two)
    messages = [m for _, m in iter_messages(path)]
    assert [m.split(b"\n")[1] for m in messages] == [b"Subject: one", b"Subject: two"]
    assert b"From here on, text." in messages[0]
