"""The weekly routine that runs itself: ``newsletter run`` on a schedule, editor approval, the welcome series.

Modules: :mod:`.config` (the ``[schedule]``/``[welcome]`` settings), :mod:`.cycle`
(which week is due when), :mod:`.steps` and :mod:`.run` (one idempotent run),
:mod:`.approval` (approve, revoke, withdrawal, the approve link) and :mod:`.web`
(its page), :mod:`.welcome` with :mod:`.welcome_plan` and :mod:`.welcome_store`,
:mod:`.install` (cron line, systemd units) and :mod:`.status`.
"""

from __future__ import annotations

from .approval import BadLink, NotApprovable, approve_by_link, approve_issue, check_link, revoke_approval
from .config import Schedule, Welcome, read_schedule, read_welcome
from .cycle import Cycle, current_cycle, cycle_of, next_cycle
from .run import RunReport, run_routine
from .status import schedule_status

__all__ = [
    "BadLink", "Cycle", "NotApprovable", "RunReport", "Schedule", "Welcome", "approve_by_link", "approve_issue",
    "check_link", "current_cycle", "cycle_of", "next_cycle", "read_schedule", "read_welcome", "revoke_approval",
    "run_routine", "schedule_status",
]
