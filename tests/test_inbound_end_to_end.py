"""End to end: send an issue to a local SMTP server that accepts every message but then bounces
some readers (writing DSNs into a Maildir, as a relay would), process that Maildir, and see exactly
those readers bounced and left out of the next send."""

from __future__ import annotations

import json
import mailbox

from inbound_helpers import make_dsn
from issue_fixtures import ten_article_week
from smtp_sink import Received, SmtpSink

from issues.build import build_issue
from issues.inbound import issue_feedback
from issues.send import send_issue
from newsletter.workspace import Workspace
from subscribers import get_subscriber, register

KEPT = ["ann@example.org", "ben@example.net", "cleo@example.com", "dev@example.org"]
DOOMED = {"gone@example.org": "5.1.1", "deleted@example.net": "5.1.10"}  # 5.2.1 (disabled) is soft


def test_readers_bounced_after_acceptance_are_marked_and_not_mailed_again(workspace, tmp_path, monkeypatch, cli):
    returned = mailbox.Maildir(tmp_path / "bounces", create=True)

    def bounce_some(received: Received) -> None:
        for rcpt in received.rcpt_tos:
            if rcpt.lower() in DOOMED:
                status = DOOMED[rcpt.lower()]
                returned.add(make_dsn(received.mail_from, rcpt, received.data, status=status,
                                      reply=f"550 {status} <{rcpt}>: mailbox unavailable"))

    with SmtpSink() as sink:
        sink.handler.on_message = bounce_some
        for key, value in sink.settings_env().items():
            monkeypatch.setenv(key, value)
        ws = Workspace(workspace.root)
        for email in [*KEPT, *DOOMED]:
            register(ws, email, source="import", confirmed=True, consent_text="Signed up at the race expo")
        ten_article_week(ws)
        build_issue(ws, "2026-W47")
        build_issue(ws, "2026-W46")

        first = send_issue(ws, "2026-W47")
        assert first.finished
        assert set(sink.counts()) == {*KEPT, *DOOMED}  # the server accepted everyone
        assert len(returned) == len(DOOMED)

        result = cli("inbound", "process", str(tmp_path / "bounces"), "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["counts"] == {"done": 2}
        found = [r for m in report["messages"] for r in m["readers"]]
        assert {(r["found_by"], r["issue_id"], r["status"]) for r in found} == {("verp", "2026-W47", "bounced")}
        assert {email: get_subscriber(ws, email).status for email in [*KEPT, *DOOMED]} == {
            **dict.fromkeys(KEPT, "confirmed"), **dict.fromkeys(DOOMED, "bounced"),
        }
        assert issue_feedback(ws, "2026-W47")["hard_bounces"] == 2
        assert "Came back: 2 hard bounces, 0 soft bounces, 0 complaints" in cli("issue", "status", "2026-W47").output
        per_issue = json.loads(cli("subscribers", "stats", "--json").output)["per_issue"]
        assert [(row["issue_id"], row["hard_bounces"]) for row in per_issue] == [("2026-W47", 2)]

        second = send_issue(ws, "2026-W46")
        assert second.finished
        counts = sink.counts()
        assert {email: counts[email] for email in KEPT} == dict.fromkeys(KEPT, 2)
        assert {email: counts[email] for email in DOOMED} == dict.fromkeys(DOOMED, 1)

    again = cli("inbound", "process", str(tmp_path / "bounces"))
    assert "2 message(s): 2 duplicate" in again.output
