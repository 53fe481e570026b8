"""Helpers for the subscriber tests (no tests here): a movable clock, a look into the Maildir."""

from __future__ import annotations

import email
import email.policy
import mailbox
from datetime import UTC, datetime, timedelta

import pytest

from newsletter import clock
from newsletter.workspace import Workspace


class MovableClock:
    """Stands in for ``newsletter.clock.utcnow``; tokens, rate limits and timestamps follow it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def install_clock(monkeypatch: pytest.MonkeyPatch) -> MovableClock:
    """Time starts at 2026-11-24 08:00 UTC and moves only when the test says."""
    movable = MovableClock(START)
    monkeypatch.setattr(clock, "utcnow", movable)
    return movable


def sent_mail(ws: Workspace) -> list[email.message.EmailMessage]:
    """Every message the Maildir transport has written, oldest first."""
    box = mailbox.Maildir(ws.path(ws.settings.delivery.maildir), create=True)
    messages = [
        email.message_from_bytes(box.get_bytes(key), policy=email.policy.default) for key in box.keys()
    ]
    return sorted(messages, key=lambda m: (email.utils.parsedate_to_datetime(m["Date"])))


def parts(message: email.message.EmailMessage) -> tuple[str, str]:
    """(plain text, html) of a multipart/alternative message."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def link_token(text: str, kind: str) -> str:
    """The token of the first ``/<kind>/<token>`` link in ``text``."""
    marker = f"/{kind}/"
    start = text.index(marker) + len(marker)
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in "\"'<>":
        end += 1
    return text[start:end]


def error_of(cli, capsys, *args: str) -> str:
    """Run a command that must fail the way every command fails: one line on stderr, exit 1."""
    from cli import main
    from newsletter.console import run

    with pytest.raises(SystemExit) as exit_info:
        run(main, ["--workspace", str(cli.ws.root), *args])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    return err
