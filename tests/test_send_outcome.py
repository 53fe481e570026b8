"""Outcomes that tell the truth: an issue is sent only when every reader answered and one was delivered."""

from __future__ import annotations

import json

import pytest
from send_fixtures import ISSUE, add_readers, build_issue
from smtp_sink import SmtpSink

from issues.build import get_issue
from issues.send import outbox, outcome_of
from issues.web import sent_issues
from newsletter.console import run


@pytest.fixture
def ready(workspace, cli):
    build_issue(workspace)
    add_readers(workspace, 6)
    return cli


def test_a_send_where_every_reader_failed_exits_3_is_not_sent_and_not_archived(ready, workspace) -> None:
    with SmtpSink() as sink:
        sink.refuse_everyone("451 4.3.0 Try later")
        env = {**sink.settings_env(), "NEWSLETTER_DELIVERY_MAX_ATTEMPTS": "1",
               "NEWSLETTER_DELIVERY_MAX_TOTAL_ATTEMPTS": "1", "NEWSLETTER_DELIVERY_RETRY_DELAY": "0.01"}
        result = ready("send", ISSUE, "--yes", env=env)
    assert result.exit_code == 3, result.output
    assert "issue delivered to nobody: 0 sent, 6 failed" in result.stdout
    assert "was delivered to nobody: 6 failed, 0 skipped; it is not marked sent" in result.stderr
    assert "--retry-failed" in result.stderr
    assert get_issue(workspace, ISSUE).status != "sent"
    assert [i.id for i in sent_issues(workspace)] == []  # nothing unsent in the public archive
    status = json.loads(ready("issue", "status", ISSUE, "--json").stdout)
    assert status["outcome"]["state"] == "nothing-delivered" and status["outcome"]["exit_code"] == 3
    assert not status["outcome"]["delivered"]
    again = ready("send", ISSUE, "--yes", env=env)  # nothing left to try: still the same truth
    assert again.exit_code == 3 and "was already tried: 0 sent, 6 failed" in again.stdout
    with SmtpSink() as sink:  # the server takes mail again: a retry delivers, and only now it is sent
        retried = ready("send", ISSUE, "--yes", "--retry-failed", env=sink.settings_env())
    assert retried.exit_code == 0, retried.output
    assert get_issue(workspace, ISSUE).status == "sent" and [i.id for i in sent_issues(workspace)] == [ISSUE]


def test_a_run_that_leaves_readers_pending_exits_4(ready, workspace) -> None:
    with SmtpSink() as sink:
        sink.always("reader1@readers.example.org", "452 4.2.2 Mailbox full")
        # The deferred reader's next try (minutes away) is left for the next run, not waited for.
        env = {**sink.settings_env(), "NEWSLETTER_DELIVERY_MAX_ATTEMPTS": "1", "NEWSLETTER_DELIVERY_RETRY_DELAY": "0.01",
               "NEWSLETTER_DELIVERY_WAIT_FOR_DEFERRED": "0"}
        result = ready("send", ISSUE, "--yes", env=env)
    assert result.exit_code == 4, result.output
    assert "issue not finished: 5 sent, 0 failed, 0 skipped, 1 pending" in result.stdout
    assert "1 reader still waiting" in result.stderr and "to resume" in result.stderr
    assert get_issue(workspace, ISSUE).status == "sending" and sent_issues(workspace) == []
    text = ready("issue", "status", ISSUE)
    assert "Outcome: 2026-W47 is not finished: 1 reader still waiting, 5 delivered, 0 failed" in text.stdout


def test_a_clean_send_exits_0_and_is_archived(ready, workspace) -> None:
    result = ready("send", ISSUE, "--yes", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["outcome"] == {
        "state": "sent", "words": f"{ISSUE} is sent: 6 delivered, 0 skipped", "exit_code": 0, "delivered": True}
    assert [i.id for i in sent_issues(workspace)] == [ISSUE]
    assert outbox.counts(workspace, ISSUE)["sent"] == 6


@pytest.mark.parametrize(("counts", "state", "code"), [
    ({"sent": 3, "failed": 0, "skipped": 1}, "sent", 0),
    ({"sent": 3, "failed": 2}, "sent-with-failures", 3),
    ({"sent": 0, "failed": 2, "skipped": 1}, "nothing-delivered", 3),
    ({"sent": 0, "skipped": 4}, "nothing-delivered", 3),
    ({"sent": 5, "pending": 1}, "unfinished", 4),
    ({"sent": 5, "sending": 1}, "unfinished", 4),
])
def test_outcome_of_counts(counts, state, code) -> None:
    found = outcome_of(ISSUE, counts)
    assert (found.state, found.exit_code) == (state, code)
    assert found.delivered == (state in ("sent", "sent-with-failures"))
    assert outcome_of(ISSUE, {"pending": 1}, paused="3 failures in a row").state == "paused"


@pytest.mark.parametrize("args", [
    ["issue", "build", "--week", "2026-47"],
    ["articles", "list", "--week", "2026-W60"],
    ["send", ISSUE, "--to", "a@example.com", "--dry-run"],
])
def test_usage_errors_exit_2(workspace, capsys, args) -> None:
    from cli import main

    with pytest.raises(SystemExit) as exit_info:
        run(main, ["--workspace", str(workspace.root), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Error" in err and "Traceback" not in err
