"""The finer rules of inbound mail: what counts as an auto-reply, who may subscribe by mail,
soft bounces counted along the issues actually sent, and the mailbox formats read."""

from __future__ import annotations

import mailbox

import pytest
from inbound_helpers import inbound_workspace, reader_id, sample, sent_to

from issues.inbound import process_message, store
from issues.inbound.classify import classify
from issues.inbound.mime import content_hash, parse_bytes
from issues.inbound.sources import process_path
from subscribers import get_subscriber, verp


@pytest.fixture
def ws(workspace):
    return inbound_workspace(workspace.root)


def _mail(headers: str, body: str = "Hello.\n") -> bytes:
    return (headers.strip() + "\n\n" + body).encode()


@pytest.mark.parametrize("header", [
    "Auto-Submitted: auto-replied", "X-Autoreply: yes", "X-Autorespond: Out of office",
    "Precedence: bulk", "Precedence: auto_reply", "Subject: Out of Office: back Monday",
    "Subject: Automatic reply: your message", "Subject: Abwesenheitsnotiz",
])
def test_auto_replies_are_recognised(header):
    msg = parse_bytes(_mail(f"From: reader@example.org\nTo: bounces@example.com\n{header}"))
    assert classify(msg).kind == "autoreply"


def test_a_plain_reply_is_not_an_auto_reply():
    msg = parse_bytes(_mail("From: reader@example.org\nTo: news@example.com\nSubject: Re: hill repeats"))
    assert classify(msg).kind == "unknown"


def test_an_auto_reply_to_the_subscribe_address_subscribes_nobody(ws):
    raw = _mail("From: Bot <bot@example.org>\nTo: join@example.com\nSubject: I am out of the office\n"
                "Message-ID: <ooo-join@example.org>")
    assert process_message(ws, raw).kind == "autoreply"
    with pytest.raises(Exception, match="no reader"):
        get_subscriber(ws, "bot@example.org")


def test_a_subscribe_request_failing_dmarc_is_kept_aside(ws):
    raw = sample(ws, "subscribe-request.eml").replace(b"dmarc=pass", b"dmarc=fail")
    outcome = process_message(ws, raw)
    assert outcome.outcome == "rejected" and "DMARC" in outcome.detail
    with pytest.raises(Exception, match="no reader"):
        get_subscriber(ws, "grace.lee@example.net")


def test_a_subscribe_request_for_a_reader_who_left_asks_to_confirm_again(ws):
    process_message(ws, sample(ws, "mailto-unsubscribe.eml"))
    assert get_subscriber(ws, "frank@example.org").status == "unsubscribed"
    raw = _mail("From: Frank Ortega <frank@example.org>\nTo: join@example.com\nSubject: back again\n"
                "Message-ID: <frank-back@example.org>")
    outcome = process_message(ws, raw)
    assert outcome.kind == "subscribe"
    assert get_subscriber(ws, "frank@example.org").status == "pending"  # only the link confirms


def test_an_unsubscribe_sent_to_the_subscribe_address_subscribes_nobody(ws):
    raw = _mail("From: Someone <someone@example.org>\nTo: join@example.com\nSubject: UNSUBSCRIBE\n"
                "Message-ID: <wrong-address@example.org>")
    outcome = process_message(ws, raw)
    assert outcome.outcome == "rejected" and "asks to leave" in outcome.detail
    with pytest.raises(Exception, match="no reader"):
        get_subscriber(ws, "someone@example.org")


def test_a_not_spam_report_changes_nothing(ws):
    raw = sample(ws, "arf-complaint.eml").replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    assert process_message(ws, raw).outcome == "ignored"
    assert get_subscriber(ws, "erin@mailbox-provider.example").status == "confirmed"


def test_a_temporary_plain_text_bounce_is_soft(ws):
    raw = sample(ws, "exim-plain-bounce.eml").replace(b"This is a permanent error", b"This is a temporary error")
    raw = raw.replace(b"550 5.1.1", b"452 4.2.2")
    outcome = process_message(ws, raw)
    assert outcome.readers[0]["action"] == "soft bounce 1/3"
    assert get_subscriber(ws, "bob@example.net").status == "confirmed"


@pytest.mark.parametrize("status", ["5.7.26", "5.7.1", "5.6.0", "5.2.3"])
def test_a_refusal_of_our_mail_not_of_the_address_is_soft(ws, status):
    """A DMARC failure of ours (5.7.26) or a spam block must not bounce every reader of a provider."""
    raw = sample(ws, "postfix-hard-bounce.eml").replace(b"5.1.1", status.encode())
    outcome = process_message(ws, raw)
    assert outcome.readers[0]["action"] == "soft bounce 1/3"
    assert outcome.readers[0]["status"] == "confirmed"
    assert get_subscriber(ws, reader_id(ws, "alice")).status == "confirmed"


def test_a_refused_address_is_still_a_hard_bounce(ws):
    outcome = process_message(ws, sample(ws, "postfix-hard-bounce.eml"))
    assert outcome.readers[0]["action"] == "hard bounce"
    assert get_subscriber(ws, reader_id(ws, "alice")).status == "bounced"


