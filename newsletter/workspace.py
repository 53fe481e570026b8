"""A workspace: the folder holding one newsletter's settings, database, articles and issues.

Found from ``--workspace``, then ``NEWSLETTER_HOME``, then the current folder and
its parents (the first that holds ``newsletter.toml``).
"""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError, WorkspaceNotFound
from .settings import SETTINGS_FILE, Settings, load_settings

if TYPE_CHECKING:  # the database layer is loaded on first use: `newsletter --help` needs none of it
    from . import db as dbmod
    from .db import Database


def find_workspace(explicit: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """Locate the workspace folder, or raise :class:`WorkspaceNotFound` saying where we looked."""
    environ = os.environ if environ is None else environ
    if explicit:
        root = Path(explicit).expanduser()
        if not (root / SETTINGS_FILE).is_file():
            raise WorkspaceNotFound(f"{root}: no {SETTINGS_FILE} here; run 'newsletter init {root}' first")
        return root.resolve()
    home = environ.get("NEWSLETTER_HOME")
    if home:
        root = Path(home).expanduser()
        if not (root / SETTINGS_FILE).is_file():
            raise WorkspaceNotFound(
                f"NEWSLETTER_HOME={home}: no {SETTINGS_FILE} there; run 'newsletter init {home}'"
            )
        return root.resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    raise WorkspaceNotFound(
        f"no {SETTINGS_FILE} in {here} or its parents; run 'newsletter init DIR' "
        "or pass --workspace DIR"
    )


class Workspace:
    """One newsletter's folder, its settings and its database connection (one per thread)."""

    def __init__(self, root: Path | str, environ: Mapping[str, str] | None = None) -> None:
        self.root = Path(root).resolve()
        self._environ = os.environ if environ is None else environ
        self.settings: Settings = load_settings(self.root, self._environ)
        self._local = threading.local()
        self._migrated: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def find(cls, explicit: str | os.PathLike | None = None) -> Workspace:
        return cls(find_workspace(explicit))

    def reopen(self) -> Workspace:
        """The same folder and environment as a new object with no connection open (for a forked process)."""
        return type(self)(self.root, self._environ)

    def path(self, relative: str) -> Path:
        """A settings path resolved against the workspace root."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.root / p

    @property
    def articles_dir(self) -> Path:
        return self.path(self.settings.paths.articles)

    @property
    def issues_dir(self) -> Path:
        return self.path(self.settings.paths.issues)

    @property
    def database_path(self) -> Path:
        return self.path(self.settings.paths.database)

    @property
    def db(self) -> Database:
        """This thread's connection to the workspace database, with the kernel schema applied."""
        conn = getattr(self._local, "db", None)
        if conn is None:
            from . import db as dbmod

            conn = dbmod.connect(self.database_path)
            self._local.db = conn
            self._local.components = set()
        return conn

    def require_schema(self, component: str, migrations: Sequence[dbmod.Migration]) -> Database:
        """Return the database with ``component``'s migrations applied (once per process)."""
        database = self.db
        if component not in self._migrated:
            with self._lock:
                if component not in self._migrated:
                    from . import db as dbmod

                    dbmod.migrate(database, component, migrations)
                    self._migrated.add(component)
        return database

    def close(self) -> None:
        conn = getattr(self._local, "db", None)
        if conn is not None:
            conn.conn.close()
            self._local.db = None

    @cached_property
    def secret_key(self) -> bytes:
        """The token signing key: ``NEWSLETTER_SECRET_KEY``, else a 0600 key file made on first use."""
        env = self._environ.get("NEWSLETTER_SECRET_KEY")
        if env:
            if len(env) < 16:
                raise ConfigError("NEWSLETTER_SECRET_KEY is too short; use at least 32 random characters")
            return env.encode()
        path = self.path(self.settings.paths.secret_key_file)
        if not path.exists():
            self._create_key_file(path)
        if path.stat().st_mode & 0o077:
            raise ConfigError(f"{path} is readable by others; run 'chmod 600 {path}'")
        return path.read_text().strip().encode()

    @staticmethod
    def _create_key_file(path: Path) -> None:
        """Write a new random key to a private temporary file, then link it into place.

        The link is atomic and fails if another process won the race, so nobody
        ever reads a half-written key.
        """
        fd, tmp = tempfile.mkstemp(prefix=".secret_key.", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as fh:  # mkstemp makes the file 0600
                fh.write(secrets.token_urlsafe(48) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
