"""The public web side of issues: the archive pages and feed, and the app that joins every blueprint."""

from __future__ import annotations

from newsletter.lazy import lazy_exports

# Where each name lives; a module is imported when one of its names is first read.
__getattr__ = lazy_exports(__name__, {
    "create_app": "app",
    "sent_issues": "pages",
    "with_base_target": "pages",
})

__all__ = [
    "create_app", "sent_issues", "with_base_target",
]