def _sent(ws, subscriber_id: int, *issues: str) -> None:
    for n, issue_id in enumerate(issues):
        sent_to(ws, subscriber_id, issue_id, f"<{issue_id}.{subscriber_id}@example.com>",
                f"2026-11-0{n + 1}T14:00:00+00:00")


def _soft_bounce(ws, subscriber_id: int, number: int) -> None:
    raw = sample(ws, "postfix-soft-bounce.eml").decode()
    raw = raw.replace(verp.bounce_sender(ws, subscriber_id, 47), verp.bounce_sender(ws, subscriber_id, number))
    process_message(ws, raw.replace("4Kx3Bd0Hq7z9wR@", f"soft{number}@").encode())


def test_soft_bounces_count_only_in_a_row_along_the_issues_sent(ws, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_INBOUND_SOFT_BOUNCE_LIMIT", "2")
    from newsletter.workspace import Workspace

    ws = Workspace(ws.root)
    ivan = reader_id(ws, "ivan")
    _sent(ws, ivan, "2026-W45", "2026-W46", "2026-W47")
    _soft_bounce(ws, ivan, 45)
    _soft_bounce(ws, ivan, 47)  # W46 reached the reader in between: the run starts again
    assert get_subscriber(ws, ivan).status == "confirmed"
    assert store.soft_bounce_streak(ws, ivan, "2026-W47") == 1
    _soft_bounce(ws, ivan, 46)  # a late report: W45 and W46 in a row
    assert get_subscriber(ws, ivan).status == "bounced"


def test_a_bounce_without_verp_is_believed_through_the_message_id_of_our_copy(ws):
    outcome = process_message(ws, sample(ws, "exim-plain-bounce.eml"))
    assert outcome.readers[0]["issue_id"] == "2026-W47"
    assert outcome.readers[0]["found_by"] == "message-id"  # from the copy Exim quotes inline


def test_a_bounce_naming_a_reader_only_by_address_is_kept_aside(ws, monkeypatch):
    ws.db.execute("DELETE FROM outbox")  # nothing signed backs the address up any more
    raw = sample(ws, "exim-plain-bounce.eml")
    outcome = process_message(ws, raw)
    assert outcome.outcome == "rejected" and "nothing signed backs up" in outcome.detail
    assert get_subscriber(ws, "bob@example.net").status == "confirmed"
    monkeypatch.setenv("NEWSLETTER_INBOUND_TRUST_UNSIGNED_REPORTS", "true")
    from newsletter.workspace import Workspace

    trusting = Workspace(ws.root)
    trusting.db.execute("DELETE FROM inbound_messages")
    assert process_message(trusting, raw).outcome == "done"
    assert get_subscriber(trusting, "bob@example.net").status == "bounced"


def test_a_forged_complaint_naming_only_an_address_is_kept_aside(ws):
    raw = (
        "From: fbl@attacker.example\nTo: fbl@example.com\nMessage-ID: <forged-arf@attacker.example>\n"
        "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=feedback-report; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nspam report\n"
        "--b\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: x/1\nVersion: 1\n"
        "Original-Rcpt-To: <alice@example.org>\n\n--b--\n"
    )
    outcome = process_message(ws, raw.encode())
    assert outcome.outcome == "rejected"
    assert get_subscriber(ws, "alice@example.org").status == "confirmed"


def test_a_stale_claim_left_by_a_crash_is_taken_again(ws):
    raw = sample(ws, "postfix-hard-bounce.eml")
    row = store.claim(ws, "x" * 64, "", "file", "crashed")
    ws.db.execute("UPDATE inbound_messages SET content_hash = ?, received_at = '2026-01-01T00:00:00+00:00' "
                  "WHERE id = ?", [content_hash(raw), row])
    assert process_message(ws, raw).outcome == "done"
    assert get_subscriber(ws, "alice@example.org").status == "bounced"


def test_an_mbox_and_a_single_file_are_read(ws, tmp_path):
    box = mailbox.mbox(tmp_path / "returned.mbox")
    for name in ("postfix-hard-bounce.eml", "gmail-bounce.eml"):
        box.add(sample(ws, name))
    box.flush()
    outcomes = process_path(ws, tmp_path / "returned.mbox")
    assert [o.outcome for o in outcomes] == ["done", "done"]
    assert outcomes[1].label.endswith("returned.mbox#2")
    (tmp_path / "one.eml").write_bytes(sample(ws, "microsoft-ndr.eml"))
    assert [o.kind for o in process_path(ws, tmp_path / "one.eml")] == ["bounce"]
    assert get_subscriber(ws, "dave.k@contoso-fitness.example").status == "bounced"


def test_a_missing_path_is_a_clear_error(ws, cli, tmp_path):
    result = cli("inbound", "process", str(tmp_path / "nope"))
    assert "no such file or folder" in str(result.exception)
