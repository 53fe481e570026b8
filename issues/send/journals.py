"""Delivery journals: each process of a send appends what the server accepted to a file of its own.

Processes that shared the database's one write lock spent their time waiting for
it (and re-reading pages the other had changed), so a second process made the send
slower.  Instead each process of the send appends what the server accepted to its
own journal, one ``write`` per group of results, before its connections send their
next bodies; a ``kill -9`` cannot undo a finished ``write``, so the promise stays
"at most the message in flight per connection goes out twice".  (In one process
the journal pays too: one ``write`` costs far less than one transaction.)  A thread
of the send (:mod:`issues.send.folding`) folds the journals into the outbox in big
batches while the send runs, and at its end; any later command that reads or claims the outbox folds what a killed send
left (:func:`issues.send.outbox.fold_journals`).

A journal's writer holds an exclusive ``flock`` on it for as long as it lives: a
command that finds a journal it cannot lock knows a live send is writing it.  The
outbox applies each line only to a row still ``sending``, so folding a line twice
changes nothing.  Journals are only read up to their last complete line: a line
cut short by a crash (power loss) is a message in flight, sent again.

A writer moves on to a new segment (a new file, ``….<n>.journal``) once its file
holds :data:`SEGMENT` bytes, and closes the old one; a folder that has folded a
segment whose lock nobody holds any more removes it.  So a send's journals take a
few segments of disk however long its list, not some 115 bytes per reader.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from newsletter.workspace import Workspace

SUFFIX = ".journal"
BLOCK = 1 << 20  # bytes of a journal read and folded at a time (some 8,000 deliveries)
SEGMENT = 8 << 20  # bytes a writer puts in one file before it moves on to the next (some 70,000 deliveries)
WRITER_GONE_WAIT = 10.0  # seconds to wait for a killed send's process to finish dying before folding its journal

Rows = list[list]
Apply = Callable[[Rows], None]


class JournalBusy(Exception):
    """A journal is still held by a process of a send that should be gone."""


def journal_dir(ws: Workspace) -> Path:
    """The folder beside the database that holds the journals of sends in progress (or killed)."""
    database = ws.database_path
    return database.parent / f".{database.name}-send-journals"


def journal_path(ws: Workspace, issue_id: str, index: int) -> Path:
    """A new journal for process ``index`` of a send of ``issue_id`` (the pid keeps runs apart)."""
    return journal_dir(ws) / f"{issue_id}.{index}.{os.getpid()}{SUFFIX}"


def journals_of(ws: Workspace, issue_id: str) -> list[Path]:
    folder = journal_dir(ws)
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{issue_id}.*{SUFFIX}"))


class JournalWriter:
    """One process's journal, appended to and locked by that process alone."""

    def __init__(self, path: Path, segment: int = SEGMENT) -> None:
        self.path = self.first = path
        self.segment = segment
        self.segments = 1  # files written so far (the current one included)
        self._fd: int | None = None
        self._written = 0

    def append(self, rows: Rows) -> None:
        """Append ``rows`` (each a JSON list) as lines, in one ``write`` where the kernel allows."""
        if not rows:
            return
        if self._fd is None:
            self._fd = self._open()
        data = memoryview("".join([json.dumps(row, separators=(",", ":")) + "\n" for row in rows]).encode())
        self._written += len(data)
        while data:
            data = data[os.write(self._fd, data):]
        if self._written >= self.segment:  # the next rows go to a new file; this one is left to the folder
            self.close()
            self._written = 0
            self.segments += 1
            self.path = self.first.with_name(f"{self.first.name.removesuffix(SUFFIX)}.{self.segments}{SUFFIX}")

    def _open(self) -> int:
        while True:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)  # held while this process lives: readers see a live writer
            try:  # a folder may have removed the file while we waited for the lock: lines there would be lost
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def complete_lines(data: bytes) -> tuple[Rows, int]:
    """The rows of the complete lines in ``data`` and how many bytes they take (a cut-off tail is left)."""
    end = data.rfind(b"\n") + 1
    rows = [json.loads(line) for line in data[:end].splitlines() if line]
    return rows, end


class JournalFolder:
    """Folds the journals of one issue's send into the outbox, each from where it stopped last time.

    Used by the parent of a running send (whose children write the journals) with
    :meth:`step`, and by everyone with :meth:`finish`, which folds and removes every
    journal whose writer is gone.
    """

    def __init__(self, ws: Workspace, issue_id: str, apply: Apply) -> None:
        self.ws, self.issue_id, self.apply = ws, issue_id, apply
        self.offsets: dict[Path, int] = {}

    def step(self) -> int:
        """Fold the lines written since the last step, without waiting for anyone; returns how many.

        A journal nobody holds any more (a segment its writer has closed) is removed once folded.
        """
        total = 0
        for path in journals_of(self.ws, self.issue_id):
            with contextlib.suppress(FileNotFoundError), path.open("rb") as fh:
                total += self._fold_rest(path, fh)
                if _unlocked(fh):  # closed by its writer (or its writer is dead): folded to the end
                    total += self._fold_rest(path, fh)  # what it wrote before it let go
                    path.unlink()
                    self.offsets.pop(path, None)
        return total

    def _fold_rest(self, path: Path, fh: BinaryIO) -> int:
        """Fold the complete lines after this journal's offset, a block at a time (memory stays bounded)."""
        total = 0
        fh.seek(self.offsets.get(path, 0))
        tail = b""
        while block := fh.read(BLOCK):
            rows, used = complete_lines(tail + block)
            if rows:
                self.apply(rows)
                total += len(rows)
            self.offsets[path] = self.offsets.get(path, 0) + used  # only once applied: a failed fold reads again
            tail = (tail + block)[used:]
        return total

    def finish(self, *, wait: float = 0.0) -> int:
        """Fold and remove every journal whose writer is gone; one still locked after ``wait`` s is left.

        Returns how many lines were folded; raises :class:`JournalBusy` when ``wait``
        was given and a writer outlived it.
        """
        total = 0
        for path in journals_of(self.ws, self.issue_id):
            with self._locked(path, wait) as fh:
                if fh is None:
                    continue
                total += self._fold_rest(path, fh)
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                self.offsets.pop(path, None)
        return total

    @contextlib.contextmanager
    def _locked(self, path: Path, wait: float) -> Iterator:
        """The journal open and locked by us, or None if it is gone or its writer still lives."""
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            yield None
            return
        with fh:
            deadline = time.monotonic() + wait
            while not _unlocked(fh):
                if time.monotonic() >= deadline:
                    if wait:
                        raise JournalBusy(f"{path} is still written by a process of an earlier send")
                    yield None
                    return
                time.sleep(0.01)
            yield fh


def _unlocked(fh: BinaryIO) -> bool:
    """Take the journal's lock if nobody holds it (its writer closed it or died): True, and it is ours."""
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
