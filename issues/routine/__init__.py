"""The weekly routine that runs itself: ``newsletter run`` on a schedule, editor approval, the welcome series.

Modules: :mod:`.config` (the ``[schedule]``/``[welcome]`` settings), :mod:`.cycle`
(which week is due when), :mod:`.steps` and :mod:`.run` (one idempotent run),
:mod:`.approval` (approve, revoke, withdrawal, the approve link) and :mod:`.web`
(its page), :mod:`.welcome` with :mod:`.welcome_plan` and :mod:`.welcome_store`,
:mod:`.install` (cron line, systemd units) and :mod:`.status`.
"""

from __future__ import annotations

from newsletter.lazy import lazy_exports

# Where each name lives; a module is imported when one of its names is first read.
__getattr__ = lazy_exports(__name__, {
    "BadLink": "approval",
    "NotApprovable": "approval",
    "approve_by_link": "approval",
    "approve_issue": "approval",
    "check_link": "approval",
    "revoke_approval": "approval",
    "Schedule": "config",
    "Welcome": "config",
    "read_schedule": "config",
    "read_welcome": "config",
    "Cycle": "cycle",
    "current_cycle": "cycle",
    "cycle_of": "cycle",
    "next_cycle": "cycle",
    "RunReport": "run",
    "run_routine": "run",
    "schedule_status": "status",
})

__all__ = [
    "BadLink", "Cycle", "NotApprovable", "RunReport", "Schedule", "Welcome", "approve_by_link",
    "approve_issue", "check_link", "current_cycle", "cycle_of", "next_cycle", "read_schedule",
    "read_welcome", "revoke_approval", "run_routine", "schedule_status",
]
