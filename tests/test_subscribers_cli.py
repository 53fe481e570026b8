"""The ``newsletter subscribers`` commands, run in-process through the ``cli`` fixture."""

from __future__ import annotations

import csv
import io
import json

from test_subscribers_helpers import error_of, sent_mail

import subscribers


def test_add_sends_confirmation_and_show_lists_history(cli, workspace):
    result = cli("subscribers", "add", "Jane@Example.com", "--name", "Jane")
    assert result.exit_code == 0, result.output
    assert "confirmation email sent" in result.output
    assert len(sent_mail(workspace)) == 1
    again = cli("subscribers", "add", "jane@example.com")
    assert "already waiting" in again.output and "no confirmation email" in again.output

    shown = cli("subscribers", "show", "jane@example.com")
    assert shown.exit_code == 0
    assert "Jane@example.com" in shown.output and "subscribed" in shown.output and "confirmation_sent" in shown.output
    data = json.loads(cli("subscribers", "show", "JANE@example.com", "--json").output)
    assert data["status"] == "pending" and [e["kind"] for e in data["events"]] == ["subscribed", "confirmation_sent"]


def test_add_confirmed_needs_consent(cli, workspace, capsys):
    assert "--consent" in error_of(cli, capsys, "subscribers", "add", "old@example.com", "--confirmed")
    ok = cli("subscribers", "add", "old@example.com", "--confirmed", "--consent", "signed up at the 2025 workshop")
    assert ok.exit_code == 0 and "as confirmed" in ok.output
    assert sent_mail(workspace) == []


def test_bad_address_is_one_line_exit_1(cli, capsys):
    assert "not a valid email address" in error_of(cli, capsys, "subscribers", "add", "not an address")
    assert "line break" in error_of(cli, capsys, "subscribers", "add", "a@example.com", "--name", "A\r\nBcc: b@x.org")


def test_list_remove_forget(cli, workspace, capsys):
    for address in ("a@example.com", "b@example.com", "c@example.com"):
        cli("subscribers", "add", address, "--confirmed", "--consent", "test")
    listed = json.loads(cli("subscribers", "list", "--json").output)
    assert [r["email"] for r in listed] == ["a@example.com", "b@example.com", "c@example.com"]
    assert cli("subscribers", "remove", "b@example.com").exit_code == 0
    confirmed = json.loads(cli("subscribers", "list", "--status", "confirmed", "--json").output)
    assert [r["email"] for r in confirmed] == ["a@example.com", "c@example.com"]
    assert len(json.loads(cli("subscribers", "list", "--limit", "1", "--json").output)) == 1
    plain = cli("subscribers", "list", "--status", "unsubscribed")
    assert "b@example.com" in plain.output and "a@example.com" not in plain.output

    aborted = cli("subscribers", "forget", "c@example.com", input="n\n")
    assert aborted.exit_code == 1
    forgot = cli("subscribers", "forget", "c@example.com", "--yes")
    assert forgot.exit_code == 0 and "forgotten" in forgot.output
    assert "no reader" in error_of(cli, capsys, "subscribers", "show", "c@example.com")
    readd = error_of(cli, capsys, "subscribers", "add", "c@example.com", "--confirmed", "--consent", "again")
    assert "cannot be added back" in readd


def test_import_export_stats(cli, workspace, tmp_path, capsys):
    source = tmp_path / "list.csv"
    source.write_text("name;email\nAnn;ann@example.com\nBen;ben@example.com\nBad;nope\nAnn again;ANN@example.com\n")
    assert "--consent" in error_of(cli, capsys, "subscribers", "import", str(source), "--confirmed")
    result = cli("subscribers", "import", str(source), "--confirmed", "--consent", "exported from our old provider")
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output and "line 4" in result.output and "duplicate in file" in result.output
    report = json.loads(cli("subscribers", "import", str(source), "--json").output)
    assert report["added"] == 0 and report["skipped"] == {"already confirmed": 2, "duplicate in file": 1}
    assert report["bad_rows"][0]["line"] == 4

    exported = cli("subscribers", "export", "--status", "confirmed")
    assert exported.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    assert [(r["email"], r["name"], r["status"]) for r in rows] == [
        ("ann@example.com", "Ann", "confirmed"), ("ben@example.com", "Ben", "confirmed"),
    ]
    assert all(r["confirmed_at"] and r["created_at"] for r in rows)
    out = tmp_path / "out.csv"
    assert cli("subscribers", "export", "-o", str(out)).exit_code == 0
    assert out.read_text().count("\n") == 3

    reader = subscribers.get_subscriber(workspace, "ben@example.com")
    subscribers.unsubscribe(workspace, reader.id, source="link")
    stats = json.loads(cli("subscribers", "stats", "--json").output)
    assert stats["by_status"] == {"pending": 0, "confirmed": 1, "unsubscribed": 1, "bounced": 0, "complained": 0}
    [week] = stats["weeks"]
    assert week["imported"] == 2 and week["leavers"] == 1 and week["signups"] == 0
    assert week["week"].startswith("20") and "-W" in week["week"]
    text = cli("subscribers", "stats")
    assert "confirmed" in text.output and week["week"] in text.output


def test_every_command_has_help_with_an_example(cli):
    for command in ("add", "list", "show", "remove", "forget", "import", "export", "stats"):
        result = cli("subscribers", command, "--help")
        assert result.exit_code == 0 and "Example:" in result.output, command
