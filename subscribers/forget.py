"""Forget a reader: erase their address, name and the personal fields of their history.

What stays: the anonymous row and events (kind, time, status, consent wording), so
counts and the proof that consent existed survive, and a keyed hash of the address
on the suppression list, so no import or form can silently add them back.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from newsletter import clock
from newsletter.errors import NotFound
from newsletter.workspace import Workspace

from .addresses import InvalidAddress, validate_address
from .schema import PERSONAL_EVENT_FIELDS, database
from .store import get_subscriber, record_event, write_transaction
from .suppression import suppress, suppression_hash

ForgetHook = Callable[[Workspace, sqlite_utils.Database, int | None, str], None]
_HOOKS: list[ForgetHook] = []


def on_forget(hook: ForgetHook) -> ForgetHook:
    """Register ``hook(ws, db, subscriber_id, normalized_address)``, run inside forget's transaction.

    Packages that keep personal data of their own about a reader (the inbound mail
    store, say) erase it here; subscribers cannot import them, so they register.
    ``subscriber_id`` is None for an address that is not (or no longer) a reader.
    """
    if hook not in _HOOKS:
        _HOOKS.append(hook)
    return hook


def forget(ws: Workspace, key: int | str, *, source: str = "cli") -> int | None:
    """Erase the reader named by id or address; returns their id (None for an unknown address).

    An address we never had is still put on the suppression list: asking to be
    forgotten is also asking never to be added.
    """
    db = database(ws)
    try:
        reader = get_subscriber(ws, key)
    except NotFound:
        if isinstance(key, int) or str(key).strip().isdigit():
            raise
        try:
            normalized = validate_address(str(key)).normalized
        except InvalidAddress:
            raise NotFound(f"no reader with address {key!r}, and it is not an address to suppress") from None
        with write_transaction(db):
            suppress(db, suppression_hash(ws, normalized), "forgotten")
            _run_hooks(ws, db, None, normalized)
        return None
    with write_transaction(db):
        row = db.execute(
            "SELECT email_normalized, status, forgotten_at FROM subscribers WHERE id = ?", [reader.id]
        ).fetchone()
        normalized, status, forgotten_at = row
        if forgotten_at:
            return reader.id
        suppress(db, suppression_hash(ws, normalized), "forgotten")
        _run_hooks(ws, db, reader.id, normalized)
        blank = ", ".join(f"{col} = NULL" for col in PERSONAL_EVENT_FIELDS)
        db.execute(f"UPDATE subscriber_events SET {blank} WHERE subscriber_id = ?", [reader.id])
        db.execute("DELETE FROM mail_queue WHERE subscriber_id = ?", [reader.id])  # nothing more to send
        new_status = "unsubscribed" if status in ("pending", "confirmed") else status
        now = clock.now_iso()
        if new_status != status:  # leaving is a status change of its own (and counts as a leaver in stats)
            record_event(db, reader.id, "unsubscribed", at=now, status=new_status, source=source,
                         detail="asked to be forgotten")
        db.execute(
            "UPDATE subscribers SET email = NULL, email_normalized = NULL, name = NULL, status = ?, "
            "confirm_nonce = '', forgotten_at = ?, updated_at = ? WHERE id = ?",
            [new_status, now, now, reader.id],
        )
        record_event(db, reader.id, "forgotten", at=now, status=new_status, source=source)
    return reader.id


def _run_hooks(ws: Workspace, db: sqlite_utils.Database, subscriber_id: int | None, normalized: str) -> None:
    for hook in _HOOKS:
        hook(ws, db, subscriber_id, normalized)
