"""The routine's tables: each scheduled issue's build, test copy and approval; run results; a few markers.

``routine_issues`` holds one row per issue the routine looks after: the stamp of
what its draft was built from (article hashes, template hashes, the ``[issue]``
settings), which editors got the test copy of that build, the single-use link
nonce in it, and the approval (with the digest approved) or why it was withdrawn.
``approval_events`` keeps every approve, revoke and withdrawal, append-only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from newsletter import clock
from newsletter.db import Database, write_transaction
from newsletter.workspace import Workspace

COMPONENT = "routine"


def _create_tables(db: Database) -> None:
    db.execute(
        """CREATE TABLE routine_issues (
            issue_id TEXT PRIMARY KEY,
            built_stamp TEXT NOT NULL DEFAULT '{}',  -- JSON: what the current draft was built from
            digest TEXT NOT NULL DEFAULT '',         -- hash of built_stamp
            test_digest TEXT NOT NULL DEFAULT '',    -- the build the editors' test copy showed
            test_sent_to TEXT NOT NULL DEFAULT '[]', -- JSON: editors who got that copy
            test_sent_at TEXT,
            link_nonce TEXT NOT NULL DEFAULT '',     -- the approve link in that copy; '' once used
            approved_at TEXT,
            approved_by TEXT,
            approved_digest TEXT NOT NULL DEFAULT '',
            withdrawn_reason TEXT                   -- why an approval no longer holds (said by the next run)
        )"""
    )
    db.execute(
        """CREATE TABLE approval_events (
            id INTEGER PRIMARY KEY,
            issue_id TEXT NOT NULL,
            at TEXT NOT NULL,
            action TEXT NOT NULL,   -- approved, revoked, withdrawn
            source TEXT NOT NULL,   -- cli, link, run
            detail TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE routine_runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            failed INTEGER NOT NULL,
            steps TEXT NOT NULL      -- JSON list of step results
        )"""
    )
    db.execute("CREATE TABLE routine_markers (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


MIGRATIONS = [_create_tables]


def routine_db(ws: Workspace) -> Database:
    """The workspace database with the routine's tables in place."""
    return ws.require_schema(COMPONENT, MIGRATIONS)


@dataclass
class IssueState:
    """What the routine knows about one issue."""

    issue_id: str
    built_stamp: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    test_digest: str = ""
    test_sent_to: list[str] = field(default_factory=list)
    test_sent_at: str | None = None
    link_nonce: str = ""
    approved_at: str | None = None
    approved_by: str | None = None
    approved_digest: str = ""
    withdrawn_reason: str | None = None

    @property
    def approved(self) -> bool:
        """Approved, and the approval was of the build that stands now."""
        return bool(self.approved_at) and self.approved_digest == self.digest

    def as_dict(self) -> dict[str, Any]:
        return {"issue": self.issue_id, "approved": self.approved, "approved_at": self.approved_at,
                "approved_by": self.approved_by, "test_sent_at": self.test_sent_at,
                "test_sent_to": self.test_sent_to, "withdrawn_reason": self.withdrawn_reason}


_COLUMNS = ("issue_id", "built_stamp", "digest", "test_digest", "test_sent_to", "test_sent_at", "link_nonce",
            "approved_at", "approved_by", "approved_digest", "withdrawn_reason")
_JSON = {"built_stamp", "test_sent_to"}


def issue_state(ws: Workspace, issue_id: str) -> IssueState | None:
    row = routine_db(ws).execute(
        f"SELECT {', '.join(_COLUMNS)} FROM routine_issues WHERE issue_id = ?", [issue_id]
    ).fetchone()
    if row is None:
        return None
    values = {name: json.loads(v) if name in _JSON else v for name, v in zip(_COLUMNS, row, strict=True)}
    return IssueState(**values)


def save_state(db: Database, state: IssueState) -> None:
    """Write the whole row (inside the caller's write transaction)."""
    values = [json.dumps(getattr(state, c), sort_keys=True) if c in _JSON else getattr(state, c) for c in _COLUMNS]
    db.execute(
        f"INSERT OR REPLACE INTO routine_issues ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
        values,
    )


def log_approval(db: Database, issue_id: str, action: str, source: str, detail: str | None = None) -> None:
    db.execute("INSERT INTO approval_events (issue_id, at, action, source, detail) VALUES (?, ?, ?, ?, ?)",
               [issue_id, clock.now_iso(), action, source, detail])


def approval_history(ws: Workspace, issue_id: str) -> list[dict[str, Any]]:
    return list(routine_db(ws).query(
        "SELECT at, action, source, detail FROM approval_events WHERE issue_id = ? ORDER BY id", [issue_id]))


def record_run(ws: Workspace, started_at: str, steps: list[dict[str, Any]]) -> None:
    db = routine_db(ws)
    failed = sum(1 for s in steps if s["status"] == "failed")
    with write_transaction(db):
        db.execute("INSERT INTO routine_runs (started_at, finished_at, failed, steps) VALUES (?, ?, ?, ?)",
                   [started_at, clock.now_iso(), failed, json.dumps(steps)])
        db.execute("DELETE FROM routine_runs WHERE id <= (SELECT max(id) FROM routine_runs) - 500")


def last_run(ws: Workspace) -> dict[str, Any] | None:
    row = routine_db(ws).execute(
        "SELECT started_at, finished_at, failed, steps FROM routine_runs ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return {"started_at": row[0], "finished_at": row[1], "failed": row[2], "steps": json.loads(row[3])}


def marker(ws: Workspace, key: str) -> str | None:
    row = routine_db(ws).execute("SELECT value FROM routine_markers WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_marker(ws: Workspace, key: str, value: str, *, only_if_missing: bool = False) -> str:
    """Store ``value`` under ``key`` (or keep the one there with ``only_if_missing``); the value that stands."""
    db = routine_db(ws)
    verb = "INSERT OR IGNORE" if only_if_missing else "INSERT OR REPLACE"
    with write_transaction(db):
        db.execute(f"{verb} INTO routine_markers (key, value) VALUES (?, ?)", [key, value])
    return marker(ws, key) or value
