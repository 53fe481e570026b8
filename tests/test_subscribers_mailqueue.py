"""The confirmation/welcome mail queue: deferred and immediate sends, retries, forget, the cached render."""

from __future__ import annotations

import pytest
from test_subscribers_helpers import install_clock, link_token, parts, sent_mail

import subscribers
from newsletter.db import write_transaction
from newsletter.transports import TransportError
from newsletter.transports.base import Transport
from newsletter.workspace import Workspace
from subscribers.mailqueue import drain, enqueue, queued, send_held, send_queued
from subscribers.store import events_of


class Refusing(Transport):
    def __init__(self, code: int) -> None:
        self.code = code

    def send(self, sender, recipients, message):
        raise TransportError(self.code, "refused for the test")


def test_deferred_sign_up_queues_and_a_drain_sends_once(workspace: Workspace) -> None:
    result = subscribers.register(workspace, "later@example.com", defer_mail=True)
    assert result.mail == "queued" and sent_mail(workspace) == [] and queued(workspace) == 1
    # the rate limit counts the queued mail: a second sign-up queues nothing
    assert subscribers.register(workspace, "later@example.com", defer_mail=True).mail == "throttled"
    assert drain(workspace)["sent"] == 1 and queued(workspace) == 0
    assert drain(workspace)["sent"] == 0
    [mail] = sent_mail(workspace)
    assert subscribers.confirm(workspace, link_token(parts(mail)[0], "confirm")).newly_confirmed


def test_the_default_still_sends_before_returning(workspace: Workspace) -> None:
    assert subscribers.register(workspace, "now@example.com").mail == "sent"
    assert len(sent_mail(workspace)) == 1 and queued(workspace) == 0


def test_a_worker_never_takes_a_mail_its_caller_sends_itself(workspace: Workspace) -> None:
    """A synchronous sign-up in the web process: the app's queue worker must not race it for the row."""
    subscribers.register(workspace, "held@example.com", defer_mail=True)
    drain(workspace)
    reader = subscribers.get_subscriber(workspace, "held@example.com").id
    db = workspace.db
    with write_transaction(db):
        row = enqueue(db, reader, "confirmation", hold=True)
    assert drain(workspace)["sent"] == 0 and queued(workspace) == 1  # leased to the caller
    assert send_held(workspace, [row]) == {row: None}
    assert queued(workspace) == 0 and len(sent_mail(workspace)) == 2


def test_a_temporary_refusal_is_retried_later_and_a_permanent_one_dropped(workspace: Workspace, monkeypatch) -> None:
    clock = install_clock(monkeypatch)
    subscribers.register(workspace, "soft@example.com", defer_mail=True)
    subscribers.register(workspace, "hard@example.com", defer_mail=True)
    soft, hard = (subscribers.get_subscriber(workspace, a).id for a in ("soft@example.com", "hard@example.com"))
    [soft_row, hard_row] = [r[0] for r in workspace.db.execute("SELECT id FROM mail_queue ORDER BY id")]
    assert send_queued(workspace, [soft_row], Refusing(451))[soft_row]
    assert send_queued(workspace, [hard_row], Refusing(550))[hard_row]
    assert queued(workspace) == 1  # the 451 waits for its retry; the 550 is given up
    assert events_of(workspace, hard)[-1].kind == "confirmation_failed"
    assert drain(workspace)["sent"] == 0  # not due yet
    clock.advance(minutes=2)
    assert drain(workspace)["sent"] == 1 and queued(workspace) == 0
    [mail] = sent_mail(workspace)
    assert mail["To"] == "soft@example.com"
    assert [e.kind for e in events_of(workspace, soft)][-1] == "confirmation_failed"


def test_no_queued_mail_reaches_a_reader_who_confirmed_or_was_forgotten(workspace: Workspace) -> None:
    subscribers.register(workspace, "quick@example.com", defer_mail=True)
    subscribers.register(workspace, "erase@example.com", defer_mail=True)
    quick = subscribers.get_subscriber(workspace, "quick@example.com").id
    subscribers.confirm(workspace, subscribers.make_token(workspace, "confirm", quick), defer_mail=True)
    subscribers.forget(workspace, subscribers.get_subscriber(workspace, "erase@example.com").id, source="cli")
    assert drain(workspace)["sent"] == 2  # the stale confirmation counts as done, nothing is mailed for it
    assert [m["Subject"].split()[0] for m in sent_mail(workspace)] == ["Welcome"]
    assert queued(workspace) == 0


@pytest.mark.parametrize("stem", ["confirm", "welcome"])
def test_the_cached_render_matches_a_full_render(workspace: Workspace, stem: str) -> None:
    from subscribers.mailer import _context, _render_both, render_with_link

    context = _context(workspace, expiry_days=7)
    field = "confirm_url" if stem == "confirm" else "unsubscribe_url"
    for link in ("https://news.example.com/t/abc", "https://news.example.com/t/a&b'c\"d"):
        first = render_with_link(workspace, stem, context, field, link)
        assert first == render_with_link(workspace, stem, context, field, link)  # from the cache
        assert first == _render_both(workspace, stem, {**context, field: link})
