"""Workspace discovery, init, the secret key file and per-component migrations."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from newsletter import db as dbmod
from newsletter.errors import ConfigError, WorkspaceNotFound
from newsletter.init import init_workspace
from newsletter.workspace import Workspace, find_workspace


def test_init_makes_a_workspace_and_refuses_twice(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "site")
    assert (ws.root / "newsletter.toml").is_file()
    assert ws.articles_dir.is_dir() and ws.issues_dir.is_dir()
    assert ws.database_path.exists()
    assert ".secret_key" in (ws.root / ".gitignore").read_text()
    with pytest.raises(ConfigError, match="already"):
        init_workspace(tmp_path / "site")


def test_find_order_explicit_then_env_then_parents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = init_workspace(tmp_path / "a").root
    b = init_workspace(tmp_path / "b").root
    (b / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(b / "deep" / "er")
    assert find_workspace(None, environ={}) == b
    assert find_workspace(None, environ={"NEWSLETTER_HOME": str(a)}) == a
    assert find_workspace(str(b), environ={"NEWSLETTER_HOME": str(a)}) == b


def test_not_found_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkspaceNotFound, match="newsletter init"):
        find_workspace(None, environ={})


def test_secret_key_file_is_private_and_stable(workspace: Workspace) -> None:
    key = workspace.secret_key
    path = workspace.root / ".secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Workspace(workspace.root, environ={}).secret_key == key
    assert len(key) >= 32


def test_secret_key_from_environment_wins(workspace: Workspace) -> None:
    ws = Workspace(workspace.root, environ={"NEWSLETTER_SECRET_KEY": "x" * 40})
    assert ws.secret_key == b"x" * 40
    assert not (workspace.root / ".secret_key").exists()


def test_readable_key_file_is_refused(workspace: Workspace) -> None:
    path = workspace.root / ".secret_key"
    path.write_text("k" * 40)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        _ = Workspace(workspace.root, environ={}).secret_key


def test_database_is_wal_with_busy_timeout(workspace: Workspace) -> None:
    assert workspace.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert workspace.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_migrations_upgrade_an_older_database_in_place(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    v1 = [lambda d: d["things"].create({"id": int, "name": str}, pk="id")]
    db = dbmod.connect(path)
    assert dbmod.migrate(db, "things", v1) == 1
    db["things"].insert({"id": 1, "name": "kept"})
    db.conn.close()

    v2 = [*v1, lambda d: d["things"].add_column("colour", str)]
    db = dbmod.connect(path)
    assert dbmod.migrate(db, "things", v2) == 2
    assert dbmod.migrate(db, "things", v2) == 2
    assert db["things"].get(1)["name"] == "kept"
    assert "colour" in db["things"].columns_dict
    assert dbmod.schema_version(db, "things") == 2


def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    def broken(d):
        d.execute("CREATE TABLE half (id INTEGER)")
        raise RuntimeError("boom")

    db = dbmod.connect(tmp_path / "x.db")
    with pytest.raises(RuntimeError):
        dbmod.migrate(db, "c", [broken])
    assert "half" not in db.table_names()
    assert dbmod.schema_version(db, "c") == 0
