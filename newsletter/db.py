"""The workspace's SQLite database: WAL mode, a busy timeout, and per-component migrations.

Each package keeps its own list of migrations (``subscribers``, ``issues``, ...)
and asks for it with :func:`migrate`; the applied version of each component is
stored in the ``schema_versions`` table, so an older workspace upgrades in place.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .permissions import create_private_file


class Database:
    """One SQLite connection with the few helpers the project uses: ``execute``, ``query``, ``conn``.

    Every statement here is plain SQL, so commands (a send among them) never import
    sqlite-utils, whose import costs about 50 ms of start-up (numpy, pluggy, dateutil).
    Its table API (``db["things"].insert(...)``, ``.get``, ``.columns_dict``) is still
    there (the article store and tests use it): it is loaded on first use, over the same connection.
    """

    _nl_write_lock: threading.RLock | None = None  # set by write_transaction
    _nl_quiet_checkpoints = False  # set by subscribers.mailqueue

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._tables: Any = None
        conn.execute("PRAGMA recursive_triggers = on")  # as sqlite-utils sets it: a REPLACE fires delete triggers

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None) -> sqlite3.Cursor:
        return self.conn.execute(sql) if parameters is None else self.conn.execute(sql, parameters)

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Each row of ``sql`` as a dict keyed by column name (the statement runs now, rows are read lazily)."""
        cursor = self.execute(sql, params)
        keys = [d[0] for d in cursor.description]
        return (dict(zip(keys, row, strict=True)) for row in cursor)

    def table_names(self) -> list[str]:
        return [r[0] for r in self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]

    def close(self) -> None:
        self.conn.close()

    def __getitem__(self, table: str) -> Any:
        """sqlite-utils' ``Table`` for ``table`` (imported now, on this same connection).

        Without sqlite-utils plugins: code from elsewhere has no business on the readers' database.
        """
        if self._tables is None:
            import sqlite_utils

            self._tables = sqlite_utils.Database(self.conn, execute_plugins=False)
        return self._tables[table]


Migration = Callable[[Database], None]

BUSY_TIMEOUT_MS = 10_000


_WRITE_LOCKS: dict[str, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _process_write_lock(db: Database) -> threading.RLock:
    """One lock per database file in this process (cached on the thread's ``db``)."""
    lock = getattr(db, "_nl_write_lock", None)
    if lock is None:
        path = next((row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main"), "") or str(id(db))
        with _WRITE_LOCKS_GUARD:
            lock = _WRITE_LOCKS.setdefault(path, threading.RLock())
        db._nl_write_lock = lock  # type: ignore[attr-defined]
    return lock


@contextmanager
def write_transaction(db: Database, *, durable: bool = False) -> Iterator[Database]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``: all of it is stored or none, and read-then-write never races.

    ``durable=True`` commits with ``synchronous = FULL`` (the WAL is synced to disk before
    COMMIT returns), for what a power cut must never lose: consent, unsubscribes, every
    reader's status.  Otherwise ``NORMAL``: a power cut may lose the last commits, which
    for the outbox means a message recorded as sent may go out again (never one skipped).

    Threads of one process queue on a Python lock first: SQLite's busy handler polls
    with sleeps of up to 100 ms, so under many threads a waiter could starve past the
    busy timeout; other processes still meet the busy timeout as before.
    """
    conn = db.conn
    lock = _process_write_lock(db)
    # Bounded: a thread that waits on another while in a transaction gets SQLite's "locked", not a hang.
    held = lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        if durable:
            conn.execute("PRAGMA synchronous = FULL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        if durable:
            conn.execute("PRAGMA synchronous = NORMAL")
        if held:
            lock.release()


def connect(path: Path | str) -> Database:
    """Open (creating if needed) the database at ``path`` with WAL and a busy timeout."""
    if str(path) != ":memory:":
        create_private_file(path)  # 0600: it holds readers' addresses; SQLite gives -wal/-shm the same mode
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    # Deleted and overwritten data is zeroed in the file, so a forgotten reader leaves no bytes behind
    # (the default of some SQLite builds, e.g. Debian's, but not of all).
    conn.execute("PRAGMA secure_delete = ON")
    return Database(conn)


def has_table(db: Database, name: str, kind: str = "table") -> bool:
    """Whether the database holds a table (or, with ``kind="view"``, a view) called ``name``."""
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?", [kind, name]).fetchone() is not None


def schema_version(db: Database, component: str) -> int:
    """The migration count applied so far for ``component`` (0 for a new database)."""
    if not has_table(db, "schema_versions"):
        return 0
    row = db.execute(
        "SELECT version FROM schema_versions WHERE component = ?", [component]
    ).fetchone()
    return row[0] if row else 0


def migrate(db: Database, component: str, migrations: Sequence[Migration]) -> int:
    """Apply the migrations of ``component`` not yet applied, each in its own transaction.

    Returns the new version.  Safe when two processes start at once: the version
    is re-read under a write lock before each step.
    """
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_versions "
        "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    )
    if schema_version(db, component) >= len(migrations):
        return len(migrations)
    conn = db.conn
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(db, component)
            if current >= len(migrations):
                conn.execute("COMMIT")
                return current
            migrations[current](db)
            db.execute(
                "INSERT INTO schema_versions (component, version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                [component, current + 1],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
