"""Freezing an issue when its send starts: store the rendered copy and mark it ``sending``, atomically.

Idempotent: freezing a frozen issue returns the stored copy unchanged.
"""

from __future__ import annotations

from issues.build import RenderedIssue, get_issue, render_issue_content, store_frozen, stored_render
from newsletter.workspace import Workspace


def freeze_issue(ws: Workspace, issue_id: str) -> RenderedIssue:
    """Render the draft, store subject/preheader/HTML/text on the issue row and set status ``sending``."""
    issue = get_issue(ws, issue_id)
    already = stored_render(ws, issue.id)
    if already is not None:
        return already
    rendered = render_issue_content(ws, issue)  # outside the write lock: rendering takes milliseconds
    fresh, frozen_at = store_frozen(ws, issue.id, issue.built_at, rendered)
    if fresh:
        return rendered
    if frozen_at is None:  # rebuilt between our read and the lock: freeze the new build
        return freeze_issue(ws, issue.id)
    return stored_render(ws, issue.id)  # type: ignore[return-value]
