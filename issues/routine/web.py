"""The approve link's page on ``newsletter serve``: GET shows the issue and a button, only POST approves.

Mail scanners and link previewers fetch every link in a message; a GET here never
changes anything, so none of them can approve an issue.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, Response, request

from newsletter.web import current_workspace, render_page

from .approval import BadLink, approve_by_link, check_link
from .config import read_schedule
from .cycle import cycle_of

bp = Blueprint("approve", __name__)


def _send_time(issue_week: str) -> str:
    schedule = read_schedule(current_workspace())
    send_at = cycle_of(schedule, issue_week).send_at.astimezone(ZoneInfo(schedule.timezone))
    return f"on {send_at:%A %d %B at %H:%M} ({schedule.timezone})"


def _page(status: int = 200, **context: object) -> Response:
    """The one page in its three states: the button, done, or the problem (StrictUndefined wants all keys)."""
    values = {"problem": None, "approved": False, "issue": None, "action": "", "send_at": "", **context}
    return render_page("approve.html.j2", status=status, **values)


@bp.get("/approve/<token>")
def approve_page(token: str) -> Response:
    try:
        issue = check_link(current_workspace(), token)
    except BadLink as exc:
        return _page(410, problem=str(exc))
    return _page(issue=issue, action=request.path, send_at=_send_time(issue.week))


@bp.post("/approve/<token>")
def approve(token: str) -> Response:
    ws = current_workspace()
    try:
        issue = check_link(ws, token)
        approve_by_link(ws, token)
    except BadLink as exc:
        return _page(410, problem=str(exc))
    return _page(issue=issue, approved=True, send_at=_send_time(issue.week))
