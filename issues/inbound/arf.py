"""RFC 5965 abuse reports (ARF, the feedback loops of mailbox providers): a reader said "spam".

The report names the reader only through the returned original, so
:class:`FeedbackReport` keeps the clues a reader can be found by.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import Message

from .mime import addresses, embedded_original, header_text

# Feedback types that mean the reader does not want our mail (RFC 5965 section 7.3).
COMPLAINT_TYPES = {"abuse", "fraud", "other", "virus"}


@dataclass(frozen=True)
class FeedbackReport:
    """What an ARF report says and the clues to its reader in the returned original."""

    feedback_type: str  # abuse, fraud, not-spam, auth-failure, ...
    user_agent: str
    original_rcpt_to: list[str] = field(default_factory=list)
    original_mail_from: list[str] = field(default_factory=list)
    original: Message | None = None

    @property
    def is_complaint(self) -> bool:
        return self.feedback_type in COMPLAINT_TYPES

    def describe(self) -> str:
        words = f"feedback-type {self.feedback_type}"
        if self.user_agent:
            words += f" from {self.user_agent}"
        return words


def _report_fields(part: Message) -> Message:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]  # the parser reads message/* parts as an embedded header block
    raw = part.get_payload(decode=True) or b""
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def parse_arf(msg: Message) -> FeedbackReport | None:
    """The feedback report in ``msg``, or None when it holds none."""
    for part in msg.walk():
        if part.get_content_type() == "message/feedback-report":
            fields = _report_fields(part)
            return FeedbackReport(
                feedback_type=header_text(fields, "Feedback-Type").lower() or "abuse",
                user_agent=header_text(fields, "User-Agent"),
                original_rcpt_to=addresses(fields, "Original-Rcpt-To"),
                original_mail_from=addresses(fields, "Original-Mail-From"),
                original=embedded_original(msg),
            )
    return None
