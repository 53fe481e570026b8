"""Confirmation and welcome mail over real SMTP (aiosmtpd on loopback), refusals included."""

from __future__ import annotations

import pytest
from smtp_sink import SmtpSink
from test_subscribers_helpers import link_token, parts

import subscribers
from newsletter.init import init_workspace
from subscribers.store import events_of


@pytest.fixture
def sink():
    with SmtpSink() as server:
        yield server


@pytest.fixture
def smtp_workspace(tmp_path, monkeypatch, sink):
    for key, value in sink.settings_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NEWSLETTER_DELIVERY_BOUNCE_ADDRESS", "bounces@example.com")
    monkeypatch.setenv("NEWSLETTER_DELIVERY_UNSUBSCRIBE_ADDRESS", "unsubscribe@example.com")
    ws = init_workspace(tmp_path / "smtp")
    yield ws
    ws.close()


def test_opt_in_over_smtp(smtp_workspace, sink):
    subscribers.subscribe(smtp_workspace, "Reader@Example.org", name="Reader")
    [confirmation] = sink.messages
    assert confirmation.mail_from == "bounces@example.com"
    assert confirmation.rcpt_tos == ("Reader@example.org",)
    message = confirmation.parse()
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    token = link_token(parts(message)[0], "confirm")

    reader = subscribers.confirm(smtp_workspace, token)
    welcome = sink.messages[-1].parse()
    assert welcome["Subject"].startswith("Welcome")
    mailto = f"<mailto:unsubscribe+{subscribers.compact_token(smtp_workspace, 'unsubscribe', reader.id)}@example.com>"
    assert mailto in welcome["List-Unsubscribe"]
    local = mailto.split("+", 1)[1].split("@", 1)[0]
    assert subscribers.read_compact_token(smtp_workspace, "unsubscribe", local) == (reader.id,)


def test_a_refused_confirmation_is_recorded_and_counts_against_the_limit(smtp_workspace, sink):
    sink.always("full@example.org", "452 4.2.2 Mailbox full")
    result = subscribers.register(smtp_workspace, "full@example.org")
    assert result.mail == "failed" and "Mailbox full" in result.mail_error
    reader = subscribers.get_subscriber(smtp_workspace, "full@example.org")
    assert [e.kind for e in events_of(smtp_workspace, reader.id)] == [
        "subscribed", "confirmation_sent", "confirmation_failed",
    ]
    sink.clear("full@example.org")
    assert subscribers.register(smtp_workspace, "full@example.org").mail == "throttled"
