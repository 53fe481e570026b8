"""A send in a real subprocess, killed with SIGKILL at random points or stopped with Ctrl-C, then resumed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import interruptible
from send_fixtures import ISSUE, add_readers, build_issue
from smtp_sink import SmtpSink

from issues.send import outbox
from newsletter.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


def start_send(ws: Workspace, sink: SmtpSink, **delivery: object) -> subprocess.Popen:
    env = {**os.environ, **sink.settings_env(), "NEWSLETTER_DELIVERY_RETRY_DELAY": "0.02",
           **{f"NEWSLETTER_DELIVERY_{k.upper()}": str(v) for k, v in delivery.items()}}
    return subprocess.Popen(
        [sys.executable, str(REPO / "cli.py"), "--workspace", str(ws.root), "send", ISSUE, "--yes"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=interruptible,
    )


def wait_for(sink: SmtpSink, count: int, proc: subprocess.Popen, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while len(sink.messages) < count and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)


def in_flight(ws: Workspace) -> set[int]:
    """Rows the next run puts back to pending: still ``sending`` once the killed run's journals are folded."""
    outbox.fold_journals(ws, ISSUE, wait=10.0)
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
            assert sink.wait_closed(), "the killed send's connections stayed open"
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


@pytest.mark.parametrize("processes", [1, 2])
def test_ctrl_c_finishes_in_flight_messages_records_them_and_send_resumes(workspace: Workspace,
                                                                         processes: int) -> None:
    build_issue(workspace)
    ids = add_readers(workspace, 250)
    with SmtpSink() as sink:
        proc = start_send(workspace, sink, processes=processes)
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


def many_readers(ws: Workspace, count: int) -> None:
    import csv

    from subscribers.importer import import_csv

    listing = ws.root / "readers.csv"
    with listing.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["email", "name"])
        out.writerows([f"reader{n}@{('gmail.com', 'outlook.com', 'readers.example.org')[n % 3]}", f"Reader {n}"]
                      for n in range(count))
    import_csv(ws, listing, confirmed=True, consent="Made-up readers for the crash test.")


@pytest.mark.parametrize("processes", [1, 2])
def test_eight_kills_of_a_3000_reader_send_lose_nobody_and_repeat_at_most_one_per_connection(
        workspace: Workspace, processes: int) -> None:
    """With 2 processes each holds 2 of the 4 connections; the bound is on all connections together."""
    build_issue(workspace)
    many_readers(workspace, 3000)
    connections = 4
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    kills, repeated_per_kill = 0, []
    with SmtpSink() as sink:
        while kills < 8:
            before = len(sink.messages)
            proc = start_send(workspace, sink, connections=connections, processes=processes)
            wait_for(sink, before + rng.randint(1, 250), proc)
            if proc.poll() is not None:
                break  # finished before the kill: the rest of the list was too short
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            # The server reads what the killed run had written before it counts: wait for its connections
            # (a child process of the send dies a moment after the parent) to be closed.
            assert sink.wait_closed(), "the killed send's connections stayed open"
            # Rows in flight whose message the server got from this run: the ones the next run repeats.
            # (A row an earlier kill left in flight, claimed again but not yet resent, was counted then.)
            delivered = {r.lower() for m in sink.messages[before:] for r in m.rcpt_tos}
            by_email = email_ids(workspace)
            repeated_per_kill.append(len({by_email[a] for a in delivered} & in_flight(workspace)))
        final = start_send(workspace, sink, connections=connections, processes=processes)
        out, err = final.communicate(timeout=300)
        assert final.returncode == 0, (seed, err.decode())
    copies = sink.counts()
    assert kills >= 6, f"seed {seed}: the send finished before enough kills"
    assert len(copies) == 3000, f"seed {seed}: {3000 - len(copies)} readers lost"
    duplicates = sum(n - 1 for n in copies.values())
    print(f"processes={processes} seed={seed} kills={kills} repeated per kill={repeated_per_kill} "
          f"duplicates={duplicates}")
    assert all(n <= connections for n in repeated_per_kill), (seed, repeated_per_kill)
    assert duplicates <= connections * kills, (seed, duplicates, repeated_per_kill)
    assert outbox.counts(workspace, ISSUE)["sent"] == 3000


@pytest.mark.parametrize("processes", [1, 2])
def test_a_second_ctrl_c_exits_130_at_once_leaving_only_messages_in_flight(workspace: Workspace,
                                                                          processes: int) -> None:
    build_issue(workspace)
    many_readers(workspace, 600)
    with SmtpSink() as sink:
        proc = start_send(workspace, sink, connections=3, processes=processes)
        wait_for(sink, 50, proc)
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err.decode()
        assert b"Traceback" not in err
        by_email = email_ids(workspace)
        delivered = {by_email[a] for a in sink.counts()}
        sent = {r["subscriber_id"] for r in outbox.rows_of(workspace, ISSUE) if r["status"] == "sent"}
        assert sent <= delivered and len(delivered - sent) <= 3  # unrecorded: only what was in flight
        final = start_send(workspace, sink, connections=3)
        final.communicate(timeout=120)
        assert final.returncode == 0
    copies = sink.counts()
    assert len(copies) == 600 and sum(n - 1 for n in copies.values()) <= 3


def test_each_connection_starts_a_message_only_after_its_last_delivery_is_recorded(workspace: Workspace) -> None:
    """The bound on crash duplicates, checked at every message instead of at a few random kills."""
    import json
    import sqlite3
    import threading

    from issues.send import DeliveryOptions, send_issue
    from issues.send.journals import journals_of
    from newsletter.transports import Reply, Transport

    build_issue(workspace)
    many_readers(workspace, 400)
    database = workspace.path(workspace.settings.paths.database)
    unrecorded: list[str] = []
    lock = threading.Lock()

    def journaled() -> set[int]:
        """Outbox ids on the complete lines of the send's journals (the last field of a line)."""
        ids = set()
        for path in journals_of(workspace, ISSUE):
            ids |= {json.loads(line)[-1] for line in path.read_bytes().splitlines() if line.endswith(b"]")}
        return ids

    class CheckingTransport(Transport):
        """Accepts everything; before each message, looks whether this connection's last one is on disk."""

        def __init__(self) -> None:
            self.last: str | None = None
            self.db = sqlite3.connect(database, check_same_thread=False)

        def send(self, sender: str, recipients: list[str], message: bytes) -> Reply:
            if self.last is not None:
                outbox_id, status = self.db.execute(
                    "SELECT o.id, o.status FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id "
                    "WHERE o.issue_id = ? AND s.email = ?", [ISSUE, self.last]).fetchone()
                if status != "sent" and outbox_id not in journaled():  # in the outbox, or in a journal to fold
                    with lock:
                        unrecorded.append(self.last)
            self.last = recipients[0]
            return Reply(250, "2.0.0 ok")

    report = send_issue(workspace, ISSUE, transport_factory=CheckingTransport,
                        options=DeliveryOptions(connections=4, resolve_mx=False))
    assert report.finished and report.this_run["sent"] == 400
    assert unrecorded == []
