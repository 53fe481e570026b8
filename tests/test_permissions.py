"""Files holding readers' data are the owner's alone, whatever the umask the command started with."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from newsletter.permissions import permission_problems
from newsletter.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


def _run(*args: str, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    done = subprocess.run([sys.executable, str(REPO / "cli.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, preexec_fn=lambda: os.umask(0o022))
    assert done.returncode == 0, done.stderr


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_wal_keys_mail_and_exports_are_private_under_a_loose_umask(tmp_path: Path) -> None:
    _run("init", "site", cwd=tmp_path)
    site = tmp_path / "site"
    _run("subscribers", "add", "jane@example.com", "--name", "Jane", cwd=site)  # mails a confirmation
    _run("subscribers", "export", "--output", "readers.csv", cwd=site)
    files = [site / "newsletter.db", site / ".secret_key", site / "readers.csv"]
    conn = sqlite3.connect(site / "newsletter.db")  # while open, the WAL files exist: SQLite copies the db's mode
    conn.execute("CREATE TABLE probe (x)")
    files += [site / "newsletter.db-wal", site / "newsletter.db-shm"]
    mail = [p for p in (site / "outbox").rglob("*") if p.is_file()]
    assert mail, "the confirmation mail should be in the Maildir"
    for path in files + mail:
        assert path.exists(), path
        assert _mode(path) & 0o077 == 0, f"{path} is {_mode(path):04o}"
    for folder in (site / "outbox", site / "outbox" / "new"):
        assert _mode(folder) & 0o077 == 0, f"{folder} is {_mode(folder):04o}"
    assert permission_problems(Workspace(site)) == []
    conn.close()


def test_permission_problems_names_each_wide_file_and_the_fix(workspace: Workspace) -> None:
    workspace.db.execute("CREATE TABLE IF NOT EXISTS t (x)")
    database = workspace.database_path
    assert permission_problems(workspace) == []
    os.chmod(database, 0o644)
    (workspace.root / "outbox" / "new").mkdir(parents=True)
    os.chmod(workspace.root / "outbox", 0o755)
    problems = permission_problems(workspace)
    assert f"{database} is readable by others (mode 0644); run 'chmod 600 {database}'" in problems
    assert any(p.startswith(f"{workspace.root / 'outbox'} is readable") and "chmod 700" in p for p in problems)
