"""Delivery status notifications: RFC 3464 reports and the plain-text shapes MTAs still send.

Each failed recipient becomes a :class:`DeliveryFailure` with an enhanced status
code (``5.1.1``); callers decide what a hard or soft failure does to a reader.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.utils import parseaddr

from .mime import embedded_original, header_text, text_parts
from .reasons import is_expiry, read_failure

STATUS_RE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_CODE_RE = re.compile(r"(?<![\d.])([245]\d\d)(?:[ :,-]|$)", re.M)
ADDRESS_RE = re.compile(r"<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>?")

# Subjects that mark a plain-text bounce (Exim, Exchange legacy, qmail, Gmail, Notes, carriers).
BOUNCE_SUBJECT_RE = re.compile(
    r"(undeliver|undelivered mail|mail delivery (failed|failure|subsystem)|delivery status notification"
    r"|returned mail|failure notice|delivery (has )?failed|could not be delivered|non[- ]?delivery"
    r"|delivery incomplete|delivery (notification|failure|report)|warning: message .* delayed|mail system error"
    r"|nondeliverable|not delivered|rejected:|delivery problem|\b(mail|delivery|message) (failure|failed)"
    r"|failure delivery|error sending|returning to sender|returned to sender)",
    re.I,
)
# Local parts and display names mail systems send their reports under.
MAIL_SYSTEM_RE = re.compile(
    r"^(mailer[-_]?daemon|post[-_]?master|mail[-_]?daemon|mdaemon|mail delivery (system|subsystem)"
    r"|system administrator|mail administrator)\b", re.I)
# What the text of a failure report says, whatever its subject.
BOUNCE_BODY_RE = re.compile(
    r"could ?n[o']t be delivered|could not deliver|not (be )?delivered|undeliver|delivery (to the following|has failed"
    r"|failed|failure|status notification|was refused)|permanent(ly)? (error|fail)|did not reach|returned to sender"
    r"|failed recipient|following address(es)? failed|unable to deliver|wasn't able to deliver|non-?delivery"
    r"|message (was )?(rejected|bounced)|error delivering|delivery (problem|error)|giving up|gave up",
    re.I,
)
PERMANENT_WORDS_RE = re.compile(r"permanent(ly)? (error|failure)|could not be delivered|gave up|giving up", re.I)
TEMPORARY_WORDS_RE = re.compile(r"temporar(y|ily)|will (retry|try again|be retried)|delayed|warning message only"
                                r"|do not need to re-?send", re.I)


@dataclass(frozen=True)
class DeliveryFailure:
    """One recipient the report says was not (yet) delivered, and what the failure means."""

    recipient: str  # the address as the report names it ('' when the report names none)
    status: str  # enhanced status code, e.g. "5.1.1" ("5.0.0" when the report gives none)
    action: str  # "failed" or "delayed" (RFC 3464 Action; an expired delay is "failed")
    diagnostic: str  # the remote server's words, one line
    reason: str = ""  # the rule of :mod:`issues.inbound.reasons` that read it ("unknown user", ...)
    severity: str = "soft"  # "hard": the address is gone; "soft": counted, bounced after repeats
    context: str = field(default="", repr=False, compare=False)  # the report's own text, to read again

    @property
    def hard(self) -> bool:
        """A permanent failure of the address itself: stop mailing it at once."""
        return self.action == "failed" and self.severity == "hard"

    def describe(self) -> str:
        words = f"{self.action} {self.status}"
        if self.reason:
            words += f" ({self.reason})"
        if self.recipient:
            words += f" for {self.recipient}"
        if self.diagnostic:
            words += f": {self.diagnostic}"
        return words[:500]

    def about(self, address: str) -> DeliveryFailure:
        """The same report read again for ``address``, found in its text (no recipient field named it)."""
        near = _recipient_lines(self.context, address)
        return _failure(address, near or self.diagnostic, self.action, self.diagnostic, self.context)


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


def _failure(recipient: str, text: str, action: str, diagnostic: str, context: str, status: str = "") -> DeliveryFailure:
    """Read one failure: its status (given, else from the words), expiry, and hard or soft."""
    if not status or status.endswith(".0.0"):  # a generic Status: the server's own words may be specific
        found = _status_from_text(diagnostic or text, "5" if action == "failed" else "4")
        status = found if not status or found[0] == status[0] and not found.endswith(".0.0") else status
    if action == "delayed" and (status.endswith(".4.7") or is_expiry(diagnostic)):
        action = "failed"  # the sending system gave up: final, not a warning
    reading = read_failure(status, diagnostic, text)
    return DeliveryFailure(recipient, status, action, diagnostic, reading.reason, reading.severity, context)


def read_reported_failure(recipient: str, status: str, words: str, *, final: bool = True) -> DeliveryFailure:
    """A failure a provider reported in its own format (JSON), read by the same rules as a DSN."""
    m = STATUS_RE.search(status)
    words = " ".join(words.split())
    return _failure(recipient.strip().lower(), "", "failed" if final else "delayed", words, words,
                    ".".join(m.groups()) if m else "")


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
    if isinstance(payload, str):  # a global-delivery-status part (or a malformed one) arrives as text
        return [HeaderParser().parsestr(chunk.strip() + "\n") for chunk in re.split(r"\r?\n\s*\r?\n", payload)
                if chunk.strip()]
    return []


# Where a plain-text report starts quoting the returned original inline (qmail, Exim, Google, ...).
INLINE_ORIGINAL_RE = re.compile(
    r"^[ \t>-]*(-+ ?)?(below this line is a copy|this is a copy of the message|(-+ ?)original message"
    r"|the original message (was|follows|is)|original message follows|a copy of the original message"
    r"|unsent message below|message headers follow|your message reads|returned message follows"
    r"|\|?-+ message text follows)",
    re.I | re.M,
)


def report_text(msg: Message) -> str:
    """The report's own words: every text part, without the returned original (attached or quoted)."""
    text = "\n".join(text_parts(msg, skip_original=True))
    cut = INLINE_ORIGINAL_RE.search(text)
    return text[:cut.start()] if cut and cut.start() > 0 else text


