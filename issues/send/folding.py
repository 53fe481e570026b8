"""Folding a running send's journals into the outbox from a thread beside it, in big batches.

The send's processes (or its one process) append their deliveries to journals
(:mod:`issues.send.journals`); this thread moves them into the outbox about once a
second, so ``issue status`` shows the send moving, and once more after the send
ends.  One transaction of a thousand rows costs far less than a thousand small
ones made while a connection waits.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterator

from newsletter.workspace import Workspace

from . import outbox
from .journals import JournalFolder

log = logging.getLogger(__name__)

FOLD_EVERY = 1.0  # seconds between two folds while the send runs


@contextlib.contextmanager
def folding_journals(ws: Workspace, issue_id: str) -> Iterator[None]:
    """Fold the issue's journals every :data:`FOLD_EVERY` s during the block, and all that is left after it.

    Start it after any fork (a fork must not copy a running thread).  If the block is
    interrupted the final fold still runs; cut short itself, it is done by the next command.
    """
    done = threading.Event()
    folder = JournalFolder(ws, issue_id, _apply(ws))
    thread = threading.Thread(target=_fold_while_running, args=(ws, folder, done), name="send-fold", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        with contextlib.suppress(KeyboardInterrupt):
            thread.join()
            folder.apply = _apply(ws)  # this thread's connection
            folder.finish()


def _apply(ws: Workspace) -> Callable[[list[tuple]], None]:
    """Fold batches through this thread's own connection."""
    return functools.partial(outbox.record_sent, outbox.outbox_db(ws))


def _fold_while_running(ws: Workspace, folder: JournalFolder, done: threading.Event) -> None:
    folder.apply = _apply(ws)  # the thread's own connection
    try:
        while not done.wait(FOLD_EVERY):
            try:
                folder.step()
            except Exception:  # the database busy for long: the lines stay for the next fold
                log.warning("could not fold the send's journals yet", exc_info=True)
    finally:
        ws.close()
