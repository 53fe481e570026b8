"""The reader's lifecycle: subscribe, confirm, welcome, leave, come back; mail content; forget."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter

import pytest
from test_subscribers_helpers import MovableClock, install_clock, link_token, parts, sent_mail

import subscribers
from newsletter.errors import ConfigError, InvalidInput, NotFound
from subscribers import BadToken, SubscribeOutcome
from subscribers.addresses import validate_address
from subscribers.schema import database
from subscribers.store import events_of
from subscribers.verp import parse_unsubscribe_address


@pytest.fixture
def moving_clock(monkeypatch: pytest.MonkeyPatch) -> MovableClock:
    return install_clock(monkeypatch)


def kinds(ws, reader_id: int) -> list[str]:
    return [event.kind for event in events_of(ws, reader_id)]


def test_whole_lifecycle(workspace, moving_clock):
    outcome = subscribers.subscribe(
        workspace, " Jane@Example.COM ", name="Jane", ip="203.0.113.7", user_agent="Firefox",
        consent_text="Send me the weekly notes.",
    )
    assert outcome == SubscribeOutcome()
    reader = subscribers.get_subscriber(workspace, "jane@example.com")
    assert (reader.email, reader.name, reader.status) == ("Jane@example.com", "Jane", "pending")
    assert not subscribers.is_confirmed(workspace, reader.id)

    [confirmation] = sent_mail(workspace)
    assert confirmation["To"] == "Jane@example.com"
    assert confirmation.get_content_type() == "multipart/alternative"
    assert confirmation["Message-ID"].endswith("@example.com>")
    assert confirmation["Date"]
    text, html = parts(confirmation)
    token = link_token(text, "confirm")
    assert link_token(html, "confirm") == token
    assert f"https://news.example.com/confirm/{token}" in text

    moving_clock.advance(hours=2)
    confirmed = subscribers.confirm(workspace, token, ip="203.0.113.8", user_agent="Firefox")
    assert confirmed.status == "confirmed" and confirmed.newly_confirmed
    assert confirmed.confirmed_at == "2026-11-24T10:00:00+00:00"
    assert subscribers.is_confirmed(workspace, reader.id)
    assert list(subscribers.iter_confirmed(workspace)) == [(reader.id, "Jane@example.com", "Jane")]

    welcome = sent_mail(workspace)[-1]
    assert welcome["Subject"].startswith("Welcome")
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_link = subscribers.unsubscribe_url(workspace, reader.id)
    assert f"<{unsubscribe_link}>" in welcome["List-Unsubscribe"]
    assert unsubscribe_link in parts(welcome)[0]
    # The same mailto as an issue carries, which the inbound side reads back to this reader.
    [mailto] = re.findall(r"<mailto:([^>]+)>", welcome["List-Unsubscribe"])
    assert mailto.startswith("unsubscribe+") and mailto.endswith("@example.com")
    assert parse_unsubscribe_address(workspace, mailto) == reader.id

    # A second click on the same link: already confirmed, no error, no second welcome.
    again = subscribers.confirm(workspace, token)
    assert again.status == "confirmed" and not again.newly_confirmed
    assert len(sent_mail(workspace)) == 2

    consent = [e for e in events_of(workspace, reader.id) if e.kind == "confirmed"][0]
    assert (consent.ip, consent.user_agent, consent.consent_text) == ("203.0.113.8", "Firefox", "Send me the weekly notes.")
    signup = events_of(workspace, reader.id)[0]
    assert (signup.kind, signup.ip, signup.consent_text) == ("subscribed", "203.0.113.7", "Send me the weekly notes.")

    left_id = subscribers.read_token(workspace, link_token(parts(welcome)[0], "unsubscribe"), "unsubscribe")
    left = subscribers.unsubscribe(workspace, left_id, source="link", ip="203.0.113.9")
    assert left.status == "unsubscribed" and not subscribers.is_confirmed(workspace, reader.id)
    subscribers.unsubscribe(workspace, left_id, source="link")  # idempotent: no second event
    assert kinds(workspace, reader.id) == [
        "subscribed", "confirmation_sent", "confirmed", "welcome_sent", "unsubscribed",
    ]
    # The old confirmation link cannot bring a reader back after they left.
    with pytest.raises(BadToken) as excinfo:
        subscribers.confirm(workspace, token)
    assert excinfo.value.reason == "expired"

    # Coming back goes through confirmation again, with a new link; the old one stays dead.
    moving_clock.advance(minutes=1)
    subscribers.subscribe(workspace, "jane@example.com")
    assert subscribers.get_subscriber(workspace, reader.id).status == "pending"
    new_token = link_token(parts(sent_mail(workspace)[-1])[0], "confirm")
    assert new_token != token
    with pytest.raises(BadToken):
        subscribers.confirm(workspace, token)
    assert subscribers.confirm(workspace, new_token).status == "confirmed"


def test_each_status_change_is_one_event_in_the_same_transaction(workspace):
    subscribers.subscribe(workspace, "sam@example.com", source="cli", confirmed=True, consent_text="workshop sheet")
    reader = subscribers.get_subscriber(workspace, "sam@example.com")
    subscribers.mark_bounced(workspace, reader.id, source="inbound", detail="550 5.1.1 no such user")
    subscribers.mark_bounced(workspace, reader.id, source="inbound", detail="again")
    subscribers.mark_complained(workspace, reader.id, source="inbound", detail="ARF report")
    subscribers.unsubscribe(workspace, reader.id, source="link")  # a complaint stays a complaint
    history = events_of(workspace, reader.id)
    assert [(e.kind, e.status) for e in history] == [
        ("added", "confirmed"), ("bounced", "bounced"), ("complained", "complained"),
    ]
    assert history[1].detail == "550 5.1.1 no such user"
    assert subscribers.get_subscriber(workspace, reader.id).status == "complained"


def test_events_are_append_only(workspace):
    subscribers.subscribe(workspace, "ann@example.com")
    db = database(workspace)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("DELETE FROM subscriber_events")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE subscriber_events SET kind = 'confirmed'")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE subscriber_events SET ip = '10.0.0.1'")


def test_enumeration_resistance(workspace):
    """New, pending, confirmed, unsubscribed and forgotten addresses all get the same answer."""
    subscribers.subscribe(workspace, "pending@example.com")
    subscribers.subscribe(workspace, "confirmed@example.com", source="cli", confirmed=True, consent_text="x")
    subscribers.subscribe(workspace, "left@example.com", source="cli", confirmed=True, consent_text="x")
    left = subscribers.get_subscriber(workspace, "left@example.com")
    subscribers.unsubscribe(workspace, left.id, source="link")
    subscribers.subscribe(workspace, "gone@example.com")
    subscribers.forget(workspace, "gone@example.com")
    before = Counter(m["To"] for m in sent_mail(workspace))
    answers = {
        address: subscribers.subscribe(workspace, address, name="Spam Bot http://spam.example")
        for address in ("new@example.com", "pending@example.com", "confirmed@example.com",
                        "left@example.com", "gone@example.com")
    }
    assert len(set(answers.values())) == 1
    assert len({repr(a) for a in answers.values()}) == 1 and len({str(a.as_dict()) for a in answers.values()}) == 1
    # The confirmed reader was not disturbed; the forgotten one was neither re-created nor mailed.
    assert subscribers.get_subscriber(workspace, "confirmed@example.com").status == "confirmed"
    with pytest.raises(NotFound):
        subscribers.get_subscriber(workspace, "gone@example.com")
    after = Counter(m["To"] for m in sent_mail(workspace))
    assert sorted((after - before).elements()) == ["left@example.com", "new@example.com"]


def test_confirmation_mail_never_echoes_the_name(workspace):
    subscribers.subscribe(workspace, "victim@example.com", name="Buy pills at spam.example")
    [message] = sent_mail(workspace)
    text, html = parts(message)
    raw = message.as_string()
    for body in (text, html, raw):
        assert "pills" not in body and "spam.example" not in body


def test_confirmation_mail_rate_limit(workspace, moving_clock):
    def mails_to(address):
        return [m for m in sent_mail(workspace) if m["To"] == address]

    subscribers.subscribe(workspace, "eve@example.com")
    subscribers.subscribe(workspace, "eve@example.com")  # at once: none
    moving_clock.advance(minutes=9)
    subscribers.subscribe(workspace, "EVE@example.com")  # still within 10 minutes
    assert len(mails_to("eve@example.com")) == 1
    moving_clock.advance(minutes=2)
    subscribers.subscribe(workspace, "eve@example.com")
    moving_clock.advance(minutes=11)
    subscribers.subscribe(workspace, "eve@example.com")
    assert len(mails_to("eve@example.com")) == 3
    for _ in range(5):  # the day's three are used up
        moving_clock.advance(minutes=30)
        assert subscribers.register(workspace, "eve@example.com").mail == "throttled"
    assert len(mails_to("eve@example.com")) == 3
    moving_clock.advance(hours=22)  # 24 hours after the first
    assert subscribers.register(workspace, "eve@example.com").mail == "sent"
    # Another address is not affected by eve's limit.
    assert subscribers.register(workspace, "bob@example.com").mail == "sent"


def test_welcome_mail_can_be_switched_off(tmp_path, monkeypatch):
    from newsletter.init import init_workspace

    monkeypatch.setenv("NEWSLETTER_SUBSCRIBERS_WELCOME", "false")
    ws = init_workspace(tmp_path / "quiet")
    subscribers.subscribe(ws, "kim@example.com")
    token = link_token(parts(sent_mail(ws)[0])[0], "confirm")
    assert subscribers.confirm(ws, token).newly_confirmed
    assert len(sent_mail(ws)) == 1
    ws.close()


def test_normalisation_makes_one_reader(workspace):
    for spelling in ("Jane@Example.COM", "jane@example.com", "JANE@EXAMPLE.com"):
        subscribers.subscribe(workspace, spelling)
    rows = database(workspace).execute("SELECT email, email_normalized FROM subscribers").fetchall()
    assert rows == [("Jane@example.com", "jane@example.com")]
    idn = validate_address("Jöhn@BÜCHER.de")
    assert idn.normalized == "jöhn@xn--bcher-kva.de"
    assert validate_address("jöhn@xn--bcher-kva.de").normalized == idn.normalized


@pytest.mark.parametrize(
    "address",
    ["jane@example.com\r\nBcc: all@example.com", "jane@example.com\n", "ja\x00ne@example.com", "jane@exa\u2028mple.com"],
)
def test_line_breaks_and_controls_are_refused_in_addresses(workspace, address):
    with pytest.raises(InvalidInput, match="line break"):
        subscribers.subscribe(workspace, address)
    assert database(workspace).execute("SELECT COUNT(*) FROM subscribers").fetchone()[0] == 0


@pytest.mark.parametrize("address", ["", "jane", "jane@", "@example.com", "jane@@example.com", "jane@localhost",
                                     "a" * 250 + "@example.com", "jane@exam ple.com", "jane@invalid"])
def test_invalid_addresses_are_refused(workspace, address):
    with pytest.raises(InvalidInput):
        subscribers.subscribe(workspace, address)


def test_line_breaks_are_refused_in_names(workspace):
    with pytest.raises(InvalidInput, match="name"):
        subscribers.subscribe(workspace, "ok@example.com", name="Jane\r\nBcc: x@example.com")
    assert database(workspace).execute("SELECT COUNT(*) FROM subscribers").fetchone()[0] == 0


def test_confirmed_add_needs_consent_and_never_reactivates(workspace):
    with pytest.raises(InvalidInput, match="consent"):
        subscribers.subscribe(workspace, "x@example.com", source="cli", confirmed=True)
    subscribers.subscribe(workspace, "x@example.com", source="cli", confirmed=True, consent_text="fair stand")
    reader = subscribers.get_subscriber(workspace, "x@example.com")
    subscribers.unsubscribe(workspace, reader.id, source="link")
    result = subscribers.register(workspace, "x@example.com", source="cli", confirmed=True, consent_text="again")
    assert result.action == "left"
    assert subscribers.get_subscriber(workspace, reader.id).status == "unsubscribed"


def test_forget_erases_personal_data_and_blocks_readding(workspace):
    subscribers.subscribe(workspace, "fred@example.com", name="Fred", ip="198.51.100.1", user_agent="Safari")
    reader = subscribers.get_subscriber(workspace, "fred@example.com")
    unsubscribe_token = subscribers.make_token(workspace, "unsubscribe", reader.id)
    assert subscribers.forget(workspace, "Fred@Example.com") == reader.id
    db = database(workspace)
    row = db.execute("SELECT email, email_normalized, name, status FROM subscribers WHERE id = ?", [reader.id]).fetchone()
    assert row == (None, None, None, "unsubscribed")
    dump = "\n".join(db.conn.iterdump())
    for personal in ("fred", "Fred", "198.51.100.1", "Safari"):
        assert personal not in dump
    assert kinds(workspace, reader.id)[-1] == "forgotten"
    with pytest.raises(BadToken) as excinfo:
        subscribers.read_token(workspace, unsubscribe_token, "unsubscribe")
    assert excinfo.value.reason == "unknown_reader"
    assert subscribers.register(workspace, "fred@example.com").action == "suppressed"
    assert subscribers.register(workspace, "fred@example.com", source="cli", confirmed=True, consent_text="x").action == "suppressed"
    # Never-seen addresses can be put on the list too.
    assert subscribers.forget(workspace, "stranger@example.com") is None
    assert subscribers.register(workspace, "stranger@example.com").action == "suppressed"


def test_mail_failure_is_recorded_not_raised(workspace, monkeypatch):
    from newsletter.transports import TransportError
    from subscribers import mailer

    def refuse(*args, **kwargs):
        raise TransportError(451, "try again later")

    monkeypatch.setattr(mailer, "_deliver", refuse)
    outcome = subscribers.subscribe(workspace, "slow@example.com")
    assert outcome == SubscribeOutcome()
    reader = subscribers.get_subscriber(workspace, "slow@example.com")
    assert kinds(workspace, reader.id) == ["subscribed", "confirmation_sent", "confirmation_failed"]


def test_forget_hooks_run_in_the_same_transaction(workspace):
    from subscribers.forgetting import _HOOKS

    seen = []

    def erase_elsewhere(ws, db, traces):
        assert ws is workspace
        seen.append((traces.subscriber_id, traces.normalized))
        if traces.normalized.startswith("fail"):
            raise RuntimeError("the other store refused")

    subscribers.on_forget(erase_elsewhere)
    try:
        subscribers.subscribe(workspace, "Hook@example.com")
        subscribers.subscribe(workspace, "fail@example.com")
        reader = subscribers.get_subscriber(workspace, "hook@example.com")
        subscribers.forget(workspace, reader.id)
        assert seen == [(reader.id, "hook@example.com")]
        with pytest.raises(RuntimeError):
            subscribers.forget(workspace, "fail@example.com")
        # Rolled back as a whole: still there, not suppressed.
        assert subscribers.get_subscriber(workspace, "fail@example.com").email == "fail@example.com"
        assert subscribers.register(workspace, "fail@example.com").action == "pending"
    finally:
        _HOOKS.remove(erase_elsewhere)


def test_internationalised_addresses_are_mailed(workspace):
    subscribers.subscribe(workspace, "jane@BÜCHER.de")
    subscribers.subscribe(workspace, "jöhn@bücher.de")
    recipients = sorted(m["To"] for m in sent_mail(workspace))
    assert recipients == ["jane@xn--bcher-kva.de", "jöhn@bücher.de"]


def test_deliverability_check_follows_the_setting(tmp_path, monkeypatch):
    """With [subscribers] check_deliverability the DNS check is asked for (here answered by a stand-in)."""
    import email_validator

    from newsletter.init import init_workspace
    from subscribers import addresses

    asked = []

    def no_mail_server(address, **options):
        asked.append(options.get("check_deliverability"))
        if options.get("check_deliverability"):
            raise email_validator.EmailUndeliverableError("The domain name nomx.example does not accept email.")
        return email_validator.validate_email(address, **options)

    monkeypatch.setattr(addresses, "validate_email", no_mail_server)
    addresses._ascii_domain.cache_clear()
    monkeypatch.setenv("NEWSLETTER_SUBSCRIBERS_CHECK_DELIVERABILITY", "true")
    ws = init_workspace(tmp_path / "dns")
    with pytest.raises(InvalidInput, match="does not accept email"):
        subscribers.subscribe(ws, "someone@nomx.example")
    assert asked == [True]
    monkeypatch.delenv("NEWSLETTER_SUBSCRIBERS_CHECK_DELIVERABILITY")
    plain = init_workspace(tmp_path / "plain")
    subscribers.subscribe(plain, "someone@nomx.example")
    assert asked == [True]  # without the setting no DNS check is asked for (a plain domain is checked by shape)
    addresses._ascii_domain.cache_clear()
    ws.close()
    plain.close()


def test_stats_count_weeks_in_the_site_time_zone(workspace, moving_clock):
    from subscribers.stats import subscriber_stats

    moving_clock.now = moving_clock.now.replace(day=30, hour=3)  # Monday 03:00 UTC = Sunday 22:00 in New York
    subscribers.subscribe(workspace, "late@example.com", source="cli", confirmed=True, consent_text="x")
    moving_clock.advance(hours=6)  # Monday 04:00 in New York: the next ISO week
    subscribers.subscribe(workspace, "early@example.com", source="cli", confirmed=True, consent_text="x")
    reader = subscribers.get_subscriber(workspace, "late@example.com")
    subscribers.unsubscribe(workspace, reader.id, source="link")
    weeks = {w["week"]: (w["signups"], w["leavers"]) for w in subscriber_stats(workspace)["weeks"]}
    assert weeks == {"2026-W48": (1, 0), "2026-W49": (1, 1)}


def test_mail_headers_refuse_line_breaks(workspace, tmp_path, monkeypatch):
    from newsletter.init import init_workspace
    from subscribers.mailer import build_message

    with pytest.raises(InvalidInput, match="Subject"):
        build_message(workspace, to="a@example.com", subject="Hi\r\nBcc: all@example.com", text="t", html="<p>h</p>")
    monkeypatch.setenv("NEWSLETTER_SITE_FROM", "News <news@example.com>\nBcc: all@example.com")
    try:  # the settings loader may refuse it first; else the mail fails and the answer does not change
        broken = init_workspace(tmp_path / "broken")
        outcome = subscribers.subscribe(broken, "reader@example.com")
    except ConfigError as exc:
        assert "line break" in str(exc)
        return
    assert outcome == SubscribeOutcome() and sent_mail(broken) == []
    reader = subscribers.get_subscriber(broken, "reader@example.com")
    failed = events_of(broken, reader.id)[-1]
    assert failed.kind == "confirmation_failed" and "line break" in failed.detail
    broken.close()


def test_iter_confirmed_pages_through_in_id_order(workspace, monkeypatch, tmp_path):
    from subscribers import store
    from subscribers.importer import import_csv

    monkeypatch.setattr(store, "ITER_BATCH", 2)
    path = tmp_path / "list.csv"
    path.write_text("email\n" + "".join(f"r{i}@example.com\n" for i in range(7)))
    import_csv(workspace, path, confirmed=True, consent="test")
    leaving = subscribers.get_subscriber(workspace, "r5@example.com").id
    seen = []
    for _, email, _ in subscribers.iter_confirmed(workspace):
        seen.append(email)
        if email == "r2@example.com":  # leaves while a send is walking the list
            subscribers.unsubscribe(workspace, leaving, source="link")
    assert seen == [f"r{i}@example.com" for i in (0, 1, 2, 3, 4, 6)]
