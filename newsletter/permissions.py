"""Private files: the database, its WAL, keys, mail and exports are the owner's alone (0600/0700).

They hold readers' addresses, names, IPs and user agents.  The command line and the
web app set a umask that strips group and other bits, the database file is created
0600 (SQLite gives its ``-wal`` and ``-shm`` files the same mode), and
:func:`permission_problems` lists anything wider for ``newsletter doctor``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the workspace module imports the database module, which imports this one
    from .workspace import Workspace

PRIVATE_UMASK = 0o077
MAILDIR_FILES_CHECKED = 200  # a sample is enough: one file made under a loose umask says it


def keep_files_private() -> None:
    """Strip group and other bits from every file and folder this process creates from now on."""
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)


def create_private_file(path: Path | str) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (before SQLite opens it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except (FileExistsError, IsADirectoryError):
        return
    os.close(fd)


def open_mode(path: Path) -> int | None:
    """The mode of ``path`` when group or others may read it; None when private or missing."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None


def chmod_fix(path: Path) -> str:
    """The command that makes ``path`` private."""
    return f"chmod {'700' if path.is_dir() else '600'} {path}"


def private_paths(ws: Workspace) -> list[tuple[str, Path]]:
    """(what, path) of every file and folder of ``ws`` that must be its owner's alone (existing or not)."""
    settings = ws.settings
    database = ws.database_path
    paths = [("database", database), ("database WAL", Path(f"{database}-wal")),
             ("database shared memory", Path(f"{database}-shm")), ("database journal", Path(f"{database}-journal")),
             ("signing key", ws.path(settings.paths.secret_key_file))]
    if settings.dkim.key_file:
        paths.append(("DKIM key", ws.path(settings.dkim.key_file)))
    for label, folder in (("outbox Maildir", settings.delivery.maildir),
                          ("rejected inbound Maildir", settings.inbound.rejected_maildir)):
        root = ws.path(folder)
        if not root.is_dir():
            continue
        paths.append((label, root))
        for sub in ("cur", "new", "tmp"):
            box = root / sub
            paths.append((label, box))
            if box.is_dir():
                with os.scandir(box) as entries:
                    paths.extend((label, Path(entry.path))
                                 for _, entry in zip(range(MAILDIR_FILES_CHECKED), entries, strict=False))
    return paths


def permission_problems(ws: Workspace) -> list[str]:
    """One line per private file or folder of ``ws`` that group or others may read, saying the fix.

    Checks the database and its WAL/SHM/journal, the signing key and DKIM key files,
    and the outgoing and rejected-inbound Maildirs (folders and a sample of messages).
    """
    return [f"{path} is readable by others (mode {mode:04o}); run '{chmod_fix(path)}'"
            for _, path in private_paths(ws) if (mode := open_mode(path)) is not None]


__all__ = ["PRIVATE_UMASK", "chmod_fix", "create_private_file", "keep_files_private", "open_mode",
           "permission_problems", "private_paths"]
