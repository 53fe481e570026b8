"""Web sign-ups taken in with one identical write, registered after the answer by the queue worker.

Registering does different work for a new address (a reader row, events, a queued
mail) than for one already confirmed (nothing), and the difference showed in the
answer's timing.  So the form's request only stores what was submitted, the same
row for every address, and the app's :class:`~subscribers.mailqueue.MailWorker`
registers it moments later.  The row is durable: a crash in between loses nothing.
"""

from __future__ import annotations

import logging

from newsletter import clock
from newsletter.errors import InvalidInput
from newsletter.workspace import Workspace

from .schema import database
from .signup import register
from .store import write_transaction

log = logging.getLogger(__name__)

BATCH = 200


def take_in(ws: Workspace, address: str, *, name: str | None, source: str, ip: str | None,
            user_agent: str | None, consent_text: str | None) -> None:
    """Store one already-validated sign-up for :func:`register_taken_in`; the same write for every address."""
    db = database(ws)
    with write_transaction(db):
        db.execute(
            "INSERT INTO signup_intake (email, name, source, ip, user_agent, consent_text, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [address, name, source, ip, user_agent, consent_text, clock.now_iso()],
        )


def register_taken_in(ws: Workspace) -> int:
    """Register every stored sign-up (double opt-in, mails queued) and remove it; how many there were."""
    db = database(ws)
    done = 0
    while rows := db.execute(
        "SELECT id, email, name, source, ip, user_agent, consent_text FROM signup_intake ORDER BY id LIMIT ?",
        [BATCH],
    ).fetchall():
        for row_id, email, name, source, ip, user_agent, consent_text in rows:
            try:
                register(ws, email, name=name, source=source, ip=ip, user_agent=user_agent,
                         consent_text=consent_text, defer_mail=True)
            except InvalidInput as exc:  # checked at the form already; say why without the address
                log.warning("a stored sign-up could not be registered (%s)", type(exc).__name__)
            with write_transaction(db):  # after a crash just before this, registering again changes nothing
                db.execute("DELETE FROM signup_intake WHERE id = ?", [row_id])
            done += 1
    return done