def parse_rfc3464(msg: Message) -> list[DeliveryFailure] | None:
    """Failed or delayed recipients of an RFC 3464 report; None when ``msg`` is not one."""
    part = _delivery_status_part(msg)
    if part is None:
        return None
    context = report_text(msg)
    failures = []
    for block in _field_blocks(part):
        action = header_text(block, "Action").lower()
        if not action:
            continue  # the per-message block
        if action not in ("failed", "delayed"):
            continue  # delivered, relayed, expanded: nothing went wrong
        recipient = _strip_type(header_text(block, "Original-Recipient") or header_text(block, "Final-Recipient"))
        if "@" not in recipient:
            recipient = _strip_type(header_text(block, "Final-Recipient"))
        recipient = recipient.lower() if "@" in recipient else ""  # a spool path or alias names no one
        diagnostic = _strip_type(header_text(block, "Diagnostic-Code"))
        m = STATUS_RE.search(header_text(block, "Status"))
        status = ".".join(m.groups()) if m else ""
        near = _recipient_lines(context, recipient) if recipient else ""
        failures.append(_failure(recipient, near, action, diagnostic, context, status))
    return failures


def from_mail_system(msg: Message) -> bool:
    """Sent by a mail system: the null sender in any spelling, or a mailer-daemon or postmaster."""
    return_path = header_text(msg, "Return-Path").strip().strip("<> ").lower()
    if msg.get("Return-Path") is not None and return_path in ("", "mailer-daemon"):
        return True
    name, address = parseaddr(header_text(msg, "From"))
    if header_text(msg, "From") and not address.strip("<> "):
        return True  # "MAILER-DAEMON <>", "<>": the null sender written into From
    local = address.rpartition("@")[0] or address
    return bool(MAIL_SYSTEM_RE.match(local) or MAIL_SYSTEM_RE.match(name.strip().strip('"')))


