"""Figures of mail that came back: bounces, complaints and mailto unsubscribes per issue,
and what became of the processed messages (with the ones kept aside and why)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from newsletter.workspace import Workspace

from .store import database

FIGURES = ("hard_bounces", "soft_bounces", "complaints", "mail_unsubscribes")


def _figures(values: Sequence[int]) -> dict[str, int]:
    figures = dict(zip(FIGURES, values, strict=True))
    figures["bounces"] = figures["hard_bounces"] + figures["soft_bounces"]
    return figures


def issue_feedback(ws: Workspace, issue_id: str) -> dict[str, int]:
    """Readers who hard-bounced, soft-bounced, complained or unsubscribed by mail after ``issue_id``."""
    row = database(ws).execute(
        f"SELECT {', '.join(FIGURES)} FROM inbound_issue_feedback WHERE issue_id = ?", [issue_id]
    ).fetchone()
    return _figures(row or (0,) * len(FIGURES))


def feedback_by_issue(ws: Workspace) -> dict[str, dict[str, int]]:
    """:func:`issue_feedback` for every issue that has any, newest issue first."""
    rows = database(ws).execute(
        f"SELECT issue_id, {', '.join(FIGURES)} FROM inbound_issue_feedback ORDER BY issue_id DESC"
    ).fetchall()
    return {issue_id: _figures(values) for issue_id, *values in rows}


def mail_back_per_issue(ws: Workspace, *, limit: int = 12) -> list[dict[str, Any]]:
    """The latest ``limit`` issues' figures as rows (``issue_id`` and each figure), newest first.

    ``subscribers stats`` shows them; it finds this function through the ``newsletter.figures``
    entry point in pyproject.toml.
    """
    return [{"issue_id": issue_id, **figures} for issue_id, figures in list(feedback_by_issue(ws).items())[:limit]]


def inbound_status(ws: Workspace, *, recent: int = 20) -> dict[str, Any]:
    """Messages processed by outcome and kind, and the latest ones kept aside with their reasons."""
    db = database(ws)
    by_outcome = dict(db.execute("SELECT outcome, COUNT(*) FROM inbound_messages GROUP BY outcome").fetchall())
    by_kind = dict(db.execute(
        "SELECT COALESCE(kind, '-'), COUNT(*) FROM inbound_messages GROUP BY 1 ORDER BY 1"
    ).fetchall())
    cursor = db.execute(
        "SELECT received_at, source, label, message_id, detail, kept_as FROM inbound_messages "
        "WHERE outcome = 'rejected' ORDER BY id DESC LIMIT ?", [recent]
    )
    names = [c[0] for c in cursor.description]
    return {
        "by_outcome": by_outcome,
        "by_kind": by_kind,
        "kept_aside_in": str(ws.path(ws.settings.inbound.rejected_maildir)),
        "kept_aside": [dict(zip(names, row, strict=True)) for row in cursor.fetchall()],
        "per_issue": feedback_by_issue(ws),
    }
