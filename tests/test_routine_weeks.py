"""Three weeks of 'newsletter run' on a fake clock: imports, one build, one test copy, approval, one send."""

from __future__ import annotations

import json
import re
from datetime import datetime

from routine_helpers import EDITOR, ZONE, install_fake_clock, mail_to, publish, routine_workspace, text_of
from send_fixtures import add_readers

from issues.build import get_issue
from issues.routine import approve_issue, run_routine
from newsletter.workspace import Workspace

READERS = [f"reader{n}@readers.example.org" for n in range(4)]


def run_until(ws: Workspace, fake, local_end: str, every: dict, log: list) -> None:
    """Call run at every tick from now until ``local_end``; keep each report."""
    end = datetime.fromisoformat(local_end).replace(tzinfo=ZONE)
    while fake.now < end:
        report = run_routine(ws)
        assert not report.failed, [s.as_dict() for s in report.failed]
        log.append(report)
        fake.advance(**every)


def summaries(log: list, step: str) -> list[str]:
    return [s.summary for r in log for s in r.steps if s.step == step and s.status == "done"]


def real_mail(ws: Workspace) -> dict[str, int]:
    return {a: len(mail_to(ws, a, test=False)) for a in READERS}


def test_three_weeks_in_approve_mode(tmp_path, monkeypatch) -> None:
    fake = install_fake_clock(monkeypatch, "2026-11-20 12:00")  # Friday of 2026-W47
    ws = routine_workspace(tmp_path, monkeypatch)
    add_readers(ws, len(READERS))
    publish(ws, "hill-repeats", "Hill repeats without the dread", "2026-11-17 08:00", tags=["hills"])
    publish(ws, "protein-timing", "Does protein timing matter?", "2026-11-18 08:00", tags=["protein"])
    log: list = []

    # Week 1: the draft of W47 is due Monday 09:00 and goes out Tuesday 09:00 once approved.
    run_until(ws, fake, "2026-11-23 08:50", {"hours": 3}, log)
    assert summaries(log, "import") and all(r.steps[0].status == "done" for r in log)  # every run imports
    assert not summaries(log, "draft") and not mail_to(ws, EDITOR)
    publish(ws, "desk-mobility", "Ten minutes of mobility after desk days", "2026-11-20 08:00", tags=["mobility"])
    run_until(ws, fake, "2026-11-24 11:00", {"minutes": 7}, log)  # every 7 minutes past the send time
    built = [s for s in summaries(log, "draft") if s.startswith("built 2026-W47")]
    assert len(built) == 1 and "3 articles" in built[0]
    copies = mail_to(ws, EDITOR, test=True)
    assert len(copies) == 1 and "/approve/" in text_of(copies[0])
    assert real_mail(ws) == dict.fromkeys(READERS, 0)  # not approved: nothing goes out, even after the time
    waiting = [s for s in log[-1].steps if s.step == "send"][0]
    assert waiting.status == "waiting" and "waits for approval" in waiting.summary

    approve_issue(ws, "2026-W47")
    run_until(ws, fake, "2026-11-24 11:30", {"minutes": 1}, log)  # run every minute: one send
    assert real_mail(ws) == dict.fromkeys(READERS, 1)
    assert get_issue(ws, "2026-W47").status == "sent"
    assert len(mail_to(ws, EDITOR, test=True)) == 1

    # Week 2 (W48) has no articles: nothing is built, tested or sent, and the run says so.
    run_until(ws, fake, "2026-12-01 12:00", {"hours": 4}, log)
    assert any("2026-W48 has no articles" in s.summary for r in log[-10:] for s in r.steps)
    assert real_mail(ws) == dict.fromkeys(READERS, 1) and len(mail_to(ws, EDITOR)) == 1

    # Week 3 (W49): approved by the editor, then an article is edited: the approval is withdrawn.
    publish(ws, "rest-days", "Rest days that work", "2026-12-01 08:00", tags=["rest"])
    run_until(ws, fake, "2026-12-03 10:00", {"hours": 6}, log)
    slow = publish(ws, "slow-runs", "Why slow runs make you fast", "2026-12-03 08:00", tags=["easy"])
    run_until(ws, fake, "2026-12-07 10:00", {"hours": 1}, log)
    assert len(mail_to(ws, EDITOR, test=True)) == 2  # one copy of W49
    approve_issue(ws, "2026-W49")
    run_until(ws, fake, "2026-12-07 20:00", {"hours": 1}, log)
    slow.write_text(slow.read_text().replace("Most of the benefit", "Nearly all of the benefit"))
    before = len(log)
    run_until(ws, fake, "2026-12-08 10:00", {"minutes": 20}, log)
    reasons = [s.summary for r in log[before:] for s in r.steps if s.step == "draft" and s.status == "done"]
    assert len(reasons) == 1 and 'article "Why slow runs make you fast" was edited' in reasons[0]
    assert "approval is withdrawn" in reasons[0]
    assert real_mail(ws) == dict.fromkeys(READERS, 1)  # past the send time, but the approval was withdrawn
    copies = mail_to(ws, EDITOR, test=True)
    assert len(copies) == 3 and any("Nearly all of the benefit" in text_of(m) for m in copies)
    send = [s for s in log[-1].steps if s.step == "send"][0]
    assert "approval withdrawn" in send.summary

    approve_issue(ws, "2026-W49")
    run_until(ws, fake, "2026-12-08 10:30", {"minutes": 1}, log)
    assert real_mail(ws) == dict.fromkeys(READERS, 2)
    assert sum(1 for m in mail_to(ws, READERS[0]) if "Nearly all of the benefit" in text_of(m)) == 1


