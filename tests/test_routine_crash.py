"""'newsletter run' killed with SIGKILL in the middle of a send, then called every minute: one send, nobody skipped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from routine_helpers import install_fake_clock, publish, routine_workspace
from send_fixtures import add_readers
from smtp_sink import SmtpSink

from issues.build import get_issue
from issues.routine import run_routine
from issues.send import outbox

TESTS = Path(__file__).resolve().parent
READERS = 300


def test_run_killed_mid_send_resumes_and_sends_once(tmp_path, monkeypatch) -> None:
    fake = install_fake_clock(monkeypatch, "2026-11-24 08:55")  # Tuesday; the auto send is due at 09:00
    with SmtpSink() as sink:
        for key, value in {**sink.settings_env(), "NEWSLETTER_DELIVERY_RETRY_DELAY": "0.02"}.items():
            monkeypatch.setenv(key, value)
        ws = routine_workspace(tmp_path, monkeypatch, mode="auto")
        ids = add_readers(ws, READERS)
        publish(ws, "hill-repeats", "Hill repeats without the dread", "2026-11-17 08:00")
        assert not run_routine(ws).failed  # builds the draft and sends the editors' copy; not yet time
        assert get_issue(ws, "2026-W47").status == "draft" and len(sink.messages) == 1
        fake.set("2026-11-24 09:00")
        proc = subprocess.Popen(
            [sys.executable, str(TESTS / "run_at.py"), fake().isoformat(), "--workspace", str(ws.root), "run"],
            cwd=TESTS.parent, env={**os.environ, "PYTHONPATH": str(TESTS.parent)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while len(sink.messages) < 40 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        in_flight = {r[0] for r in outbox.outbox_db(ws).execute(
            "SELECT subscriber_id FROM outbox WHERE status = 'sending'").fetchall()}
        assert len(sink.messages) < READERS + 1 and get_issue(ws, "2026-W47").status == "sending"
        for _ in range(10):  # cron every minute
            fake.advance(minutes=1)
            report = run_routine(ws)
            assert not report.failed, [s.as_dict() for s in report.failed]
        copies = sink.counts()
    by_email = {e.lower(): sid for sid, e in ws.db.execute("SELECT id, email FROM subscribers").fetchall()}
    readers = {by_email[a]: n for a, n in copies.items() if a in by_email}
    assert set(readers) == set(ids), "somebody was skipped"
    assert {sid for sid, n in readers.items() if n > 1} <= in_flight
    assert get_issue(ws, "2026-W47").status == "sent" and outbox.counts(ws, "2026-W47")["sent"] == READERS
