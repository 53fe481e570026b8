"""Delivery status notifications: RFC 3464 reports and the plain-text shapes MTAs still send.

Each failed recipient becomes a :class:`DeliveryFailure` with an enhanced status
code (``5.1.1``); callers decide what a hard or soft failure does to a reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import parseaddr

from .mime import embedded_original, header_text, text_parts

STATUS_RE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_CODE_RE = re.compile(r"(?<![\d.])([245]\d\d)(?:[ :-]|$)", re.M)
ADDRESS_RE = re.compile(r"<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>?")

# Subjects and senders that mark a plain-text bounce (Exim, Exchange legacy, qmail, Gmail).
BOUNCE_SUBJECT_RE = re.compile(
    r"(undeliver|undelivered mail|mail delivery (failed|failure|subsystem)|delivery status notification"
    r"|returned mail|failure notice|delivery (has )?failed|could not be delivered|non[- ]?delivery"
    r"|delivery incomplete|warning: message .* delayed)",
    re.I,
)
BOUNCE_SENDER_RE = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mdaemon)@", re.I)
PERMANENT_WORDS_RE = re.compile(r"permanent(ly)? (error|failure)|could not be delivered", re.I)
TEMPORARY_WORDS_RE = re.compile(r"temporar(y|ily)|will (retry|try again)|delayed", re.I)

# Permanent by the letter, but not final about the reader's address (RFC 3463 classes): a full
# mailbox (5.2.2) empties, a message too big (5.2.3, 5.3.4) or content refused (5.6.x) is about
# the issue, and a security or policy block (5.7.x: a spam filter, our own DKIM or DMARC failing)
# is about the sender.  They count as soft, so one misconfigured send cannot bounce every reader
# of a big provider at once; a reader refused issue after issue is still bounced at the limit.
SOFT_PERMANENT = frozenset({"5.2.2", "5.2.3", "5.3.4"})
SOFT_PERMANENT_CLASSES = ("5.6.", "5.7.")


@dataclass(frozen=True)
class DeliveryFailure:
    """One recipient the report says was not (yet) delivered."""

    recipient: str  # the address as the report names it ('' when the report names none)
    status: str  # enhanced status code, e.g. "5.1.1"
    action: str  # "failed" or "delayed" (RFC 3464 Action)
    diagnostic: str  # the remote server's words, one line

    @property
    def hard(self) -> bool:
        """A permanent failure of the address itself: stop mailing it at once."""
        return (self.action == "failed" and self.status.startswith("5.") and self.status not in SOFT_PERMANENT
                and not self.status.startswith(SOFT_PERMANENT_CLASSES))

    @property
    def counts_as_soft(self) -> bool:
        """A failure that may pass (mailbox full, greylisting): counted, not yet final."""
        return self.action == "failed" and not self.hard

    def describe(self) -> str:
        words = f"{self.action} {self.status}"
        if self.recipient:
            words += f" for {self.recipient}"
        if self.diagnostic:
            words += f": {self.diagnostic}"
        return words[:500]


def _strip_type(value: str) -> str:
    """``rfc822; a@b`` → ``a@b`` (the address-type prefix of RFC 3464 fields)."""
    value = " ".join(value.split())
    if ";" in value:
        value = value.split(";", 1)[1]
    return value.strip().strip("<>").strip()


def _status_from_text(text: str, default_class: str) -> str:
    m = STATUS_RE.search(text)
    if m:
        return ".".join(m.groups())
    code = SMTP_CODE_RE.search(text)
    if code and code.group(1)[0] in "45":
        return f"{code.group(1)[0]}.0.0"
    return f"{default_class}.0.0"


def _delivery_status_part(msg: Message) -> Message | None:
    for part in msg.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            return part
    return None


def _field_blocks(part: Message) -> list[Message]:
    """The per-message and per-recipient field blocks of a delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, Message)]
    if isinstance(payload, str):  # a global-delivery-status part arrives as text
        from email.parser import HeaderParser

        return [HeaderParser().parsestr(chunk.strip() + "\n") for chunk in re.split(r"\r?\n\s*\r?\n", payload)
                if chunk.strip()]
    return []


def parse_rfc3464(msg: Message) -> list[DeliveryFailure] | None:
    """Failed or delayed recipients of an RFC 3464 report; None when ``msg`` is not one."""
    part = _delivery_status_part(msg)
    if part is None:
        return None
    failures = []
    for block in _field_blocks(part):
        action = header_text(block, "Action").lower()
        if not action:
            continue  # the per-message block
        if action not in ("failed", "delayed"):
            continue  # delivered, relayed, expanded: nothing went wrong
        recipient = _strip_type(header_text(block, "Original-Recipient") or header_text(block, "Final-Recipient"))
        diagnostic = _strip_type(header_text(block, "Diagnostic-Code"))
        status = header_text(block, "Status")
        m = STATUS_RE.search(status)
        status = ".".join(m.groups()) if m else _status_from_text(diagnostic, "5" if action == "failed" else "4")
        failures.append(DeliveryFailure(recipient.lower(), status, action, diagnostic))
    return failures


def looks_like_bounce(msg: Message) -> bool:
    """A non-RFC-3464 bounce: X-Failed-Recipients, or a bounce subject from a mailer daemon or the null sender."""
    if msg.get("X-Failed-Recipients"):
        return True
    sender = parseaddr(header_text(msg, "From"))[1].lower()
    from_daemon = header_text(msg, "Return-Path") == "<>" or bool(BOUNCE_SENDER_RE.match(sender))
    return from_daemon and bool(BOUNCE_SUBJECT_RE.search(header_text(msg, "Subject")))


def _recipient_lines(text: str, recipient: str) -> str:
    """The lines that follow the first mention of ``recipient`` (where MTAs put the reason)."""
    low = text.lower()
    at = low.find(recipient.lower()) if recipient else -1
    return text[at:at + 600] if at >= 0 else text


def parse_plain(msg: Message) -> list[DeliveryFailure]:
    """Failed recipients of a plain-text bounce (Exim, legacy Exchange, qmail): best effort."""
    text = "\n".join(text_parts(msg, skip_original=True))
    default_class = "5" if PERMANENT_WORDS_RE.search(text) or not TEMPORARY_WORDS_RE.search(text) else "4"
    action = "failed" if default_class == "5" or not re.search(r"delay", text, re.I) else "delayed"
    named = [a.strip().lower() for a in header_text(msg, "X-Failed-Recipients").split(",") if a.strip()]
    if not named:
        for field in ("Original-Recipient", "Final-Recipient"):
            if header_text(msg, field):
                named.append(_strip_type(header_text(msg, field)).lower())
    failures = []
    for recipient in named or [""]:
        near = _recipient_lines(text, recipient)
        status = _status_from_text(near, default_class)
        diag = ""
        for line in near.splitlines():
            if STATUS_RE.search(line) or SMTP_CODE_RE.search(line):
                diag = " ".join(line.split())
                break
        failures.append(DeliveryFailure(recipient, status, action if status[0] == "4" else "failed", diag))
    return failures


def original_recipients_from_headers(msg: Message) -> list[str]:
    """Addresses the returned original was sent to (its To), for reports naming no recipient."""
    original = embedded_original(msg)
    if original is None:
        return []
    return [m.group(1).lower() for m in ADDRESS_RE.finditer(header_text(original, "To"))]
