"""The ``send`` and ``issue status`` commands through click's runner."""

from __future__ import annotations

import json
import mailbox
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from send_fixtures import ISSUE, add_readers, build_issue
from smtp_sink import SmtpSink

from issues.build import get_issue
from issues.send import outbox


@pytest.fixture
def ready(workspace, cli):
    build_issue(workspace)
    add_readers(workspace, 7)
    return cli


def maildir_messages(ws) -> list:
    folder = ws.root / "outbox"
    return list(mailbox.Maildir(folder, create=False)) if folder.exists() else []


def test_test_send_is_marked_and_records_nothing(ready, workspace) -> None:
    result = ready("send", ISSUE, "--to", "editor@example.com", "--to", "reader3@readers.example.org")
    assert result.exit_code == 0, result.output
    assert "sent to editor@example.com: 250" in result.output
    got = maildir_messages(workspace)
    assert len(got) == 2 and all(m["Subject"].startswith("[TEST] ") for m in got)
    assert outbox.send_record(workspace, ISSUE) is None and outbox.counts(workspace, ISSUE)["pending"] == 0
    assert get_issue(workspace, ISSUE).status == "draft"  # a test send does not freeze the issue


def test_test_send_failure_is_one_line_and_exit_1(ready) -> None:
    with SmtpSink() as sink:
        sink.always("nobody@example.org", "550 5.1.1 No such user")
        result = ready("send", ISSUE, "--to", "nobody@example.org", env=sink.settings_env())
    assert result.exit_code == 1
    assert "FAILED to nobody@example.org: 550 5.1.1 No such user" in result.output
    assert "test send failed for nobody@example.org" in str(result.exception)  # one line via console.run


