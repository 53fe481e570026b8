"""Forgetting a reader reaches the inbound store: wording masked, kept-aside copies deleted."""

from __future__ import annotations

import mailbox

import pytest
from inbound_helpers import READERS, inbound_workspace, make_dsn, reader_id, sample

import subscribers
from issues.inbound import process_message
from issues.inbound.erase import ERASED_NOTE
from issues.inbound.store import database
from newsletter.errors import NotFound

HEIDI = READERS["heidi"]
ORIGINAL = f"From: news@example.com\nTo: {HEIDI}\nSubject: x\nMessage-ID: <unknown@nowhere>\n\nhi\n".encode()


@pytest.fixture
def ws(workspace):
    return inbound_workspace(workspace.root)


def _kept(ws) -> list[bytes]:
    folder = ws.path(ws.settings.inbound.rejected_maildir)
    return [bytes(m) for m in mailbox.Maildir(folder, create=True)]


def _texts(ws) -> str:
    db = database(ws)
    rows = db.execute("SELECT COALESCE(detail, '') || COALESCE(label, '') FROM inbound_messages").fetchall()
    rows += db.execute("SELECT COALESCE(detail, '') FROM inbound_feedback").fetchall()
    return "\n".join(r[0] for r in rows).lower()


def test_forget_erases_the_reader_from_kept_aside_mail_and_inbound_rows(ws):
    unsigned = process_message(ws, make_dsn("news@example.com", HEIDI, ORIGINAL))  # names her, unsigned
    stray = process_message(ws, b"From: Heidi <Heidi@Example.org>\nTo: news@example.com\nSubject: hello\n"
                                b"Message-ID: <s1@example.org>\n\nCall me.\n")
    garbage = process_message(ws, sample(ws, "garbage.eml"))
    assert [o.outcome for o in (unsigned, stray, garbage)] == ["rejected"] * 3
    assert HEIDI in _texts(ws) and sum(HEIDI.encode() in m.lower() for m in _kept(ws)) == 2

    subscribers.forget(ws, reader_id(ws, "heidi"))

    assert HEIDI not in _texts(ws)
    assert all(HEIDI.encode() not in m.lower() for m in _kept(ws))
    assert len(_kept(ws)) == 1  # the garbage message, which does not name her, stays
    rows = database(ws).execute("SELECT kept_as, detail FROM inbound_messages WHERE outcome = 'rejected'").fetchall()
    assert sum(kept is None and ERASED_NOTE in detail for kept, detail in rows) == 2
    assert sum(kept is not None for kept, _ in rows) == 1



def test_forget_masks_the_address_in_the_send_outbox(ws):
    from issues.send import outbox_db

    heidi = reader_id(ws, "heidi")
    outbox_db(ws).execute(
        "INSERT INTO outbox (issue_id, subscriber_id, status, attempts, code, detail, updated_at) "
        "VALUES ('2026-W46', ?, 'failed', 1, 550, ?, '2026-11-20T10:00:00+00:00')",
        [heidi, f"550 5.1.1 <{HEIDI.upper()}>: Recipient address rejected"],
    )
    subscribers.forget(ws, heidi)
    [detail] = outbox_db(ws).execute("SELECT detail FROM outbox WHERE issue_id = '2026-W46'").fetchone()
    assert detail == "550 5.1.1 <…>: Recipient address rejected"


def test_inbound_status_shows_a_deleted_copy_as_deleted(ws, cli):
    process_message(ws, b"From: heidi@example.org\nTo: news@example.com\nSubject: my phone is 555-0100\n"
                        b"Message-ID: <h2@example.org>\n\nhello\n")
    subscribers.forget(ws, "heidi@example.org")
    result = cli("inbound", "status")
    assert result.exit_code == 0, result.output
    assert "(deleted)" in result.output and ERASED_NOTE in result.output
    assert "555-0100" not in result.output and "None" not in result.output


def test_forget_erases_the_subscribe_subject_and_base64_mentions(ws):
    process_message(ws, sample(ws, "subscribe-request.eml"))
    grace = subscribers.get_subscriber(ws, "grace.lee@example.net")
    encoded = (b"From: someone@example.com\nTo: news@example.com\nSubject: fwd\nMessage-ID: <b64@example.com>\n"
               b"MIME-Version: 1.0\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
               b"R3JhY2UuTGVlQGV4YW1wbGUubmV0IHdyb3RlIHRoaXM=\n")  # "Grace.Lee@example.net wrote this"
    assert process_message(ws, encoded).outcome == "rejected"
    assert "weekly notes" in _texts(ws)

    subscribers.forget(ws, grace.id)

    assert "weekly notes" not in _texts(ws)  # the subject she typed
    assert _kept(ws) == []


def test_forgetting_an_address_that_was_never_a_reader_deletes_its_stray_mail(ws):
    process_message(ws, b"From: stranger@example.com\nTo: news@example.com\nSubject: hi\n"
                        b"Message-ID: <x1@example.com>\n\nPlease forget me.\n")
    assert len(_kept(ws)) == 1
    assert subscribers.forget(ws, "Stranger@Example.com") is None
    assert _kept(ws) == []


def test_forget_works_before_any_mail_came_back(workspace):
    subscribers.subscribe(workspace, "early@example.com")
    assert subscribers.forget(workspace, "early@example.com") is not None


def test_a_forgotten_reader_asking_to_subscribe_by_mail_is_not_kept(ws):
    raw = sample(ws, "subscribe-request.eml")
    subscribers.forget(ws, "grace.lee@example.net")  # never a reader: suppressed
    outcome = process_message(ws, raw)
    assert (outcome.outcome, outcome.kind) == ("ignored", "subscribe")
    assert "grace" not in outcome.detail.lower() and outcome.kept_as is None
    assert _kept(ws) == []
    with pytest.raises(NotFound):
        subscribers.get_subscriber(ws, "grace.lee@example.net")
