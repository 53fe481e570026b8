"""What other packages ask of the reader list: the send's snapshot, contacts, a status, an audit note."""

from __future__ import annotations

import pytest

import subscribers
from newsletter.db import write_transaction
from subscribers.store import events_of


def test_the_snapshot_takes_exactly_the_readers_confirmed_now(workspace):
    from issues.send import outbox_db

    for n in range(5):
        subscribers.register(workspace, f"r{n}@example.org", name=f"R{n}", source="import",
                             confirmed=n != 2, consent_text="signed up at the expo")
    gone = subscribers.get_subscriber(workspace, "r4@example.org").id
    subscribers.unsubscribe(workspace, gone, source="link")
    db = outbox_db(workspace)
    values = {"issue_id": "2026-W47", "status": "pending", "updated_at": "2026-11-23T08:00:00+00:00"}
    with write_transaction(db):
        assert subscribers.snapshot_confirmed(workspace, "outbox", "subscriber_id", values) == 3
    with write_transaction(db):
        assert subscribers.snapshot_confirmed(workspace, "outbox", "subscriber_id", values) == 0  # once per reader
    assert [r[0] for r in db.execute("SELECT subscriber_id FROM outbox ORDER BY id")] == [1, 2, 4]
    assert subscribers.count_confirmed(workspace) == 3
    with pytest.raises(ValueError, match="not a plain table"):
        subscribers.snapshot_confirmed(workspace, "outbox; DROP TABLE outbox", "subscriber_id", values)


def test_contacts_status_and_a_note(workspace):
    subscribers.register(workspace, "a@example.org", name="Ann", source="import", confirmed=True, consent_text="x")
    subscribers.register(workspace, "b@example.org", source="import", confirmed=True, consent_text="x")
    subscribers.forget(workspace, "b@example.org")
    assert subscribers.contacts_of(workspace, [1, 2, 99]) == {1: ("a@example.org", "Ann"), 2: (None, None)}
    assert (subscribers.status_of(workspace, 1), subscribers.status_of(workspace, 99)) == ("confirmed", None)
    subscribers.note_event(workspace, 1, "soft_bounce", source="inbound", detail="soft bounce 1 of 3")
    last = events_of(workspace, 1)[-1]
    assert (last.kind, last.status, last.source, last.detail) == ("soft_bounce", "confirmed", "inbound",
                                                                  "soft bounce 1 of 3")
    assert subscribers.get_subscriber(workspace, 1).status == "confirmed"  # a note changes no status
