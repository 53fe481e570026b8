"""The ``articles import`` and ``articles list`` commands, in-process and through the real entry point."""

from __future__ import annotations

import json
import shutil

import pytest

from newsletter.samples import ARTICLES_DIR, SAVED_PAGE


def run_cli(ws, *args: str, capsys) -> tuple[int, str, str]:
    """Run through ``newsletter.console.run``, as the console script does: exit code, stdout, stderr."""
    from cli import main
    from newsletter.console import run

    with pytest.raises(SystemExit) as exit_info:
        run(main, ["--workspace", str(ws.root), *args])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_import_then_list(cli):
    result = cli("articles", "import", str(ARTICLES_DIR))
    assert result.exit_code == 0, result.output
    assert "Imported: 18 added, 0 updated, 0 unchanged, 0 skipped, 0 failed." in result.output
    again = cli("articles", "import", str(ARTICLES_DIR))
    assert "Imported: 0 added, 0 updated, 18 unchanged, 0 skipped, 0 failed." in again.output

    listed = cli("articles", "list", "--week", "2026-W47", "--json")
    assert listed.exit_code == 0
    articles = json.loads(listed.output)
    assert len(articles) == 6 and {a["week"] for a in articles} == {"2026-W47"}
    assert "body_html" not in articles[0] and articles[0]["url"].startswith("https://blog.example.com/")
    assert [a["published_at"] for a in articles] == sorted(a["published_at"] for a in articles)

    text = cli("articles", "list", "--week", "2026-W45")
    assert text.exit_code == 0
    assert "2026-11-02 06:30  2026-W45  Easy Runs Should Feel Too Easy" in text.output
    assert text.output.rstrip().endswith("6 articles.")
    assert "No articles in 2026-W40." in cli("articles", "list", "--week", "2026-W40").output


def test_import_json_report(cli):
    result = cli("articles", "import", str(ARTICLES_DIR / "deload-weeks.md"), "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["counts"]["added"] == 1
    assert report["entries"][0]["title"] == "Deload Weeks: Training Less to Get Stronger"


def test_import_without_sources_reads_the_articles_folder(cli):
    shutil.copy(ARTICLES_DIR / "deload-weeks.md", cli.ws.articles_dir / "deload-weeks.md")
    result = cli("articles", "import")
    assert result.exit_code == 0 and "1 added" in result.output


def test_date_option_for_a_saved_page(cli):
    result = cli("articles", "import", str(SAVED_PAGE), "--date", "2026-11-18")
    assert result.exit_code == 0, result.output
    assert "no date in the source; used --date 2026-11-18" in result.output
    listed = json.loads(cli("articles", "list", "--json").output)
    assert listed[0]["published_at"] == "2026-11-18T05:00:00+00:00"


def test_one_bad_file_is_one_line_and_exit_1(workspace, tmp_path, capsys):
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: [unclosed\n---\nbody\n")
    code, out, err = run_cli(workspace, "articles", "import", str(bad), capsys=capsys)
    assert code == 1
    assert len(err.splitlines()) == 1
    assert err.startswith(f"Error: {bad}:2: front matter is not valid YAML (") and err.endswith("; fix that line\n")
    assert "Traceback" not in out + err


def test_several_bad_files_list_each_and_still_import_the_good(workspace, tmp_path, capsys):
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES_DIR, folder)
    (folder / "empty.md").write_text("")
    (folder / "future.md").write_text("---\ntitle: Later\ndate: 2099-01-01\n---\nx\n")
    code, out, err = run_cli(workspace, "articles", "import", str(folder), capsys=capsys)
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("failed") and "empty.md: empty, nothing to import" in lines[0]
    assert "future.md:3: dated 2099-01-01, which is in the future" in lines[1]
    assert lines[2] == "Error: 2 of 20 failed to import (listed above); the others were imported"
    assert "Imported: 18 added, 0 updated, 0 unchanged, 0 skipped, 2 failed." in out


def test_bad_week_and_missing_source(workspace, capsys, tmp_path):
    code, _, err = run_cli(workspace, "articles", "list", "--week", "2025-W53", capsys=capsys)
    assert code == 2 and err.endswith("Error: Invalid value for '--week': 2025 has weeks 01 to 52, not 53\n")
    code, _, err = run_cli(workspace, "articles", "import", str(tmp_path / "nope.md"), capsys=capsys)
    assert (code, err) == (1, f"Error: {tmp_path / 'nope.md'}: no such file or folder\n")


def test_help_has_examples(cli):
    for command in (["articles"], ["articles", "import"], ["articles", "list"]):
        result = cli(*command, "--help")
        assert result.exit_code == 0 and "Example:" in result.output


def test_json_report_with_a_failure_is_still_one_document(workspace, tmp_path, capsys):
    (tmp_path / "empty.md").write_text("")
    code, out, err = run_cli(workspace, "articles", "import", str(tmp_path / "empty.md"), "--json", capsys=capsys)
    assert code == 1
    assert json.loads(out)["counts"]["failed"] == 1
    assert err == f"Error: {tmp_path / 'empty.md'}: empty, nothing to import\n"


def test_json_report_with_several_failures_points_at_the_json(workspace, tmp_path, capsys):
    (tmp_path / "empty.md").write_text("")
    (tmp_path / "notes.md").write_text("---\ntitle: [oops\n---\nx\n")
    code, out, err = run_cli(workspace, "articles", "import", str(tmp_path), "--json", capsys=capsys)
    assert code == 1 and json.loads(out)["counts"]["failed"] == 2
    assert err == "Error: 2 of 2 failed to import (each is in the JSON report); the others were imported\n"


def test_an_empty_articles_folder_says_what_to_do(workspace, capsys):
    code, _, err = run_cli(workspace, "articles", "import", capsys=capsys)
    assert code == 1
    assert err == (f"Error: {workspace.articles_dir}: no Markdown files (*.md) in this folder; put the articles "
                   "there, or name the files, feeds or pages to import\n")
