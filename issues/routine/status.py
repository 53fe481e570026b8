"""``newsletter schedule status``: the schedule, what is due now (a dry run), the next cycle, the last run."""

from __future__ import annotations

from typing import Any

from newsletter.workspace import Workspace

from .config import read_schedule
from .cycle import current_cycle, next_cycle
from .run import run_routine
from .store import issue_state, last_run
from .welcome_store import next_due


def schedule_status(ws: Workspace) -> dict[str, Any]:
    schedule = read_schedule(ws)
    current = current_cycle(schedule)
    state = issue_state(ws, current.week)
    coming = next_due(ws)
    return {
        "schedule": {"mode": schedule.mode, "send_day": schedule.send_day, "send_time": schedule.send_time,
                     "timezone": schedule.timezone, "draft_hours": schedule.draft_hours,
                     "editors": list(schedule.editors), "sources": list(schedule.sources)},
        "current": {**current.as_dict(), "approval": state.as_dict() if state else None},
        "next": next_cycle(schedule).as_dict(),
        "due_now": [s.as_dict() for s in run_routine(ws, dry_run=True).steps],
        "welcome_next": {"due_at": coming[0], "mails": coming[1]} if coming else None,
        "last_run": last_run(ws),
    }
