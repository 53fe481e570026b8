"""Forget a reader: erase their address, name and the personal fields of their history.

What stays: the anonymous row and events (kind, time, status, consent wording), so
counts and the proof that consent existed survive, and a keyed hash of the address
on the suppression list, so no import or form can silently add them back.

Every other store is reached through the erasers declared in ``pyproject.toml``
(see :mod:`subscribers.erasure`), and the copies the Maildir transport delivered
are deleted here: nothing depends on what the caller happened to import.
"""

from __future__ import annotations

from newsletter import clock
from newsletter.db import Database
from newsletter.errors import NotFound
from newsletter.maildirs import discard_where
from newsletter.workspace import Workspace

from .addresses import InvalidAddress, validate_address
from .erasure import Eraser, Traces, declared_erasers, traces_of
from .schema import PERSONAL_EVENT_FIELDS, database
from .store import get_subscriber, record_event, write_transaction
from .suppression import suppress, suppression_hash

_HOOKS: list[Eraser] = []


def on_forget(hook: Eraser) -> Eraser:
    """Also run ``hook(ws, db, traces)`` inside forget's transaction, after the declared erasers.

    For a store that exists only at run time (a plug-in, a test). A store of the
    application declares its eraser in ``pyproject.toml`` instead, so it cannot be
    skipped. ``traces.subscriber_id`` is None for an address that is not a reader.
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
    declared_erasers()  # every store's eraser loads, or nothing is changed
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
            _erase_elsewhere(ws, db, traces_of(ws, None, normalized))
        _flush_log(db)
        return None
    with write_transaction(db):
        row = db.execute(
            "SELECT email, email_normalized, status, forgotten_at FROM subscribers WHERE id = ?", [reader.id]
        ).fetchone()
        email, normalized, status, forgotten_at = row
        if forgotten_at:
            return reader.id
        suppress(db, suppression_hash(ws, normalized), "forgotten")
        _erase_elsewhere(ws, db, traces_of(ws, reader.id, normalized, email))
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
    _flush_log(db)
    return reader.id


def _flush_log(db: Database) -> None:
    """Copy the write-ahead log into the database and empty it: it still holds the pages as they were.

    Best effort: while another connection is reading, part of the log stays until a later checkpoint.
    """
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _erase_elsewhere(ws: Workspace, db: Database, traces: Traces) -> None:
    """The other stores: every declared eraser, hooks registered at run time, delivered copies."""
    for _, eraser in declared_erasers():
        eraser(ws, db, traces)
    for hook in _HOOKS:
        hook(ws, db, traces)
    erase_delivered_copies(ws, traces)


def erase_delivered_copies(ws: Workspace, traces: Traces) -> list[str]:
    """Delete the messages to the reader that the Maildir transport keeps (issues and sign-up mail alike).

    Recognised by their header block (To, the envelope lines, List-Unsubscribe), so a
    large Maildir is read only as far as each message's headers.
    """
    folder = ws.path(ws.settings.delivery.maildir)
    return discard_where(folder, lambda head: traces.found_in(head.decode("utf-8", "replace")), headers_only=True)
