"""Forgetting a reader reaches the welcome series: the server replies kept in their welcome-mail rows are masked.

Declared in ``pyproject.toml`` (entry point group ``newsletter.erasers``). The rows stay
(step, status, times): the series' own sender stops a forgotten reader's remaining mails.
"""

from __future__ import annotations

from newsletter.db import Database
from newsletter.workspace import Workspace
from subscribers import Traces


def erase_reader(ws: Workspace, db: Database, traces: Traces) -> None:
    """Mask what names the reader in the ``detail`` of their welcome-mail rows."""
    traces.mask_rows(db, "welcome_mails")
