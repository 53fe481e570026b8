"""web."""

from __future__ import annotations

from .app import create_app
from .pages import sent_issues, with_base_target

__all__ = [
    "create_app", "sent_issues", "with_base_target",
]
