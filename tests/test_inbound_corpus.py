"""The sample corpus: each message lands in the right status, the audit events say why,
and feeding the same files twice changes nothing."""

from __future__ import annotations

import json
import mailbox

import pytest
from inbound_helpers import READERS, inbound_workspace, reader_id, sample, write_corpus

from issues.inbound import issue_feedback, process_message
from subscribers import get_subscriber
from subscribers.store import events_of

EXPECTED_STATUS = {
    "alice": "bounced",  # Postfix RFC 3464, 5.1.1, via VERP
    "bob": "bounced",  # Exim plain text: X-Failed-Recipients and the Message-ID of his copy (no VERP)
    "carol": "bounced",  # Gmail, 5.1.1
    "dave": "bounced",  # Microsoft 365, 5.1.10
    "judy": "bounced",  # legacy Exchange HTML NDR without a delivery-status part
    # Yahoo (qmail-style) plain-text notice: a remote "no such user" under a bare "554:", not said in
    # answer to RCPT TO (such servers say it after DATA, where filters speak too): counted, not bounced
    "kim": "confirmed",
    "erin": "complained",  # ARF abuse report
    "frank": "unsubscribed",  # mailto unsubscribe
    "heidi": "confirmed",  # out-of-office: ignored
    "ivan": "confirmed",  # one soft bounce and a delay warning: counted, not yet bounced
}


@pytest.fixture
def ws(workspace):
    return inbound_workspace(workspace.root)


def _inbound_events(ws, name):
    return [e for e in events_of(ws, reader_id(ws, name)) if e.source == "inbound"]


def _statuses(ws):
    return {name: get_subscriber(ws, name_email).status for name, name_email in READERS.items()}