def test_dry_run_writes_every_message_and_sends_nothing(ready, workspace, tmp_path: Path) -> None:
    assert ready("send", ISSUE, "--dry-run").exit_code == 2
    out = tmp_path / "eml"
    result = ready("send", ISSUE, "--dry-run", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Wrote 7 messages" in result.output
    files = sorted(out.glob("*.eml"))
    assert len(files) == 7
    tos = {message_from_bytes(f.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec for f in files}
    assert tos == {f"reader{n}@readers.example.org" for n in range(7)}
    assert maildir_messages(workspace) == [] and outbox.send_record(workspace, ISSUE) is None


def test_send_asks_first_then_sends_and_reports(ready, workspace) -> None:
    refused = ready("send", ISSUE, input="n\n")
    assert refused.exit_code == 1 and "to 7 readers via maildir" in refused.output
    assert maildir_messages(workspace) == []
    result = ready("send", ISSUE, input="y\n")
    assert result.exit_code == 0, result.output
    assert "7 sent" in result.output and "issue finished: 7 sent, 0 failed, 0 skipped, 0 pending" in result.output
    assert len(maildir_messages(workspace)) == 7
    again = ready("send", ISSUE, "--yes")
    assert again.exit_code == 0 and "was already sent: 7 sent" in again.output
    assert len(maildir_messages(workspace)) == 7


def test_a_send_loads_only_what_it_uses(ready, workspace) -> None:
    """A real send, in a new process as a user runs it, runs its checks and sends without an HTML tree
    builder, DNS, numpy or sqlite-utils (their imports were most of a send's start-up); run again, it
    reads the frozen copy without loading the template engine."""
    heavy = ("bs4", "lxml", "dns", "numpy", "pandas", "sqlite_utils", "pluggy", "newsletter.doctor.dns_records",
             "newsletter.doctor.probes", "issues.preview", "jinja2", "mjml")
    checks = ("newsletter.doctor.local", "issues.build.content_checks")
    probe = ("import json, sys; from click.testing import CliRunner; from cli import main; "
             "result = CliRunner().invoke(main, ['--workspace', sys.argv[1], 'send', sys.argv[2], '--yes']); "
             "assert result.exit_code == 0, result.output; "
             f"print(json.dumps([result.output, sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} "
             f"or m in {heavy!r}), [m for m in {checks!r} if m in sys.modules]]))")

    def send() -> tuple[str, list[str], list[str]]:
        done = subprocess.run([sys.executable, "-c", probe, str(workspace.root), ISSUE], capture_output=True,
                              text=True, cwd=Path(__file__).resolve().parent.parent, env={"PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr
        return tuple(json.loads(done.stdout))  # type: ignore[return-value]

    output, loaded, checked = send()
    assert "issue finished: 7 sent" in output and len(maildir_messages(workspace)) == 7
    assert {m.split(".")[0] for m in loaded} == {"jinja2", "mjml"}  # only the engine that renders the draft
    assert checked == list(checks)  # the pre-send checks ran, on what they need
    output, loaded, checked = send()
    assert "was already sent: 7 sent" in output and len(maildir_messages(workspace)) == 7
    assert loaded == [] and checked == list(checks)


def test_issue_status_text_and_json(ready, workspace) -> None:
    before = ready("issue", "status", ISSUE)
    assert before.exit_code == 0 and "not sent yet" in before.output
    with SmtpSink() as sink:
        sink.always("reader2@readers.example.org", "550 5.1.1 No such user")
        sent = ready("send", ISSUE, "--yes", "--json", env=sink.settings_env())
    assert sent.exit_code == 3  # finished with a failure
    report = json.loads(sent.stdout)
    assert report["finished"] and report["this_run"]["sent"] == 6 and report["this_run"]["bounced"] == 1
    assert report["outcome"]["state"] == "sent-with-failures" and report["outcome"]["exit_code"] == 3
    text = ready("issue", "status", ISSUE)
    assert text.exit_code == 0
    assert "sent            6" in text.output and "failed          1" in text.output
    assert "550  5.1.1 No such user" in text.output
    data = json.loads(ready("issue", "status", ISSUE, "--json").output)
    assert data["counts"] == {"pending": 0, "sending": 0, "sent": 6, "failed": 1, "skipped": 0}
    assert data["readers"] == 7 and data["status"] == "sent"
    assert data["outcome"] == {"state": "sent-with-failures", "exit_code": 3, "delivered": True,
                               "words": f"{ISSUE} is sent with failures: 6 delivered, 1 failed, 0 skipped; see "
                                        f"'newsletter issue status {ISSUE}', fix the cause and run 'newsletter send "
                                        f"{ISSUE} --retry-failed' for temporary failures"}
    assert "Outcome: 2026-W47 is sent with failures: 6 delivered, 1 failed" in text.output
    assert data["reasons"] == [{"status": "failed", "code": 550, "detail": "5.1.1 No such user", "count": 1}]


def test_issue_status_shows_deferred_readers_and_a_pause(ready) -> None:
    with SmtpSink() as sink:
        sink.always("reader2@readers.example.org", "451 4.7.1 Greylisted, try again in 5 minutes")
        env = {**sink.settings_env(), "NEWSLETTER_DELIVERY_WAIT_FOR_DEFERRED": "0"}
        result = ready("send", ISSUE, "--yes", env=env)
    assert result.exit_code == 4, result.output  # readers still waiting: unfinished, not done
    assert "issue not finished: 6 sent, 0 failed, 0 skipped, 1 pending (1 deferred, next try at 20" in result.output
    text = ready("issue", "status", ISSUE)
    assert "deferred: 1, next try at 20" in text.output
    data = json.loads(ready("issue", "status", ISSUE, "--json").output)
    assert data["deferred"] == 1 and data["next_try_at"] and data["paused"] is None
    assert data["providers"] == {"readers.example.org": {"pending": 1, "sending": 0, "sent": 6, "failed": 0,
                                                          "skipped": 0}}


def test_a_paused_send_exits_4_with_what_to_do(ready) -> None:
    with SmtpSink() as sink:
        sink.refuse_everyone("451 4.3.0 Try later")
        env = {**sink.settings_env(), "NEWSLETTER_DELIVERY_PAUSE_AFTER_FAILURES": "3",
               "NEWSLETTER_DELIVERY_RETRY_DELAY": "0.01", "NEWSLETTER_DELIVERY_DEFER_DELAY": "0.05"}
        result = ready("send", ISSUE, "--yes", env=env)
    assert result.exit_code == 4
    assert "issue paused: 0 sent, 0 failed, 0 skipped, 7 pending" in result.output
    message = result.stderr
    assert "paused itself after 3 failures in a row" in message and "451 4.3.0 Try later" in message
    assert "run 'newsletter send 2026-W47' to resume" in message
    status = ready("issue", "status", ISSUE).output
    assert "paused: 3 failures in a row from readers.example.org, the last: 451 4.3.0 Try later" in status


def test_a_server_that_is_down_is_one_line_and_changes_nothing(ready, workspace) -> None:
    from smtp_sink import free_port

    env = {"NEWSLETTER_DELIVERY_TRANSPORT": "smtp", "NEWSLETTER_SMTP_HOST": "127.0.0.1",
           "NEWSLETTER_SMTP_PORT": str(free_port()), "NEWSLETTER_SMTP_SECURITY": "none"}
    result = ready("send", ISSUE, "--yes", env=env)
    assert result.exit_code == 1
    message = str(result.exception)
    assert "\n" not in message and "cannot connect to 127.0.0.1:" in message and "nothing was sent" in message
    assert "issue paused" not in result.output  # no run: not one failure per reader
    assert outbox.send_record(workspace, ISSUE) is None and get_issue(workspace, ISSUE).status == "draft"
    assert ready("send", ISSUE, "--yes").exit_code == 0  # the Maildir default then sends to all
    assert len(maildir_messages(workspace)) == 7


@pytest.mark.parametrize("address", ["me@example.com>, <evil@example.net", "not-an-address",
                                     "me@example.com\r\nBcc: evil@example.net"])
def test_test_send_refuses_a_bad_address_before_sending(ready, workspace, address) -> None:
    result = ready("send", ISSUE, "--to", address)
    assert result.exit_code == 1
    assert str(result.exception).startswith("--to: ") and "you@example.com" in str(result.exception)
    assert maildir_messages(workspace) == []


@pytest.mark.parametrize("args", [("--to", "me@example.com", "--dry-run", "--out", "eml"),
                                  ("--to", "me@example.com", "--retry-failed"),
                                  ("--dry-run", "--out", "eml", "--retry-failed")])
def test_options_that_contradict_each_other_are_a_usage_error(ready, workspace, args) -> None:
    result = ready("send", ISSUE, *args)
    assert result.exit_code == 2
    assert maildir_messages(workspace) == []  # a --dry-run never sends, whatever else is given


def test_progress_bars_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    """DESIGN: progress bars only on a terminal, never with NO_COLOR set or --quiet."""
    import sys

    from newsletter import console

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert console.show_progress()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not console.show_progress()
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr(sys, "stderr", type("Pipe", (), {"isatty": lambda self: False})())
    assert not console.show_progress()
