"""A send in a real subprocess, killed with SIGKILL at random points or stopped with Ctrl-C, then resumed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from send_fixtures import ISSUE, add_readers, build_issue
from smtp_sink import SmtpSink

from issues import outbox
from newsletter.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


def start_send(ws: Workspace, sink: SmtpSink) -> subprocess.Popen:
    env = {**os.environ, **sink.settings_env(), "NEWSLETTER_DELIVERY_RETRY_DELAY": "0.02"}
    return subprocess.Popen(
        [sys.executable, str(REPO / "cli.py"), "--workspace", str(ws.root), "send", ISSUE, "--yes"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def wait_for(sink: SmtpSink, count: int, proc: subprocess.Popen, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while len(sink.messages) < count and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)


def in_flight(ws: Workspace) -> set[int]:
    rows = outbox.outbox_db(ws).execute(  # the killed run may have died before making the table
        "SELECT subscriber_id FROM outbox WHERE issue_id = ? AND status = 'sending'", [ISSUE]
    ).fetchall()
    return {r[0] for r in rows}


def email_ids(ws: Workspace) -> dict[str, int]:
    return {e.lower(): sid for sid, e in ws.db.execute("SELECT id, email FROM subscribers").fetchall()}


def test_sigkill_at_random_points_loses_nobody_and_repeats_only_rows_in_flight(workspace: Workspace) -> None:
    build_issue(workspace)
    ids = add_readers(workspace, 300)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    suspects: set[int] = set()
    kills = 0
    with SmtpSink() as sink:
        for _ in range(4):
            proc = start_send(workspace, sink)
            if rng.random() < 0.25:
                time.sleep(rng.uniform(0.0, 0.6))  # sometimes while starting up or taking the snapshot
            else:
                wait_for(sink, len(sink.messages) + rng.randint(1, 60), proc)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            suspects |= in_flight(workspace)
        final = start_send(workspace, sink)
        out, err = final.communicate(timeout=120)
        assert final.returncode == 0, (seed, err.decode())
    assert kills >= 1
    copies = sink.counts()
    by_email = email_ids(workspace)
    assert {by_email[a] for a in copies} == set(ids), f"seed {seed}: somebody was skipped"
    twice = {by_email[a] for a, n in copies.items() if n > 1}
    assert twice <= suspects, f"seed {seed}: repeated outside the rows in flight: {twice - suspects}"
    assert max(copies.values()) <= 1 + kills
    assert outbox.counts(workspace, ISSUE)["sent"] == 300


def test_ctrl_c_finishes_in_flight_messages_records_them_and_send_resumes(workspace: Workspace) -> None:
    build_issue(workspace)
    ids = add_readers(workspace, 250)
    with SmtpSink() as sink:
        proc = start_send(workspace, sink)
        wait_for(sink, 30, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err.decode()
        assert b"Run 'newsletter send 2026-W47' to resume" in err
        counts = outbox.counts(workspace, ISSUE)
        assert counts["sending"] == 0 and counts["sent"] == len(sink.messages) < 250
        final = start_send(workspace, sink)
        out, err = final.communicate(timeout=120)
        assert final.returncode == 0, err.decode()
    assert set(sink.counts().values()) == {1} and len(sink.counts()) == len(ids)
    assert b"issue finished: 250 sent" in out
