"""Web sign-ups taken in with one identical write, registered after the answer by the queue worker.

Registering does different work for a new address (a reader row, events, a queued
mail) than for one already confirmed (nothing), and the difference showed in the
answer's timing.  So the form's request only stores what was submitted, the same
row for every address, and the app's :class:`~subscribers.mailqueue.MailWorker`
registers it moments later.  The row is durable: a crash in between loses nothing.

Sign-ups arriving together share one durable commit (group commit): each waits for the
commit that holds its row, but the disk sync and the database write lock are paid once
per group, not once per sign-up (at a few hundred a second, one sync each queued every
request behind the write lock).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from newsletter import clock
from newsletter.errors import InvalidInput
from newsletter.workspace import Workspace

from .schema import database
from .signup import register
from .store import write_transaction

log = logging.getLogger(__name__)

BATCH = 200


@dataclass
class _Waiting:
    """One sign-up's row; ``turn`` is set when its group is committed (``written``) or when it is to write next."""

    row: list
    turn: threading.Event = field(default_factory=threading.Event)
    written: bool = False
    error: BaseException | None = None


@dataclass
class _Group:
    """The sign-ups waiting for a commit to one database, and whether a request is writing some now."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: list[_Waiting] = field(default_factory=list)
    writing: bool = False


_GROUPS: dict[str, _Group] = {}
_GROUPS_LOCK = threading.Lock()


def take_in(ws: Workspace, address: str, *, name: str | None, source: str, ip: str | None,
            user_agent: str | None, consent_text: str | None) -> None:
    """Store one already-validated sign-up for :func:`register_taken_in`; the same write for every address.

    Returns once the row is durably committed, by this request or by the one writing its group.
    """
    mine = _Waiting([address, name, source, ip, user_agent, consent_text, clock.now_iso()])
    with _GROUPS_LOCK:
        group = _GROUPS.setdefault(str(ws.root), _Group())
    with group.lock:
        group.waiting.append(mine)
        lead = not group.writing
        group.writing = True
    if not lead:
        mine.turn.wait()
    if not mine.written:  # first in, or handed the turn by the previous writer
        _write_group(ws, group)
    if mine.error is not None:
        raise mine.error


def _write_group(ws: Workspace, group: _Group) -> None:
    """Commit every waiting sign-up in one durable transaction; hand the turn to the first that came since.

    The group is taken once the write lock is held, so all that arrived meanwhile join it.
    """
    db = database(ws)
    batch: list[_Waiting] = []
    error: BaseException | None = None
    try:
        with write_transaction(db):
            with group.lock:
                batch, group.waiting = group.waiting, []
            db.conn.executemany(
                "INSERT INTO signup_intake (email, name, source, ip, user_agent, consent_text, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [waiting.row for waiting in batch],
            )
    except BaseException as exc:  # each sign-up of the group fails with it; the next group tries again
        error = exc
        if not batch:
            with group.lock:
                batch, group.waiting = group.waiting, []
    for waiting in batch:
        waiting.written, waiting.error = True, error
        waiting.turn.set()
    with group.lock:
        if group.waiting:
            group.waiting[0].turn.set()  # not written: it writes the next group
        else:
            group.writing = False


def register_taken_in(ws: Workspace, pause: Callable[[], Any] | None = None) -> int:
    """Register every stored sign-up (double opt-in, mails queued) and remove it; how many there were.

    ``pause`` is called before each (the web app's worker gives way to requests there).
    """
    db = database(ws)
    done = 0
    while rows := db.execute(
        "SELECT id, email, name, source, ip, user_agent, consent_text FROM signup_intake ORDER BY id LIMIT ?",
        [BATCH],
    ).fetchall():
        for row_id, email, name, source, ip, user_agent, consent_text in rows:
            if pause is not None:
                pause()
            try:
                register(ws, email, name=name, source=source, ip=ip, user_agent=user_agent,
                         consent_text=consent_text, defer_mail=True)
            except InvalidInput as exc:  # checked at the form already; say why without the address
                log.warning("a stored sign-up could not be registered (%s)", type(exc).__name__)
            with write_transaction(db):  # after a crash just before this, registering again changes nothing
                db.execute("DELETE FROM signup_intake WHERE id = ?", [row_id])
            done += 1
    return done
