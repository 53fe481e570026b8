"""Recording a group of results: one statement for a group of deliveries, all of it or nothing."""

from __future__ import annotations

import sqlite3

import pytest

from issues.send import outbox
from newsletter.db import connect


def pending_rows(ws, n: int) -> list[int]:
    db = outbox.outbox_db(ws)
    with db.conn:
        db.conn.executemany("INSERT INTO outbox (issue_id, subscriber_id, updated_at) VALUES ('2026-W01', ?, 'x')",
                            [(i,) for i in range(1, n + 1)])
    return [job.outbox_id for job in outbox.claim(ws, "2026-W01", 0, n)]


def sent(ids: list[int], tries: int | None = 1) -> outbox.Outcomes:
    return outbox.Outcomes(sent=[(tries, 250, "ok", f"<m{i}@x>", "2026-01-01T00:00:00+00:00", "example", i) for i in ids])


def test_a_group_of_deliveries_is_written(workspace):
    ids = pending_rows(workspace, 5)
    db = connect(workspace.database_path)
    outbox.record(db, sent(ids[:3]))
    rows = {r["id"]: r for r in outbox.rows_of(workspace, "2026-W01")}
    assert [rows[i]["status"] for i in ids] == ["sent", "sent", "sent", "sending", "sending"]
    assert rows[ids[1]]["message_id"] == f"<m{ids[1]}@x>" and rows[ids[1]]["attempts"] == 1
    assert rows[ids[0]]["provider"] == "example" and rows[ids[0]]["code"] == 250


def test_a_group_of_deliveries_is_all_or_nothing(workspace):
    ids = pending_rows(workspace, 3)
    db = connect(workspace.database_path)
    bad = sent(ids[:2])
    bad.sent.append((None, 250, "ok", "<m@x>", "t", "example", ids[2]))  # attempts + NULL breaks NOT NULL
    with pytest.raises(sqlite3.IntegrityError):
        outbox.record(db, bad)
    assert {r["status"] for r in outbox.rows_of(workspace, "2026-W01")} == {"sending"}
    assert not db.conn.in_transaction


def test_claims_find_pending_rows_by_the_pending_index(workspace):
    pending_rows(workspace, 2)
    db = outbox.outbox_db(workspace)
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE issue_id = ? AND status = 'pending' AND id > ? ORDER BY id",
        ["2026-W01", 0]).fetchall()
    assert "outbox_pending" in str(plan)
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'outbox_work'").fetchone()[0] == 0
