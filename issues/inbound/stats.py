"""Per-issue figures of mail that came back: bounces, complaints and mailto unsubscribes."""

from __future__ import annotations

from typing import Any

from newsletter.workspace import Workspace

from .store import database

FIGURES = ("hard_bounces", "soft_bounces", "complaints", "mail_unsubscribes")


def issue_feedback(ws: Workspace, issue_id: str) -> dict[str, int]:
    """Readers who hard-bounced, soft-bounced, complained or unsubscribed by mail after ``issue_id``."""
    row = database(ws).execute(
        f"SELECT {', '.join(FIGURES)} FROM inbound_issue_feedback WHERE issue_id = ?", [issue_id]
    ).fetchone()
    figures = dict(zip(FIGURES, row or (0,) * len(FIGURES), strict=True))
    figures["bounces"] = figures["hard_bounces"] + figures["soft_bounces"]
    return figures


def feedback_by_issue(ws: Workspace) -> dict[str, dict[str, int]]:
    """:func:`issue_feedback` for every issue that has any, newest issue first."""
    rows = database(ws).execute(
        f"SELECT issue_id, {', '.join(FIGURES)} FROM inbound_issue_feedback ORDER BY issue_id DESC"
    ).fetchall()
    out = {}
    for issue_id, *values in rows:
        figures = dict(zip(FIGURES, values, strict=True))
        figures["bounces"] = figures["hard_bounces"] + figures["soft_bounces"]
        out[issue_id] = figures
    return out


def message_counts(ws: Workspace) -> dict[str, Any]:
    """How many messages were processed, by outcome and by kind (for ``inbound status``)."""
    db = database(ws)
    by_outcome = dict(db.execute("SELECT outcome, COUNT(*) FROM inbound_messages GROUP BY outcome").fetchall())
    by_kind = dict(db.execute(
        "SELECT COALESCE(kind, ''), COUNT(*) FROM inbound_messages GROUP BY kind"
    ).fetchall())
    return {"by_outcome": by_outcome, "by_kind": by_kind}
