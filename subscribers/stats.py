"""List statistics: readers by status, and sign-ups, imports and leavers per ISO week."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from importlib.metadata import entry_points
from typing import Any

from newsletter import clock
from newsletter.workspace import Workspace

from .schema import STATUSES, database

FIGURES_GROUP = "newsletter.figures"
SIGNUP_KINDS = ("confirmed", "added")
LEAVER_KINDS = ("unsubscribed", "bounced", "complained")


def subscriber_stats(ws: Workspace, *, weeks: int = 12) -> dict[str, Any]:
    """Counts by status, plus per ISO week (site time zone) of the last ``weeks`` weeks:
    sign-ups (confirmed by link or added by an editor), imported readers, and leavers."""
    db = database(ws)
    by_status = dict.fromkeys(STATUSES, 0)
    for status, count in db.execute("SELECT status, COUNT(*) FROM subscribers WHERE forgotten_at IS NULL GROUP BY status"):
        by_status[status] = count
    forgotten = db.execute("SELECT COUNT(*) FROM subscribers WHERE forgotten_at IS NOT NULL").fetchone()[0]
    tz = str(ws.settings.site.timezone)
    since = (clock.utcnow() - timedelta(weeks=weeks)).isoformat(timespec="seconds")
    kinds = (*SIGNUP_KINDS, *LEAVER_KINDS, "imported")
    # Grouped by hour in SQL (a few thousand groups at most), then placed in site-time weeks.
    rows = db.execute(
        "SELECT substr(at, 1, 13), kind, status, COUNT(*) FROM subscriber_events "
        f"WHERE at >= ? AND kind IN ({', '.join('?' * len(kinds))}) GROUP BY 1, 2, 3",
        [since, *kinds],
    )
    per_week: dict[str, dict[str, int]] = defaultdict(lambda: {"signups": 0, "imported": 0, "leavers": 0})
    for hour, kind, status, count in rows:
        week = clock.week_of(datetime.fromisoformat(hour + ":00:00+00:00"), tz)
        if kind in SIGNUP_KINDS:
            per_week[week]["signups"] += count
        elif kind in LEAVER_KINDS:
            per_week[week]["leavers"] += count
        elif status == "confirmed":
            per_week[week]["imported"] += count
    return {
        "by_status": by_status,
        "total": sum(by_status.values()),
        "forgotten": forgotten,
        "weeks": [{"week": week, **counts} for week, counts in sorted(per_week.items())],
        "per_issue": _mail_back_per_issue(ws),
    }


def _mail_back_per_issue(ws: Workspace) -> list[dict[str, Any]]:
    """Bounces and complaints per issue, from the package that reads returned mail.

    Declared in pyproject.toml (``newsletter.figures``), like the erasers, so this package
    neither imports nor queries the inbound side; [] when nothing provides the figures.
    """
    for provider in entry_points(group=FIGURES_GROUP, name="mail_back_per_issue"):
        return provider.load()(ws, limit=12)
    return []
