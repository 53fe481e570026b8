"""Helpers for the send tests: a workspace with a built issue and confirmed readers, pointed at a sink."""

from __future__ import annotations

from pathlib import Path

from issue_fixtures import ten_article_week
from smtp_sink import SmtpSink

from newsletter.workspace import Workspace

ISSUE = "2026-W47"
CONSENT = "Yes, send me the weekly newsletter (added by the send tests)."


def build_issue(ws: Workspace) -> str:
    from issues.build import build_issue as build

    ten_article_week(ws)
    return build(ws, ISSUE).id


def add_readers(ws: Workspace, count: int, *, start: int = 0, domain: str = "readers.example.org") -> list[int]:
    """``count`` confirmed readers ``reader<n>@domain`` (names alternate plain / accented / none)."""
    from subscribers import register

    ids = []
    for n in range(start, start + count):
        name = [f"Reader {n}", f"Zoë Ångström {n}", None][n % 3]
        outcome = register(ws, f"reader{n}@{domain}", name=name, source="import", consent_text=CONSENT,
                           confirmed=True)
        ids.append(outcome.subscriber_id)
    return ids


def smtp_workspace(root: Path, sink: SmtpSink, **delivery: object) -> Workspace:
    """A workspace (re)opened at ``root`` with its transport pointed at ``sink`` and quick retries.

    Keyword arguments set ``[delivery]`` keys, or ``[smtp]`` keys when named ``smtp_<key>``.
    """
    env = {
        **sink.settings_env(),
        "NEWSLETTER_DELIVERY_RETRY_DELAY": "0.02",
        "NEWSLETTER_DELIVERY_DEFER_DELAY": "0.05",  # greylisting-friendly minutes in real life
        **{f"NEWSLETTER_DELIVERY_{k.upper()}": str(v) for k, v in delivery.items() if not k.startswith("smtp_")},
        **{f"NEWSLETTER_{k.upper()}": str(v) for k, v in delivery.items() if k.startswith("smtp_")},
    }
    import os

    return Workspace(root, environ={**os.environ, **env})


def status_of(ws: Workspace, subscriber_id: int) -> str:
    return ws.db.execute("SELECT status FROM subscribers WHERE id = ?", [subscriber_id]).fetchone()[0]