def looks_like_bounce(msg: Message) -> bool:
    """A non-RFC-3464 bounce: X-Failed-Recipients, or a mail system's report that says delivery failed."""
    if msg.get("X-Failed-Recipients"):
        return True
    subject = BOUNCE_SUBJECT_RE.search(header_text(msg, "Subject")) is not None
    if from_mail_system(msg):
        return subject or BOUNCE_BODY_RE.search(report_text(msg)) is not None
    if subject:  # a report sent under an ordinary address must say so in its words and carry a reply code
        text = report_text(msg)
        return BOUNCE_BODY_RE.search(text) is not None and SMTP_CODE_RE.search(text) is not None
    return False


def _recipient_lines(text: str, recipient: str) -> str:
    """From the line that first mentions ``recipient`` on (where MTAs put the reason); '' when none does."""
    low = text.lower()
    at = low.find(recipient.lower()) if recipient else -1
    if at < 0:
        return ""
    start = low.rfind("\n", 0, at) + 1
    return text[start:at + 600]


def parse_plain(msg: Message) -> list[DeliveryFailure]:
    """Failed recipients of a plain-text bounce (Exim, legacy Exchange, qmail): best effort."""
    text = report_text(msg)
    final = PERMANENT_WORDS_RE.search(text) or not TEMPORARY_WORDS_RE.search(text) or is_expiry(text)
    action = "failed" if final else "delayed"
    named = [a.strip().lower() for a in header_text(msg, "X-Failed-Recipients").split(",") if "@" in a]
    if not named:
        for name in ("Original-Recipient", "Final-Recipient"):
            if "@" in header_text(msg, name):
                named.append(_strip_type(header_text(msg, name)).lower())
    failures = []
    for recipient in named or [""]:
        near = _recipient_lines(text, recipient) or text
        diag = ""
        for line in near.splitlines():
            if STATUS_RE.search(line) or SMTP_CODE_RE.search(line):
                diag = " ".join(line.split())
                break
        failures.append(_failure(recipient, near, action, diag, text))
    return failures


def quoted_original(msg: Message) -> Message | None:
    """The original a plain-text report quotes inline after a "copy of the message follows" line."""
    text = "\n".join(text_parts(msg, skip_original=True))
    m = INLINE_ORIGINAL_RE.search(text)
    if m is None:
        return None
    rest = text[m.end():].split("\n", 1)[-1].lstrip("\r\n ")
    quoted = email.message_from_string(rest, policy=email.policy.compat32)
    return quoted if any(quoted.get(h) for h in ("From", "To", "Message-ID", "Subject")) else None


def returned_original(msg: Message) -> Message | None:
    """The returned original, attached or quoted inline."""
    return embedded_original(msg) or quoted_original(msg)


def original_recipients_from_headers(msg: Message) -> list[str]:
    """Addresses the returned original was sent to (its To), for reports naming no recipient."""
    original = returned_original(msg)
    if original is None:
        return []
    return [m.group(1).lower() for m in ADDRESS_RE.finditer(header_text(original, "To"))]


def addresses_in_text(msg: Message) -> list[str]:
    """Every address the report mentions: its own text first, then the returned original's headers.

    Only ever matched against our own readers, to find the one a report names only in prose.
    """
    found: list[str] = []
    original = returned_original(msg)
    head = "\n".join(f"{k}: {v}" for k, v in original.items()) if original is not None else ""
    for text in (report_text(msg), head, "\n".join(text_parts(msg, skip_original=True))):
        for m in ADDRESS_RE.finditer(text):
            address = m.group(1).lower().strip(".")
            if address not in found:
                found.append(address)
    return found
