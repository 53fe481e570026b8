"""RFC 5965 abuse reports (ARF, the feedback loops of mailbox providers): a reader said "spam".

The report names the reader only through the returned original, so
:class:`FeedbackReport` keeps the clues a reader can be found by.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message

from .mime import addresses, embedded_original, header_text

# Feedback types that mean the reader does not want our mail (RFC 5965 section 7.3, and the
# opt-out type of the ARF drafts some feedback loops still send).
COMPLAINT_TYPES = {"abuse", "fraud", "other", "virus", "opt-out", "optout", "opt-out-list"}
# Where a returned original names its recipient: the provider's own header first (Hotmail's JMRP).
ORIGINAL_RECIPIENT_HEADERS = ("X-HmXmrOriginalRecipient", "X-Original-To", "Delivered-To", "To")
# What a feedback-loop report without the standard part says about itself (Hotmail JMRP and kin).
COMPLAINT_WORDS_RE = re.compile(
    r"complain|abuse report|spam report|feedback loop|reported (as|this|the message as) (spam|junk|abuse)"
    r"|marked (as )?(spam|junk)|junk (mail )?report|this is an? (email )?abuse", re.I)


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
    return _report_without_standard_part(msg)


def _report_without_standard_part(msg: Message) -> FeedbackReport | None:
    """A feedback loop's report with the original attached but no feedback-report part.

    It must say so in its subject, carry the original as message/rfc822, and hold no
    delivery-status part (that would be a bounce quoting a complaint).
    """
    if not msg.is_multipart() or not COMPLAINT_WORDS_RE.search(header_text(msg, "Subject")):
        return None
    types = {part.get_content_type() for part in msg.walk()}
    if "message/rfc822" not in types or types & {"message/delivery-status", "message/global-delivery-status"}:
        return None
    original = embedded_original(msg)
    return FeedbackReport(
        feedback_type="abuse",
        user_agent=header_text(msg, "From")[:80],
        original_rcpt_to=addresses(original, *ORIGINAL_RECIPIENT_HEADERS) if original is not None else [],
        original=original,
    )
