"""The ``issue`` commands through click's CliRunner: build, list, render."""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import pytest
from issue_fixtures import ten_article_week

from cli import main
from newsletter.console import run


def test_build_list_and_render(cli, tmp_path: Path) -> None:
    ten_article_week(cli.ws)
    built = cli("issue", "build", "--week", "2026-W47")
    assert built.exit_code == 0, built.output
    assert "Built issue 2026-W47 (#1, 16–22 November 2026): 10 articles" in built.output

    listed = cli("issue", "list", "--json")
    assert listed.exit_code == 0
    data = json.loads(listed.output)
    assert [(i["id"], i["number"], i["status"], i["item_count"]) for i in data] == [("2026-W47", 1, "draft", 10)]

    table = cli("issue", "list")
    assert "2026-W47" in table.output and "draft" in table.output

    out = tmp_path / "out"
    rendered = cli("issue", "render", "2026-W47", "--out", str(out))
    assert rendered.exit_code == 0, rendered.output
    html = (out / "issue.html").read_text()
    text = (out / "issue.txt").read_text()
    assert "[[nl:" not in html and "[[nl:" not in text
    assert "Hi Sam Reader," in html and "reader@example.com" in text

    message = email.message_from_bytes((out / "issue.eml").read_bytes(), policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"].startswith("Weekly Training Notes #1: ")
    assert message["To"] == "Sam Reader <reader@example.com>"
    # Built by the send's own message builder: the https link and the mailto, as every reader gets them.
    assert message["List-Unsubscribe"] == "<https://news.example.com/unsubscribe/SAMPLE>, <mailto:unsubscribe@example.com>"
    assert message["Message-ID"].endswith("@example.com>") and message["Date"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "Weekly Training Notes <weekly-training-notes.example.com>"
    parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
    assert parts["text/plain"].replace("\r\n", "\n") == text
    assert parts["text/html"].replace("\r\n", "\n").rstrip("\n") == html


def test_render_by_number_and_latest_default_folder(cli) -> None:
    ten_article_week(cli.ws)
    cli("issue", "build", "--week", "2026-W47")
    result = cli("issue", "render", "1", "--json")
    assert result.exit_code == 0, result.output
    paths = json.loads(result.output)
    assert paths["issue"] == "2026-W47"
    assert Path(paths["html"]) == cli.ws.issues_dir / "2026-W47" / "issue.html"
    assert cli("issue", "render", "latest").exit_code == 0


def test_errors_are_one_line_and_exit_1(cli, capsys) -> None:
    ten_article_week(cli.ws)
    for args, message in [
        (["issue", "build", "--week", "2026-W30"], "Error: no articles were published in 2026-W30"),
        (["issue", "render", "2026-W30"], "Error: no issue 2026-W30"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            run(main, ["--workspace", str(cli.ws.root), *args])
        assert exit_info.value.code == 1
        err = capsys.readouterr().err
        assert err.startswith(message) and err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_info:  # a malformed week is a usage error
        run(main, ["--workspace", str(cli.ws.root), "issue", "build", "--week", "47"])
    assert exit_info.value.code == 2
    assert "Error: Invalid value for '--week': week '47' is not of the form YYYY-Www" in capsys.readouterr().err


def test_rebuild_of_a_frozen_issue_says_so(cli) -> None:
    from issues.send import freeze_issue

    ten_article_week(cli.ws)
    assert cli("issue", "build", "--week", "2026-W47").exit_code == 0
    again = cli("issue", "build", "--week", "2026-W47")
    assert again.exit_code == 0 and "2026-W47 (#1" in again.output
    freeze_issue(cli.ws, "2026-W47")
    refused = cli("issue", "build", "--week", "2026-W47")
    assert refused.exit_code == 1
    assert "is frozen: it started sending" in str(refused.exception)
    listed = json.loads(cli("issue", "list", "--json").output)
    assert listed[0]["status"] == "sending" and listed[0]["frozen_at"]


def test_week_option_is_parsed_alike_by_build_and_list(cli, capsys) -> None:
    ten_article_week(cli.ws)
    assert json.loads(cli("articles", "list", "--week", "2026-w47", "--json").output)
    assert cli("issue", "build", "--week", "2026-w47").exit_code == 0
    for args, message in [  # a week that is not a week is a usage error: exit 2, with the reason
        (["issue", "build", "--week", ""], "week '' is not of the form YYYY-Www"),
        (["articles", "list", "--week", ""], "week '' is not of the form YYYY-Www"),
        (["issue", "build", "--week", "last week"], "week 'last week' is not of the form YYYY-Www"),
        (["issue", "build", "--week", "9999-W52"], "week '9999-W52': the year must be between"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            run(main, ["--workspace", str(cli.ws.root), *args])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and f"Error: Invalid value for '--week': {message}" in err, (args, err)


def test_line_breaks_in_header_settings_are_refused_by_name(cli, capsys, monkeypatch, tmp_path: Path) -> None:
    ten_article_week(cli.ws)
    assert cli("issue", "build", "--week", "2026-W47").exit_code == 0
    toml = cli.ws.root / "newsletter.toml"
    for variable, setting in [("NEWSLETTER_SITE_FROM", "[site] from"), ("NEWSLETTER_SITE_NAME", "[site] name"),
                              ("NEWSLETTER_SITE_REPLY_TO", "[site] reply_to")]:
        monkeypatch.setenv(variable, "Weekly <news@example.com>\r\nBcc: everyone@example.com")
        with pytest.raises(SystemExit) as exit_info:
            run(main, ["--workspace", str(cli.ws.root), "issue", "render", "2026-W47", "--out", str(tmp_path)])
        err = capsys.readouterr().err
        assert exit_info.value.code == 1
        assert err == f"Error: {setting} (from {variable}) contains a line break; it goes into mail headers, " \
                      "so keep it on one line\n"
        monkeypatch.delenv(variable)
    toml.write_text(toml.read_text().replace('reply_to = ""', 'reply_to = """a@example.com\nX-Evil: 1"""'))
    with pytest.raises(SystemExit):
        run(main, ["--workspace", str(cli.ws.root), "issue", "render", "2026-W47", "--out", str(tmp_path)])
    assert capsys.readouterr().err == f"Error: [site] reply_to (from {toml}) contains a line break; it goes into " \
                                      "mail headers, so keep it on one line\n"
    assert not (tmp_path / "issue.eml").exists()


def test_a_from_setting_without_an_address_is_refused(cli, capsys, monkeypatch, tmp_path: Path) -> None:
    ten_article_week(cli.ws)
    assert cli("issue", "build", "--week", "2026-W47").exit_code == 0
    monkeypatch.setenv("NEWSLETTER_SITE_FROM", "Weekly Training Notes")
    with pytest.raises(SystemExit) as exit_info:
        run(main, ["--workspace", str(cli.ws.root), "issue", "render", "2026-W47", "--out", str(tmp_path)])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == ("Error: [site] from = 'Weekly Training Notes' (from NEWSLETTER_SITE_FROM) has no "
                                       "email address; write it like 'Weekly Training Notes <news@example.com>'\n")


def test_render_warns_when_gmail_would_clip_the_html(cli, capsys, monkeypatch, tmp_path: Path) -> None:
    ten_article_week(cli.ws)
    assert cli("issue", "build", "--week", "2026-W47").exit_code == 0
    args = ["--workspace", str(cli.ws.root), "issue", "render", "2026-W47", "--out", str(tmp_path), "--json"]
    with pytest.raises(SystemExit) as exit_info:
        run(main, args)
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0 and err == ""
    size = (tmp_path / "issue.html").stat().st_size
    assert json.loads(out)["html_bytes"] == size and json.loads(out)["clipped_by_gmail"] is False
    monkeypatch.setattr("issues.preview.checks.GMAIL_CLIP_BYTES", 10 * 1024)
    with pytest.raises(SystemExit) as exit_info:
        run(main, args)
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0 and json.loads(out)["clipped_by_gmail"] is True
    assert err == (f"Warning: {tmp_path / 'issue.html'} is {size / 1024:.1f} KB, over the 10 KB at which Gmail "
                   "clips a message; lower [issue] max_items or excerpt_words, then build and render again\n")
