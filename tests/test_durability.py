"""What a crash or power cut may cost, per table: readers' data never, the outbox at most a repeat."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from send_fixtures import ISSUE, add_readers, build_issue
from smtp_sink import SmtpSink
from sql_trace import statements_during

from issues.send import outbox
from newsletter.workspace import Workspace
from subscribers import get_subscriber, subscribe, unsubscribe

REPO = Path(__file__).resolve().parent.parent



def test_consent_and_unsubscribes_commit_with_a_full_sync(workspace: Workspace) -> None:
    subscribe(workspace, "first@example.com")  # the tables are made (migrations are not readers' data)
    added = statements_during(workspace, lambda: subscribe(workspace, "jo@example.com", confirmed=True,
                                                     consent_text="signed up at the desk"))
    reader = get_subscriber(workspace, "jo@example.com")
    left = statements_during(workspace, lambda: unsubscribe(workspace, reader.id, source="cli"))
    for statements in (added, left):
        commits = [n for n, s in enumerate(statements) if s == "COMMIT"]
        assert commits
        for n in commits:  # every commit of a reader's change runs under synchronous = FULL
            before = [s for s in statements[:n] if s.startswith("PRAGMA synchronous")]
            assert before and before[-1] == "PRAGMA synchronous = FULL", statements
    assert workspace.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again for everything else


def test_a_send_killed_between_the_250_and_its_commit_repeats_only_that_message(workspace: Workspace) -> None:
    """The outbox is NORMAL: what a crash (or power cut) repeats is a message whose 250 was not yet recorded."""
    build_issue(workspace)
    add_readers(workspace, 40)
    env = {**os.environ, "NEWSLETTER_DELIVERY_CONNECTIONS": "1", "NEWSLETTER_DELIVERY_BATCH_SIZE": "10"}
    command = [sys.executable, str(REPO / "cli.py"), "--workspace", str(workspace.root), "send", ISSUE, "--yes"]
    with SmtpSink() as sink:
        proc = subprocess.Popen(command, cwd=REPO, env={**env, **sink.settings_env()},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stopped_at: list[str] = []

        def freeze_the_sender(received) -> None:
            if len(sink.handler.messages) == 15 and not stopped_at:
                stopped_at.extend(received.rcpt_tos)
                os.kill(proc.pid, signal.SIGSTOP)  # the 250 goes out after this; the sender never reads it

        sink.handler.on_message = freeze_the_sender
        try:
            _wait_for(lambda: bool(stopped_at), proc)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        sink.handler.on_message = None
        in_flight = {row[0] for row in outbox.outbox_db(workspace).execute(
            "SELECT s.email FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id "
            "WHERE o.issue_id = ? AND o.status = 'sending'", [ISSUE]).fetchall()}
        delivered_before = sink.counts()
        assert stopped_at and stopped_at[0].lower() in {a.lower() for a in in_flight}  # 250 given, not recorded
        resumed = subprocess.run(command, cwd=REPO, env={**env, **sink.settings_env()}, capture_output=True,
                                 timeout=120)
        assert resumed.returncode == 0, resumed.stderr.decode()
    copies = sink.counts()
    assert len(copies) == 40 and outbox.counts(workspace, ISSUE)["sent"] == 40  # nobody skipped
    repeated = {address for address, n in copies.items() if n > 1}
    assert stopped_at[0].lower() in repeated  # the message whose 250 was lost goes out again...
    assert repeated <= {a.lower() for a in in_flight}  # ...and only messages that were in flight
    assert all(copies[a] == 1 for a in copies if a not in delivered_before)


def _wait_for(condition, proc: subprocess.Popen, limit: float = 120) -> None:
    import time

    deadline = time.monotonic() + limit
    while not condition() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition(), proc.stderr.read().decode() if proc.poll() is not None else "the send never got there"
