"""Failures of the disk and the database, said in one line that names the file and what to do.

A locked, read-only, full or damaged database and a folder that cannot be written are
things a user fixes, not bugs: the CLI reports them like any :class:`NewsletterError`.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from . import db

_DATABASE_ADVICE = (
    (("locked", "busy"), "the database is busy: another newsletter command has held it for over {timeout} s; "
                         "wait for it to finish, then run this again"),
    (("readonly", "read-only"), "the database is read-only for this user; make the workspace folder and "
                                "its database file writable, or run as their owner"),
    (("unable to open",), "cannot open the database; check that its folder exists and that you may write to it"),
    (("not a database", "malformed"), "this is not a usable SQLite database ({message}); restore it from a backup"),
    (("full",), "the disk is full; free some space and run this again (nothing was half-written)"),
    (("disk i/o",), "the disk reported an I/O error; check it, then run this again"),
)

_OS_ADVICE = {
    errno.EACCES: "check who may read and write it, or run as its owner",
    errno.EPERM: "check who may read and write it, or run as its owner",
    errno.EROFS: "pick a folder on a writable disk",
    errno.ENOSPC: "free some disk space and run this again",
    errno.EDQUOT: "free some disk space and run this again",
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a file is in the way of that folder; pick another path",
    errno.EEXIST: "something is in the way at that path; pick another path",
    errno.EISDIR: "that is a folder; give a file name",
}


def explain_database_error(exc: sqlite3.Error, path: Path | str) -> str | None:
    """``"<db>: the database is busy ...; wait ..."`` for a failure a user can fix, else None (a bug)."""
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
        return None
    message = str(exc)
    lowered = message.lower()
    for needles, advice in _DATABASE_ADVICE:
        if any(needle in lowered for needle in needles):
            return f"{path}: " + advice.format(timeout=f"{db.BUSY_TIMEOUT_MS / 1000:g}", message=message)
    return None


def explain_os_error(exc: OSError) -> str:
    """``"<file>: Permission denied; check its permissions, ..."``, from an OSError."""
    what = exc.strerror or str(exc) or type(exc).__name__
    where = f"{exc.filename}: " if exc.filename else ""
    if exc.filename2:
        where = f"{exc.filename} -> {exc.filename2}: "
    advice = _OS_ADVICE.get(exc.errno or 0)
    return f"{where}{what}" + (f"; {advice}" if advice else "")
