"""The one code path for mail that comes back: read, classify, act on the reader, remember.

``inbound process``, ``inbound fetch`` and ``inbound serve`` all hand raw bytes
to :func:`process_message`.  A message is acted on once (keyed by content hash
and Message-ID); one we cannot use is kept aside with the reason, never dropped.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from email.message import Message
from email.utils import parseaddr
from typing import Any

from newsletter.errors import InvalidInput, NotFound
from newsletter.workspace import Workspace
from subscribers import (
    bounce_base,
    get_subscriber,
    mark_bounced,
    mark_complained,
    note_event,
    register,
    unsubscribe,
)

from . import readers, store
from .arf import ORIGINAL_RECIPIENT_HEADERS
from .classify import Routing, Verdict, classify
from .dsn import DeliveryFailure, addresses_in_text, original_recipients_from_headers, returned_original
from .mime import addresses, content_hash, header_text, parse_bytes

log = logging.getLogger(__name__)

SOURCE = "inbound"

# A subject like this, sent to the subscribe address, is someone wanting out, not in.
LEAVE_WORDS_RE = re.compile(r"\s*(re:\s*)?(unsubscribe|remove me|stop|opt[ -]?out|leave)\b", re.I)


@dataclass
class Outcome:
    """What became of one message: done, ignored, duplicate or rejected (kept aside), and why."""

    outcome: str
    kind: str
    detail: str
    label: str = ""
    message_id: str = ""
    readers: list[dict[str, Any]] = field(default_factory=list)
    kept_as: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Unusable(Exception):
    """The message was understood but cannot be acted on (names no reader, forged, ...)."""


def routing_for(ws: Workspace) -> Routing:
    """Our own addresses from the settings ([delivery] bounce/unsubscribe, [inbound] subscribe)."""

    unsubscribe = str(ws.settings.delivery.unsubscribe_address)
    subscribe = tuple(a.strip().lower() for a in str(ws.settings.inbound.subscribe_address).split(",") if a.strip())
    return Routing(
        bounce_tag=bounce_base(ws).rpartition("@")[0],
        unsubscribe_tag=unsubscribe.rpartition("@")[0] if "@" in unsubscribe else "unsubscribe",
        subscribe_addresses=subscribe,
    )


def process_message(
    ws: Workspace, raw: bytes, *, source: str = "file", label: str = "", envelope: list[str] | tuple = ()
) -> Outcome:
    """Act on one returned message once; a second feeding of the same message changes nothing."""
    msg = parse_bytes(raw)
    message_id = header_text(msg, "Message-ID")
    row = store.claim(ws, content_hash(raw), message_id, source, label)
    if row is None:
        return Outcome("duplicate", "", "already processed", label, message_id)
    routing = routing_for(ws)
    try:
        verdict = classify(msg, envelope, routing)
        try:
            outcome = _act(ws, row, msg, verdict, routing)
        except (Unusable, NotFound) as exc:  # NotFound: the reader was deleted meanwhile
            outcome = Outcome("rejected", verdict.kind, f"{verdict.reason}: {exc}")
        if outcome.outcome == "rejected":
            outcome.kept_as = store.keep_aside(ws, raw, outcome.detail)
    except BaseException:
        store.release(ws, row)
        raise
    outcome.label, outcome.message_id = label, message_id
    store.finish(ws, row, kind=outcome.kind, outcome=outcome.outcome, detail=outcome.detail, kept_as=outcome.kept_as)
    log.debug("%s %s: %s (%s)", label or message_id, outcome.outcome, outcome.kind, outcome.detail)
    return outcome


def _act(ws: Workspace, row: int, msg: Message, verdict: Verdict, routing: Routing) -> Outcome:
    if verdict.kind == "bounce":
        return _bounce(ws, row, msg, verdict, routing)
    if verdict.kind == "complaint":
        return _complaint(ws, row, verdict, routing)
    if verdict.kind == "unsubscribe":
        return _unsubscribe(ws, row, verdict, routing)
    if verdict.kind == "subscribe":
        return _subscribe(ws, row, msg, verdict, routing)
    if verdict.kind == "unknown":
        return Outcome("rejected", "unknown", verdict.reason)
    return Outcome("ignored", verdict.kind, verdict.reason)  # delay, autoreply, feedback, report


# --- finding readers -------------------------------------------------------------------------------


def _verp_reader(ws: Workspace, recipients: list[str], routing: Routing) -> readers.Reader | None:
    for address in recipients:
        if readers.tagged_token(address, routing.bounce_tag):
            found = readers.reader_from_return_path(ws, address)
            if found:
                return found
    return None


def _with_issue(ws: Workspace, reader: readers.Reader, *messages: Message | None) -> readers.Reader:
    """Fill in the issue from the Message-IDs the bounce points at, when the clue did not name it."""
    if reader.issue_id:
        return reader
    for message_id in readers.message_ids(*messages):
        sent = readers.sent_message(ws, message_id)
        if sent and sent[1] == reader.subscriber_id:
            return reader.with_issue(sent[0])
    return reader


def _vouched_for(ws: Workspace, reader: readers.Reader, *messages: Message | None) -> readers.Reader | None:
    """A reader found by a bare address, if something signed backs it up; else None.

    Anyone can write an address into a fake bounce or report, so it is believed only
    when it points at a Message-ID we sent that reader (unguessable, see the sender),
    when the reader is still pending (a confirmation mail bounced: nothing to lose),
    or when ``[inbound] trust_unsigned_reports`` says so.
    """
    vouched = _with_issue(ws, reader, *messages)
    if vouched.issue_id or bool(ws.settings.inbound.trust_unsigned_reports):
        return vouched
    return vouched if get_subscriber(ws, reader.subscriber_id).status == "pending" else None


def _bounce_targets(
    ws: Workspace, msg: Message, verdict: Verdict, routing: Routing
) -> list[tuple[readers.Reader, DeliveryFailure]]:
    """Which reader each failure is about: the VERP return path first, else signed clues, else addresses."""
    original = returned_original(msg)
    verp = _verp_reader(ws, verdict.recipients, routing)
    if verp is not None:
        worst = min(verdict.failures, key=lambda f: (not f.hard, f.status))
        return [(_with_issue(ws, verp, original, msg), worst)]
    signed = readers.reader_from_original(ws, original)
    if signed is not None and len(verdict.failures) == 1:
        return [(_with_issue(ws, signed, original, msg), verdict.failures[0])]
    targets: dict[int, tuple[readers.Reader, DeliveryFailure]] = {}
    mentioned: list[str] | None = None
    for failure in verdict.failures:
        found = readers.reader_by_address(ws, failure.recipient) if failure.recipient else None
        if found is None:  # no recipient field, or one naming no reader: look for our readers in the text
            if mentioned is None:
                mentioned = original_recipients_from_headers(msg) + addresses_in_text(msg)
            for address in mentioned:
                found = readers.reader_by_address(ws, address)
                if found is not None:
                    failure = failure.about(address)
                    break
        vouched = _vouched_for(ws, found, original, msg) if found else None
        if vouched is None:
            continue
        kept = targets.get(vouched.subscriber_id)
        if kept is None or (failure.hard and not kept[1].hard):
            targets[vouched.subscriber_id] = (vouched, failure)
    return list(targets.values())


# --- actions ---------------------------------------------------------------------------------------


def _reader_dict(reader: readers.Reader, action: str, status: str) -> dict[str, Any]:
    return {"subscriber_id": reader.subscriber_id, "issue_id": reader.issue_id, "found_by": reader.found_by,
            "action": action, "status": status}


def _bounce(ws: Workspace, row: int, msg: Message, verdict: Verdict, routing: Routing) -> Outcome:
    targets = _bounce_targets(ws, msg, verdict, routing)
    if not targets:
        named = ", ".join(f.recipient for f in verdict.failures if f.recipient) or "no address"
        raise Unusable(f"names no reader we know, or only by an address nothing signed backs up ({named})")
    limit = max(1, int(ws.settings.inbound.soft_bounce_limit))
    done = []
    for reader, failure in targets:
        where = f" (issue {reader.issue_id})" if reader.issue_id else ""
        detail = f"dsn {failure.describe()}{where}"
        if failure.hard:
            store.add_feedback(ws, row, kind="hard_bounce", subscriber_id=reader.subscriber_id,
                               address=failure.recipient, issue_id=reader.issue_id,
                               status_code=failure.status, detail=detail)
            changed = mark_bounced(ws, reader.subscriber_id, source=SOURCE, detail=detail)
            done.append(_reader_dict(reader, "hard bounce", changed.status))
            continue
        store.add_feedback(ws, row, kind="soft_bounce", subscriber_id=reader.subscriber_id,
                           address=failure.recipient, issue_id=reader.issue_id,
                           status_code=failure.status, detail=detail)
        streak = store.soft_bounce_streak(ws, reader.subscriber_id, reader.issue_id)
        if streak >= limit:
            changed = mark_bounced(ws, reader.subscriber_id, source=SOURCE,
                                   detail=f"{streak} soft bounces in a row (limit {limit}); last: {detail}")
        else:
            changed = get_subscriber(ws, reader.subscriber_id)
            note_event(ws, reader.subscriber_id, "soft_bounce", source=SOURCE,
                       detail=f"soft bounce {streak} of {limit} in a row: {detail}")
        done.append(_reader_dict(reader, f"soft bounce {streak}/{limit}", changed.status))
    return Outcome("done", "bounce", verdict.reason, readers=done)


def _complaint(ws: Workspace, row: int, verdict: Verdict, routing: Routing) -> Outcome:
    report = verdict.report
    assert report is not None
    reader = _verp_reader(ws, [*report.original_mail_from, *verdict.recipients], routing)
    reader = reader or readers.reader_from_original(ws, report.original)
    if reader is None:
        in_original = addresses(report.original, *ORIGINAL_RECIPIENT_HEADERS) if report.original is not None else []
        for address in report.original_rcpt_to + in_original:
            found = readers.reader_by_address(ws, address)
            reader = _vouched_for(ws, found, report.original) if found else None
            if reader:
                break
    if reader is None:
        raise Unusable("the report's original names no reader we know, or only by an unsigned address")
    reader = _with_issue(ws, reader, report.original)
    where = f" (issue {reader.issue_id})" if reader.issue_id else ""
    detail = f"arf {report.describe()}{where}"
    store.add_feedback(ws, row, kind="complaint", subscriber_id=reader.subscriber_id, address=None,
                       issue_id=reader.issue_id, status_code=report.feedback_type, detail=detail)
    changed = mark_complained(ws, reader.subscriber_id, source=SOURCE, detail=detail)
    return Outcome("done", "complaint", verdict.reason, readers=[_reader_dict(reader, "complaint", changed.status)])


def _unsubscribe(ws: Workspace, row: int, verdict: Verdict, routing: Routing) -> Outcome:
    reader = None
    for address in verdict.recipients:
        reader = readers.reader_from_unsubscribe_address(ws, address)
        if reader:
            break
    if reader is None:
        raise Unusable("the unsubscribe token is damaged, forged, or names a forgotten reader")
    detail = f"mailto unsubscribe via {reader.found_by}"
    store.add_feedback(ws, row, kind="unsubscribe", subscriber_id=reader.subscriber_id, address=None,
                       issue_id=reader.issue_id, detail=detail)
    changed = unsubscribe(ws, reader.subscriber_id, source=SOURCE, detail=detail)
    return Outcome("done", "unsubscribe", verdict.reason, readers=[_reader_dict(reader, "unsubscribe", changed.status)])


def _subscribe(ws: Workspace, row: int, msg: Message, verdict: Verdict, routing: Routing) -> Outcome:
    """Mail to the subscribe address: the sender becomes a pending reader and gets a confirmation.

    Anyone can forge a From line, so this is the usual double opt-in: nothing is sent
    to the address but the confirmation mail, and only its link confirms.
    """
    results = header_text(msg, "Authentication-Results").lower()
    if "dmarc=fail" in results:
        raise Unusable("the sender's domain failed DMARC, so the From address is likely forged")
    if header_text(msg, "Return-Path") == "<>":
        raise Unusable("mail from the null sender (a bounce) cannot ask to subscribe")
    name, address = parseaddr(header_text(msg, "From"))
    subject = header_text(msg, "Subject")[:200]
    if LEAVE_WORDS_RE.match(subject):
        raise Unusable("asks to leave, not to join; an unsigned address cannot unsubscribe anyone "
                       "(the reader can use the link in any issue)")
    asked = next((r for r in verdict.recipients if r in routing.subscribe_addresses), "the subscribe address")
    # The wording stays with the reader's history even after forget, so it holds nothing they typed.
    consent = f"Asked by email to {asked}"
    try:
        done = register(ws, address, name=name or None, source=SOURCE, consent_text=consent)
    except InvalidInput as exc:
        raise Unusable(f"the From address cannot be subscribed: {exc}") from None
    if done.subscriber_id is None:  # forgotten at their request: understood, and not kept (it holds the address)
        return Outcome("ignored", "subscribe", f"{verdict.reason}; the sender asked to be forgotten, so not added")
    store.add_feedback(ws, row, kind="subscribe", subscriber_id=done.subscriber_id, address=None, issue_id=None,
                       detail=f"{consent} (subject {subject!r}); {done.action}, "
                              f"confirmation mail {done.mail or 'not due'}")
    reader = readers.Reader(done.subscriber_id, None, "from address")
    return Outcome("done", "subscribe", f"{verdict.reason}; confirmation mail {done.mail or 'not due'}",
                   readers=[_reader_dict(reader, f"subscribe ({done.action})", done.status or "")])
