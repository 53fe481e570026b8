"""Time helpers: UTC timestamps for storage, ISO weeks in the site's time zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .errors import InvalidInput

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
# Years whose weeks can be placed in any time zone without leaving the range of ``datetime``.
FIRST_YEAR, LAST_YEAR = 1900, 9998


def utcnow() -> datetime:
    return datetime.now(UTC)


_last_iso: tuple[float, object, str] = (float("nan"), None, "")


def now_iso() -> str:
    """The current UTC time as stored in the database (ISO 8601, seconds, ``+00:00``).

    A send stamps every result: the text is made once per second (per time zone object).
    """
    global _last_iso
    now = utcnow()
    second = now.timestamp() // 1
    last = _last_iso
    if last[0] == second and last[1] is now.tzinfo:
        return last[2]
    text = now.isoformat(timespec="seconds")
    _last_iso = (second, now.tzinfo, text)
    return text


def parse_week(week: str) -> tuple[int, int]:
    """``"2026-W47"`` (or ``2026-w47``) → ``(2026, 47)``; refuses weeks the year does not have."""
    m = WEEK_RE.match(week.strip().upper())
    if not m:
        raise InvalidInput(f"week {week!r} is not of the form YYYY-Www (e.g. 2026-W47)")
    year, num = int(m.group(1)), int(m.group(2))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(f"week {week!r}: the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    weeks_in_year = date(year, 12, 28).isocalendar().week
    if not 1 <= num <= weeks_in_year:
        raise InvalidInput(f"{year} has weeks 01 to {weeks_in_year:02d}, not {num:02d}")
    return year, num


def normalise_week(week: str) -> str:
    """The canonical name of a week a person typed: ``" 2026-w47 "`` → ``"2026-W47"``."""
    year, num = parse_week(week)
    return f"{year}-W{num:02d}"


def week_bounds(week: str, tz: str) -> tuple[datetime, datetime]:
    """Start (Monday 00:00) and end (next Monday 00:00) of an ISO week in ``tz``, as UTC."""
    year, num = parse_week(week)
    zone = ZoneInfo(tz)
    start = datetime.combine(date.fromisocalendar(year, num, 1), time(), zone)
    end = datetime.combine(date.fromisocalendar(year, num, 1) + timedelta(days=7), time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def week_of(moment: datetime, tz: str) -> str:
    """The ISO week (``YYYY-Www``) that ``moment`` falls in, seen from ``tz``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    iso = moment.astimezone(ZoneInfo(tz)).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def last_complete_week(tz: str, now: datetime | None = None) -> str:
    """The most recent ISO week that has fully ended in ``tz``.

    Counted on the local calendar: a week is 167 or 169 hours long when the clocks change,
    so "seven days of seconds ago" can land two weeks back.
    """
    now = now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    iso = (now.astimezone(ZoneInfo(tz)).date() - timedelta(days=7)).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"
