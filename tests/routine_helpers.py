"""Helpers for the routine tests (no tests here): a fake clock in the site's zone, a blog folder, the Maildir."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from issue_fixtures import write_article

from newsletter import clock
from newsletter.init import init_workspace
from newsletter.workspace import Workspace

ZONE = ZoneInfo("America/New_York")  # the default [site] timezone
EDITOR = "editor@example.com"


class FakeClock:
    """Stands in for ``newsletter.clock.utcnow``; moves only when the test says."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)  # stored times are UTC, as the real clock gives them

    def set(self, local: str) -> None:
        """Jump to a local time (``"2026-11-23 09:00"``, site zone)."""
        self.now = datetime.fromisoformat(local).replace(tzinfo=ZONE)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def install_fake_clock(monkeypatch: pytest.MonkeyPatch, local: str) -> FakeClock:
    fake = FakeClock(datetime.fromisoformat(local).replace(tzinfo=ZONE))
    monkeypatch.setattr(clock, "utcnow", fake)
    monkeypatch.setattr("newsletter.articles.importer.utcnow", fake)  # "in the future" is judged by it
    return fake


def routine_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **schedule: str) -> Workspace:
    """A workspace whose ``[schedule]`` imports ``tmp_path/blog`` and test-sends to :data:`EDITOR`."""
    blog = tmp_path / "blog"
    blog.mkdir(exist_ok=True)
    settings = {"sources": str(blog), "editors": EDITOR, **schedule}
    for key, value in settings.items():
        monkeypatch.setenv(f"NEWSLETTER_SCHEDULE_{key.upper()}", value)
    init_workspace(tmp_path / "news").close()
    return Workspace(tmp_path / "news")


def publish(ws: Workspace, slug: str, title: str, local: str, body: str | None = None,
            tags: list[str] | None = None) -> Path:
    """Write an article into the blog folder the schedule imports, dated ``local`` (site zone)."""
    date = datetime.fromisoformat(local).replace(tzinfo=ZONE).isoformat()
    return write_article(ws.root.parent / "blog", slug, title, date, body=body, tags=tags)


def mailbox_messages(ws: Workspace) -> list[EmailMessage]:
    folder = ws.path(ws.settings.delivery.maildir)
    if not folder.exists():
        return []
    box = mailbox.Maildir(folder, create=False)
    return [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.keys()]


def mail_to(ws: Workspace, address: str, *, test: bool | None = None) -> list[EmailMessage]:
    """Messages to ``address``; ``test`` picks editors' test copies (True) or real mail (False)."""
    found = [m for m in mailbox_messages(ws) if address.lower() in str(m.get("To", "")).lower()]
    if test is not None:
        found = [m for m in found if (m.get("X-Newsletter-Test") == "yes") == test]
    return found


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()