def test_auto_mode_sends_at_the_time_and_skips_a_thin_week(tmp_path, monkeypatch) -> None:
    fake = install_fake_clock(monkeypatch, "2026-11-22 12:00")
    ws = routine_workspace(tmp_path, monkeypatch, mode="auto", min_articles="2", send_day="wed", send_time="07:30",
                           draft_hours="12")
    add_readers(ws, len(READERS))
    publish(ws, "hill-repeats", "Hill repeats without the dread", "2026-11-17 08:00")
    publish(ws, "protein-timing", "Does protein timing matter?", "2026-11-18 08:00", tags=["protein"])
    log: list = []
    run_until(ws, fake, "2026-11-25 07:00", {"hours": 1}, log)
    run_until(ws, fake, "2026-11-25 07:29:30", {"minutes": 1}, log)
    assert summaries(log, "draft") and len(mail_to(ws, EDITOR, test=True)) == 1
    assert "/approve/" not in text_of(mail_to(ws, EDITOR)[0])  # auto mode: a heads-up, nothing to approve
    assert real_mail(ws) == dict.fromkeys(READERS, 0)  # not before the time
    run_until(ws, fake, "2026-11-25 08:00", {"minutes": 1}, log)
    assert real_mail(ws) == dict.fromkeys(READERS, 1)
    # W48 has one article, fewer than min_articles: built and shown to the editors, never sent.
    publish(ws, "rest-days", "Rest days that work", "2026-11-24 08:00", tags=["rest"])
    run_until(ws, fake, "2026-12-02 09:00", {"hours": 2}, log)
    assert real_mail(ws) == dict.fromkeys(READERS, 1)
    assert any("fewer than [schedule] min_articles" in s.summary for s in log[-1].steps)


def test_dry_run_says_what_is_due_and_changes_nothing(tmp_path, monkeypatch, cli) -> None:
    install_fake_clock(monkeypatch, "2026-11-23 10:00")
    ws = routine_workspace(tmp_path, monkeypatch)
    publish(ws, "hill-repeats", "Hill repeats without the dread", "2026-11-17 08:00")
    cli.ws = ws
    result = cli("run", "--dry-run")
    assert result.exit_code == 0, result.output
    assert re.search(r"import\s+would", result.output) and "would send the test copy" not in result.output
    assert "no articles" in result.output  # nothing is imported yet, so the dry run finds none in W47
    assert not mail_to(ws, EDITOR)
    result = cli("run", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["step"] for s in data["steps"]] == ["import", "inbound", "draft", "test copy", "send", "welcome"]
    assert data["steps"][2]["summary"].startswith("built 2026-W47")
    assert len(mail_to(ws, EDITOR, test=True)) == 1


def test_a_week_nobody_received_exits_3_and_does_not_block_the_next(tmp_path, monkeypatch, cli) -> None:
    """Every reader refused: `run` says so with exit 3 once, and next week's issue still goes out."""
    from smtp_sink import SmtpSink

    fake = install_fake_clock(monkeypatch, "2026-11-24 06:00")
    ws = routine_workspace(tmp_path, monkeypatch, mode="auto", send_day="tue", send_time="07:00", draft_hours="1")
    add_readers(ws, len(READERS))
    publish(ws, "hill-repeats", "Hill repeats without the dread", "2026-11-17 08:00")
    with SmtpSink() as sink:
        for key, value in sink.settings_env().items():
            monkeypatch.setenv(key, value)
        for reader in READERS:
            sink.always(reader, "554 5.7.1 Refused by local policy")
        cli.ws = Workspace(ws.root)
        fake.set("2026-11-24 07:05")
        result = cli("run")
        assert result.exit_code == 3, result.output
        assert "delivered to nobody" in result.output
        assert get_issue(ws, "2026-W47").status != "sent"  # not marked sent, not in the archive
        again = cli("run")
        assert again.exit_code == 0 and "resumed" not in again.output  # a finished send is not resumed
        for reader in READERS:
            sink.clear(reader)
        publish(ws, "rest-days", "Rest days that work", "2026-11-25 08:00", tags=["rest"])
        fake.set("2026-12-01 07:05")
        later = cli("run")
        assert later.exit_code == 0, later.output
        assert get_issue(ws, "2026-W48").status == "sent", later.output
