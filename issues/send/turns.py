"""Turns at the database for a send spread over processes: one writer at a time, the next woken at once.

SQLite lets one process write at a time; a process that finds the database busy
sleeps in its busy handler (a millisecond or more) before it looks again, and a
worker waiting there holds its connection's next message back.  The send's
processes instead queue on an exclusive lock (``flock``) of a file beside the
workspace's send lock: the kernel wakes the next one as soon as the writer is done.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path


class DbTurns:
    """``with turns():`` around a write; with no ``path`` (a send in one process) it does nothing."""

    def __init__(self, path: Path | None = None) -> None:
        self._fd: int | None = None
        self._threads = threading.Lock()  # flock is per open file: this process's threads queue here first
        if path is not None:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        if self._fd is None:
            yield
            return
        import fcntl

        with self._threads:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
