"""Forgetting a reader reaches the send's ledger: the server replies kept in their outbox rows are masked.

Declared in ``pyproject.toml`` (entry point group ``newsletter.erasers``), so
:func:`subscribers.forget` runs it inside its transaction whatever was imported.
A refusal at send time quotes the recipient ("550 <jane@...>: no such user"); the rows
themselves (status, codes, times) stay, as the per-issue counts need them. The copies the
Maildir transport delivered are deleted by ``forget`` itself.
"""

from __future__ import annotations

from newsletter.db import Database
from newsletter.workspace import Workspace
from subscribers import Traces


def erase_reader(ws: Workspace, db: Database, traces: Traces) -> None:
    """Mask what names the reader in the ``detail`` of their outbox rows."""
    traces.mask_rows(db, "outbox")
