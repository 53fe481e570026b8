"""What SQL a workspace's connection runs during a call: for tests that check what a step writes."""

from __future__ import annotations

from collections.abc import Callable

from newsletter.workspace import Workspace


def statements_during(ws: Workspace, call: Callable[[], object]) -> list[str]:
    """The SQL this thread's connection runs during ``call()`` (a request served on this thread counts)."""
    seen: list[str] = []
    ws.db.conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        ws.db.conn.set_trace_callback(None)
    return seen
