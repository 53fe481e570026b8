"""The weekly cycle: which week's issue is current, when its draft is due and when it is sent.

The issue of ISO week W is sent on ``[schedule] send_day`` at ``send_time`` of the
week after W (site time zone); its draft is built and test-sent ``draft_hours``
before that.  A cycle is current from its draft time until the next cycle's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from newsletter import clock

from .config import Schedule


@dataclass(frozen=True)
class Cycle:
    """One week's issue and its two moments (aware UTC datetimes)."""

    week: str
    draft_at: datetime
    send_at: datetime

    def as_dict(self) -> dict[str, str]:
        return {"week": self.week, "draft_at": self.draft_at.isoformat(), "send_at": self.send_at.isoformat()}


def _monday(week: str) -> date:
    year, num = clock.parse_week(week)
    return date.fromisocalendar(year, num, 1)


def _week_name(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def cycle_of(schedule: Schedule, week: str) -> Cycle:
    """The cycle sending ``week``'s issue."""
    send_day = _monday(week) + timedelta(days=7 + schedule.send_weekday)
    local = datetime.combine(send_day, time(schedule.send_hour, schedule.send_minute), ZoneInfo(schedule.timezone))
    send_at = local.astimezone(UTC)
    return Cycle(week, send_at - timedelta(hours=schedule.draft_hours), send_at)


def current_cycle(schedule: Schedule, now: datetime | None = None) -> Cycle:
    """The cycle whose draft time has come most recently."""
    now = now or clock.utcnow()
    latest = cycle_of(schedule, clock.last_complete_week(schedule.timezone, now))
    if now >= latest.draft_at:
        return latest
    return cycle_of(schedule, _week_name(_monday(latest.week) - timedelta(days=7)))


def next_cycle(schedule: Schedule, now: datetime | None = None) -> Cycle:
    """The first cycle whose draft time is still ahead."""
    current = current_cycle(schedule, now)
    return cycle_of(schedule, _week_name(_monday(current.week) + timedelta(days=7)))
