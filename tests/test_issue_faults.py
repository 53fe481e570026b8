"""Faults of the disk and the database: one line naming the file and what to do, exit 1, nothing lost."""

from __future__ import annotations

import json
import sqlite3
import tomllib
from pathlib import Path

import pytest
from issue_fixtures import write_article

from cli import main
from newsletter.console import run
from newsletter.init import init_workspace
from newsletter.settings import DEFAULTS
from newsletter.workspace import Workspace


def run_cli(*args: str, capsys) -> tuple[int, str, str]:
    """Run through ``newsletter.console.run`` as the console script does: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exit_info:
        run(main, list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_a_locked_database_is_one_line_and_the_import_can_be_run_again(workspace: Workspace, tmp_path: Path,
                                                                       capsys, monkeypatch) -> None:
    monkeypatch.setattr("newsletter.db.BUSY_TIMEOUT_MS", 100)
    article = write_article(tmp_path / "in", "easy-runs", "Easy Runs", "2026-11-17T09:00:00-05:00")
    holder = sqlite3.connect(workspace.database_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
    try:
        code, out, err = run_cli("--workspace", str(workspace.root), "articles", "import", str(article),
                                 capsys=capsys)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 1
    assert err == (f"Error: {workspace.database_path}: the database is busy: another newsletter command has "
                   "held it for over 0.1 s; wait for it to finish, then run this again\n")
    code, out, err = run_cli("--workspace", str(workspace.root), "articles", "import", str(article), "--json",
                             capsys=capsys)
    assert (code, err) == (0, "")
    assert json.loads(out)["counts"]["added"] == 1


def test_a_damaged_database_says_so_and_what_to_do(workspace: Workspace, capsys) -> None:
    workspace.close()
    workspace.database_path.write_bytes(b"this is not SQLite at all, but some other file " * 100)
    code, out, err = run_cli("--workspace", str(workspace.root), "issue", "list", capsys=capsys)
    assert code == 1 and out == ""
    assert err == (f"Error: {workspace.database_path}: this is not a usable SQLite database "
                   "(file is not a database); restore it from a backup\n")


def test_a_folder_that_cannot_be_written_is_named(workspace: Workspace, tmp_path: Path, capsys) -> None:
    write_article(workspace.articles_dir, "easy-runs", "Easy Runs", "2026-11-17T09:00:00-05:00")
    root = str(workspace.root)
    assert run_cli("--workspace", root, "articles", "import", capsys=capsys)[0] == 0
    assert run_cli("--workspace", root, "issue", "build", "--week", "2026-W47", capsys=capsys)[0] == 0
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder")
    code, out, err = run_cli("--workspace", root, "issue", "render", "2026-W47", "--out",
                             str(in_the_way / "out"), capsys=capsys)
    assert code == 1 and "Traceback" not in err and err.count("\n") == 1
    assert err.startswith(f"Error: {in_the_way / 'out'}: Not a directory; a file is in the way")


def test_init_where_it_cannot_write_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "a-file").write_text("x")
    code, _, err = run_cli("init", str(tmp_path / "a-file" / "site"), capsys=capsys)
    assert code == 1 and err.count("\n") == 1
    assert err.startswith(f"Error: cannot make a workspace in {tmp_path / 'a-file' / 'site'}: ")
    assert "a file is in the way" in err


def test_init_writes_the_subject_and_preheader_templates_for_editing(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "site")
    written = tomllib.loads((ws.root / "newsletter.toml").read_text())["issue"]
    for key in ("subject", "preheader", "utm_campaign"):
        assert written[key] == DEFAULTS["issue"][key]
    ws.close()


@pytest.mark.parametrize(("error", "advice"), [
    (sqlite3.OperationalError("attempt to write a readonly database"), "make the workspace folder and its database"),
    (sqlite3.OperationalError("database or disk is full"), "free some space"),
    (sqlite3.OperationalError("unable to open database file"), "check that its folder exists"),
    (sqlite3.IntegrityError("UNIQUE constraint failed: articles.url"), None),  # a bug, not the user's to fix
])
def test_database_failures_a_user_can_fix_get_advice(error: sqlite3.Error, advice: str | None) -> None:
    from newsletter.faults import explain_database_error

    message = explain_database_error(error, "/srv/news/newsletter.db")
    if advice is None:
        assert message is None
    else:
        assert message is not None and message.startswith("/srv/news/newsletter.db: ") and advice in message


def test_os_errors_name_the_file_and_what_to_do() -> None:
    import errno

    from newsletter.faults import explain_os_error

    denied = PermissionError(errno.EACCES, "Permission denied", "/srv/news/newsletter.toml")
    assert explain_os_error(denied) == ("/srv/news/newsletter.toml: Permission denied; check who may read and "
                                        "write it, or run as its owner")
    full = OSError(errno.ENOSPC, "No space left on device", "/srv/news/issues/2026-W47/issue.html")
    assert explain_os_error(full).endswith("No space left on device; free some disk space and run this again")
