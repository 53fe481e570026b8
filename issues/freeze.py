"""Freezing an issue when its send starts: store the rendered copy and mark it ``sending``, atomically.

Idempotent: freezing a frozen issue returns the stored copy unchanged.
"""

from __future__ import annotations

from newsletter.clock import now_iso
from newsletter.db import write_transaction
from newsletter.workspace import Workspace

from .archive import get_issue
from .render import RenderedIssue, render_issue_content, stored_render
from .schema import issues_db


def freeze_issue(ws: Workspace, issue_id: str) -> RenderedIssue:
    """Render the draft, store subject/preheader/HTML/text on the issue row and set status ``sending``."""
    issue = get_issue(ws, issue_id)
    already = stored_render(ws, issue.id)
    if already is not None:
        return already
    rendered = render_issue_content(ws, issue)  # outside the write lock: rendering takes milliseconds
    db = issues_db(ws)
    with write_transaction(db):
        built_at, frozen_at = db.conn.execute(
            "SELECT built_at, frozen_at FROM issues WHERE id = ?", [issue.id]
        ).fetchone()
        fresh = frozen_at is None and built_at == issue.built_at  # still the build we rendered
        if fresh:
            db.conn.execute(
                "UPDATE issues SET status = 'sending', frozen_at = ?, subject = ?, preheader = ?, "
                "html = ?, text = ? WHERE id = ?",
                [now_iso(), rendered.subject, rendered.preheader, rendered.html, rendered.text, issue.id],
            )
    if fresh:
        return rendered
    if frozen_at is None:  # rebuilt between our read and the lock: freeze the new build
        return freeze_issue(ws, issue.id)
    return stored_render(ws, issue.id)  # type: ignore[return-value]
