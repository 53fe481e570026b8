"""The editor's preview: the issue in a browser at desktop and phone widths, live reload, warnings."""

from __future__ import annotations

from newsletter.lazy import lazy_exports

# Where each name lives; a module is imported when one of its names is first read.
__getattr__ = lazy_exports(__name__, {
    "checks": "",
    "GMAIL_CLIP_BYTES": "checks",
    "sample_fields": "checks",
    "PreviewServer": "server",
    "PreviewSession": "server",
    "pick_issue": "server",
})

__all__ = [
    "GMAIL_CLIP_BYTES", "PreviewServer", "PreviewSession", "checks", "pick_issue", "sample_fields",
]
