"""preview."""

from __future__ import annotations

from . import checks
from .checks import GMAIL_CLIP_BYTES, sample_fields
from .server import PreviewServer, PreviewSession, pick_issue

__all__ = [
    "GMAIL_CLIP_BYTES", "PreviewServer", "PreviewSession", "checks", "pick_issue", "sample_fields",
]