def test_each_sample_lands_in_the_right_status(ws, tmp_path, cli):
    folder = write_corpus(ws, tmp_path / "mail")
    result = cli("inbound", "process", str(folder), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    by_file = {m["label"].rsplit("/", 1)[-1]: m for m in report["messages"]}
    assert _statuses(ws) == EXPECTED_STATUS
    assert by_file["out-of-office.eml"]["outcome"] == "ignored"
    assert by_file["out-of-office.eml"]["kind"] == "autoreply"
    assert by_file["delay-warning.eml"]["kind"] == "delay"
    assert by_file["garbage.eml"]["outcome"] == "rejected"
    assert by_file["stray-mail.eml"]["outcome"] == "rejected"
    assert by_file["subscribe-request.eml"]["kind"] == "subscribe"
    grace = get_subscriber(ws, "grace.lee@example.net")
    assert grace.status == "pending" and grace.name == "Grace Lee"
    [asked] = [e for e in events_of(ws, grace.id) if e.kind == "subscribed"]
    assert asked.source == "inbound"
    # The consent wording outlives forget, so it holds nothing the sender typed; the subject is in the
    # feedback detail, which forget erases.
    assert asked.consent_text == "Asked by email to join@example.com"
    [feedback] = ws.db.execute("SELECT detail FROM inbound_feedback WHERE kind = 'subscribe'").fetchall()
    assert "'Please add me to the weekly notes'" in feedback[0]
    confirmation = [m for m in mailbox.Maildir(ws.root / "outbox") if "grace.lee@example.net" in m["To"]]
    assert len(confirmation) == 1  # double opt-in: the confirmation mail went to the sender


def test_audit_events_say_why(ws):
    for name in ("postfix-hard-bounce.eml", "exim-plain-bounce.eml", "microsoft-ndr.eml",
                 "arf-complaint.eml", "mailto-unsubscribe.eml", "postfix-soft-bounce.eml"):
        process_message(ws, sample(ws, name))
    [alice] = _inbound_events(ws, "alice")
    assert alice.kind == "bounced" and "5.1.1" in alice.detail and "2026-W47" in alice.detail
    [bob] = _inbound_events(ws, "bob")
    assert "5.1.1" in bob.detail and "bob@example.net" in bob.detail
    [dave] = _inbound_events(ws, "dave")
    assert "5.1.10" in dave.detail
    [erin] = _inbound_events(ws, "erin")
    assert erin.kind == "complained" and "feedback-type abuse" in erin.detail
    [frank] = _inbound_events(ws, "frank")
    assert frank.kind == "unsubscribed" and "mailto" in frank.detail
    [ivan] = _inbound_events(ws, "ivan")
    assert ivan.kind == "soft_bounce" and "4.2.2" in ivan.detail and "1 of 3" in ivan.detail


def test_feeding_the_same_files_twice_changes_nothing(ws, tmp_path, cli):
    folder = write_corpus(ws, tmp_path / "mail")
    assert cli("inbound", "process", str(folder)).exit_code == 0
    statuses = _statuses(ws)
    events = {name: len(events_of(ws, reader_id(ws, name))) for name in READERS}
    kept = len(list((ws.root / "inbound-rejected" / "new").iterdir()))
    second = cli("inbound", "process", str(folder), "--json")
    assert second.exit_code == 0, second.output
    assert {m["outcome"] for m in json.loads(second.output)["messages"]} == {"duplicate"}
    assert _statuses(ws) == statuses
    assert {name: len(events_of(ws, reader_id(ws, name))) for name in READERS} == events
    assert len(list((ws.root / "inbound-rejected" / "new").iterdir())) == kept


def test_a_copy_with_other_trace_headers_is_the_same_message(ws):
    raw = sample(ws, "postfix-hard-bounce.eml")
    assert process_message(ws, raw).outcome == "done"
    again = b"Received: from relay2.example.com by inbound.example.com; Tue, 24 Nov 2026 07:00:00 +0000\r\n" + raw
    assert process_message(ws, again, source="lmtp").outcome == "duplicate"


def test_unusable_mail_is_kept_aside_with_the_reason(ws):
    outcome = process_message(ws, sample(ws, "garbage.eml"), label="garbage.eml")
    assert outcome.outcome == "rejected" and outcome.kept_as
    kept = mailbox.Maildir(ws.root / "inbound-rejected", create=False)
    [message] = list(kept)
    assert "not a bounce" in message["X-Inbound-Rejected"]
    assert b"someone piped in by mistake" in message.as_bytes()


def test_soft_bounces_in_a_row_bounce_the_reader(ws):
    template = sample(ws, "postfix-soft-bounce.eml").decode()
    ivan = reader_id(ws, "ivan")
    from subscribers import verp

    first_verp = verp.bounce_sender(ws, ivan, 47)
    for number in (45, 46, 47):
        raw = template.replace(first_verp, verp.bounce_sender(ws, ivan, number))
        raw = raw.replace("4Kx3Bd0Hq7z9wR@", f"4Kx3Bd0Hq7z9w{number}@")
        process_message(ws, raw.encode())
        expected = "bounced" if number == 47 else "confirmed"
        assert get_subscriber(ws, ivan).status == expected
    last = _inbound_events(ws, "ivan")[-1]
    assert last.kind == "bounced" and "3 soft bounces in a row" in last.detail
    assert issue_feedback(ws, "2026-W46")["soft_bounces"] == 1


def test_a_forged_verp_token_is_not_believed(ws):
    raw = sample(ws, "postfix-hard-bounce.eml").decode()
    good = raw.split("Delivered-To: ", 1)[1].split("\n", 1)[0].strip()
    local, _, domain = good.partition("@")
    forged = local[:-3] + ("aaa" if not local.endswith("aaa") else "bbb") + "@" + domain
    raw = raw.replace(good, forged).replace("alice@example.org", "nobody@example.org")
    outcome = process_message(ws, raw.encode())
    assert outcome.outcome == "rejected" and "names no reader" in outcome.detail
    assert get_subscriber(ws, "alice@example.org").status == "confirmed"


def test_per_issue_figures(ws, tmp_path, cli):
    cli("inbound", "process", str(write_corpus(ws, tmp_path / "mail")))
    figures = issue_feedback(ws, "2026-W47")
    # alice, carol, dave, judy by VERP; bob's Exim bounce by the Message-ID of his copy
    assert figures["hard_bounces"] == 5
    assert figures["complaints"] == 1 and figures["soft_bounces"] == 2  # ivan, and kim's unconfirmed "no such user"
    assert issue_feedback(ws, "2026-W01")["bounces"] == 0


def test_status_shows_counts_figures_and_what_was_kept_aside(ws, tmp_path, cli):
    cli("inbound", "process", str(write_corpus(ws, tmp_path / "mail")))
    data = json.loads(cli("inbound", "status", "--json").output)
    assert data["by_outcome"] == {"done": 10, "ignored": 2, "rejected": 2}
    assert data["per_issue"]["2026-W47"]["complaints"] == 1
    reasons = " | ".join(row["detail"] for row in data["kept_aside"])
    assert "not a bounce" in reasons and "names no reader" not in reasons
    text = cli("inbound", "status").output
    assert "Messages processed: 10 done, 2 ignored, 2 rejected" in text
    assert "2026-W47" in text and "Kept aside in" in text


def test_the_inbound_tables_keep_no_reader_address(ws, tmp_path, cli):
    """Forgetting a reader erases their history; the per-issue figures must not keep their address."""
    cli("inbound", "process", str(write_corpus(ws, tmp_path / "mail")))
    rows = ws.db.execute("SELECT domain, detail FROM inbound_feedback").fetchall()
    assert ("example.org", ) in {(r[0],) for r in rows}
    text = " ".join(str(r) for r in rows)
    for email in READERS.values():
        assert email not in text
    assert "…@example.org" in text
