"""Double opt-in: subscribe (pending + confirmation mail) and confirm (confirmed + welcome mail).

:func:`subscribe` answers every caller alike, whether the address is new, pending,
confirmed, left or forgotten, so the form cannot be used to learn who reads the
newsletter.  The trusted command line uses :func:`register`, which says what happened.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any

from newsletter import clock
from newsletter.errors import InvalidInput
from newsletter.transports import open_transport
from newsletter.workspace import Workspace

from . import mailqueue
from .addresses import clean_name, refuse_controls, validate_address
from .schema import LEAVER_STATUSES, database
from .store import (
    Subscriber,
    ever_left,
    find_by_normalized,
    load,
    record_event,
    set_status,
    write_transaction,
)
from .suppression import is_suppressed, suppression_hash
from .tokens import BadToken, read_confirm_token

log = logging.getLogger(__name__)

# At most one confirmation mail per address per window, and this many per day.
CONFIRM_MAIL_WINDOW = timedelta(minutes=10)
CONFIRM_MAILS_PER_DAY = 3

PUBLIC_MESSAGE = (
    "Thank you. If that address can receive the newsletter, a confirmation email is on its way: "
    "click the link in it to finish subscribing."
)


@dataclass(frozen=True)
class SubscribeOutcome:
    """What the public is told after subscribing: identical for every address (no enumeration)."""

    accepted: bool = True
    message: str = PUBLIC_MESSAGE

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Registration:
    """What :func:`register` did, for trusted callers only (never shown to the public).

    ``action``: created, confirmed, pending, reopened, reopened_pending (left once, pending
    again: only their click confirms), unchanged, left, suppressed.
    ``mail``: sent, queued (``defer_mail``: the queue worker sends it), throttled, failed,
    or None when no confirmation mail was due.
    """

    action: str
    subscriber_id: int | None
    status: str | None
    mail: str | None = None
    mail_error: str | None = None


def new_nonce() -> str:
    """A fresh confirmation round marker (tokens from earlier rounds stop working)."""
    return secrets.token_hex(4)


def _may_send_confirmation(db: Any, subscriber_id: int) -> bool:
    """The rate limit: none sent in the last 10 minutes and fewer than three in the last day."""
    now = clock.utcnow()
    recent, today = db.execute(
        "SELECT SUM(at > ?), COUNT(*) FROM subscriber_events "
        "WHERE subscriber_id = ? AND kind = 'confirmation_sent' AND at > ?",
        [(now - CONFIRM_MAIL_WINDOW).isoformat(timespec="seconds"), subscriber_id,
         (now - timedelta(days=1)).isoformat(timespec="seconds")],
    ).fetchone()
    return not recent and today < CONFIRM_MAILS_PER_DAY


def _claim_confirmation_mail(db: Any, reader_id: int, source: str, *, hold: bool) -> int | None:
    """Inside the write transaction: queue the mail (and record it as sent) if the rate limit allows.

    Returns the queue row id, or None when throttled; ``hold`` as in :func:`mailqueue.enqueue`.
    """
    if not _may_send_confirmation(db, reader_id):
        return None
    record_event(db, reader_id, "confirmation_sent", source=source)
    return mailqueue.enqueue(db, reader_id, "confirmation", hold=hold)


def send_confirmations(ws: Workspace, reader_ids: Iterable[int], *, source: str) -> Counter:
    """Mail the confirmation link to each still-pending reader (rate limit applies), one transport.

    Used after importing readers as pending; returns counts of sent, throttled, failed, skipped.
    """
    counts: Counter = Counter()
    db = database(ws)
    with open_transport(ws) as transport:
        for reader_id in reader_ids:
            with write_transaction(db):
                row = db.execute("SELECT email, status FROM subscribers WHERE id = ?", [reader_id]).fetchone()
                if row is None or row[1] != "pending" or row[0] is None:
                    counts["skipped"] += 1
                    continue
                queued = _claim_confirmation_mail(db, reader_id, source, hold=True)
                if queued is None:
                    counts["throttled"] += 1
                    continue
            error = mailqueue.send_held(ws, [queued], transport).get(queued)
            counts["failed" if error else "sent"] += 1
    return counts


def _insert_reader(db: Any, email: str, normalized: str, name: str | None, status: str, source: str) -> int:
    now = clock.now_iso()
    cursor = db.execute(
        "INSERT INTO subscribers (email, email_normalized, name, status, source, created_at, updated_at, "
        "confirmed_at, confirm_nonce) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [email, normalized, name, status, source, now, now, now if status == "confirmed" else None, new_nonce()],
    )
    return cursor.lastrowid


def register(
    ws: Workspace,
    address: str,
    *,
    name: str | None = None,
    source: str = "form",
    ip: str | None = None,
    user_agent: str | None = None,
    consent_text: str | None = None,
    confirmed: bool = False,
    defer_mail: bool = False,
) -> Registration:
    """Add or re-open a reader and queue the confirmation mail when one is due; report what happened.

    The mail is sent before returning, unless ``defer_mail`` leaves it to the queue
    worker (the web form: the answer must not take longer for a new address).
    ``confirmed=True`` is an editor vouching for consent given elsewhere: it needs
    ``consent_text`` and never re-activates a reader who left.  A reader who
    complained is never mailed again, so nothing re-opens them.
    """
    settings = ws.settings.subscribers
    addr = validate_address(address, check_deliverability=bool(settings.check_deliverability))
    name = clean_name(name)
    if confirmed and not (consent_text and consent_text.strip()):
        raise InvalidInput(f"adding {addr.email} as confirmed needs the consent wording (--consent TEXT)")
    # The form shows [subscribers] consent_text; other sources record only wording they pass.
    consent = consent_text or (str(settings.consent_text) if source == "form" else None)
    consent = refuse_controls(consent, "consent text").strip() if consent else None
    event = {"source": source, "ip": ip, "user_agent": user_agent, "consent_text": consent}
    digest = suppression_hash(ws, addr.normalized)
    db = database(ws)
    with write_transaction(db):
        if is_suppressed(db, digest):
            return Registration("suppressed", None, None)
        reader = find_by_normalized(db, addr.normalized)
        if reader is None:
            status = "confirmed" if confirmed else "pending"
            reader_id = _insert_reader(db, addr.email, addr.normalized, name, status, source)
            record_event(db, reader_id, "added" if confirmed else "subscribed", status=status, **event)
            action = "created"
        elif reader.status == "confirmed":
            return Registration("unchanged", reader.id, reader.status)
        elif reader.status in LEAVER_STATUSES:
            # A spam complaint means never mail again: not even a confirmation a stranger asks for.
            if confirmed or reader.status == "complained":
                return Registration("left", reader.id, reader.status)
            db.execute("UPDATE subscribers SET confirm_nonce = ? WHERE id = ?", [new_nonce(), reader.id])
            set_status(db, reader, "pending", kind="subscribed", **event)
            reader_id, action = reader.id, "reopened"
        elif confirmed and ever_left(db, [reader.id]):
            return Registration("reopened_pending", reader.id, reader.status)
        elif confirmed:
            set_status(db, reader, "confirmed", kind="added", **event)
            return Registration("confirmed", reader.id, "confirmed")
        else:
            reader_id, action = reader.id, "pending"
        if confirmed:
            return Registration(action, reader_id, "confirmed")
        queued = _claim_confirmation_mail(db, reader_id, source, hold=not defer_mail)
    if queued is None:
        return Registration(action, reader_id, "pending", mail="throttled")
    if defer_mail:
        return Registration(action, reader_id, "pending", mail="queued")
    error = mailqueue.send_held(ws, [queued]).get(queued)
    return Registration(action, reader_id, "pending", mail="failed" if error else "sent", mail_error=error)


def subscribe(
    ws: Workspace,
    address: str,
    *,
    name: str | None = None,
    source: str = "form",
    ip: str | None = None,
    user_agent: str | None = None,
    consent_text: str | None = None,
    confirmed: bool = False,
    defer_mail: bool = False,
) -> SubscribeOutcome:
    """Subscribe ``address`` (double opt-in); the answer never reveals whether it was known.

    ``defer_mail=True`` leaves the confirmation mail in the queue for the worker to send
    after the answer, so a new address costs the request no more than a known one.

    Raises :class:`~subscribers.addresses.InvalidAddress` only for an address that is
    not an address at all, which reveals nothing about the list.
    """
    register(
        ws, address, name=name, source=source, ip=ip, user_agent=user_agent,
        consent_text=consent_text, confirmed=confirmed, defer_mail=defer_mail,
    )
    return SubscribeOutcome()


def _consent_wording(db: Any, reader_id: int, fallback: str) -> str:
    row = db.execute(
        "SELECT consent_text FROM subscriber_events WHERE subscriber_id = ? AND kind = 'subscribed' "
        "AND consent_text IS NOT NULL ORDER BY id DESC LIMIT 1",
        [reader_id],
    ).fetchone()
    return row[0] if row else fallback


def confirm(
    ws: Workspace, token: str, *, ip: str | None = None, user_agent: str | None = None, defer_mail: bool = False
) -> Subscriber:
    """Confirm the reader a confirmation link names; a second click returns them unchanged.

    The welcome mail (when enabled) is queued with the change and sent before returning,
    or by the queue worker with ``defer_mail``.

    The returned reader's ``newly_confirmed`` tells the first click (welcome mail sent)
    from a repeat ("already confirmed").  A link from an earlier opt-in round, or from
    a round the reader has since left, raises :class:`BadToken` ("expired").
    """
    reader_id, nonce = read_confirm_token(ws, token)
    db = database(ws)
    with write_transaction(db):
        reader = load(db, reader_id)
        current = db.execute("SELECT confirm_nonce FROM subscribers WHERE id = ?", [reader_id]).fetchone()[0]
        if nonce != current:
            raise BadToken("expired")
        if reader.status == "confirmed":
            return reader
        if reader.status != "pending":
            raise BadToken("expired")
        consent = _consent_wording(db, reader_id, str(ws.settings.subscribers.consent_text))
        reader = set_status(db, reader, "confirmed", source="link", ip=ip, user_agent=user_agent, consent_text=consent)
        queued = None
        if ws.settings.subscribers.welcome and reader.email:
            record_event(db, reader_id, "welcome_sent", source="mailer")
            queued = mailqueue.enqueue(db, reader_id, "welcome", hold=not defer_mail)
    if queued is not None and not defer_mail:
        mailqueue.send_held(ws, [queued])
    return replace(reader, newly_confirmed=True)
