"""Sending providers' JSON notifications that arrive as mail (Amazon SES through SNS, and the
public webhook shapes of Postmark, Mailgun and SendGrid when forwarded by mail).

Each is turned into what the rest of inbound already acts on: delivery failures (read by the
same rules as any bounce) or a feedback report (a complaint).
"""

from __future__ import annotations

import email
import email.policy
import json
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from .arf import FeedbackReport
from .dsn import DeliveryFailure, read_reported_failure
from .mime import text_parts


@dataclass
class Notification:
    """What a provider's JSON said: a bounce (failures), a complaint (report), or a delivery."""

    kind: str  # "bounce", "complaint", "report"
    provider: str
    failures: list[DeliveryFailure] = field(default_factory=list)
    report: FeedbackReport | None = None


def _json_documents(msg: Message) -> list[Any]:
    """JSON objects found in the message's text parts (the body of an SNS mail is one)."""
    found = []
    decoder = json.JSONDecoder()
    for text in text_parts(msg):
        start = text.find("{")
        if start < 0:
            continue
        try:
            value, _ = decoder.raw_decode(text[start:])
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("Message"), str):  # an SNS envelope
            try:
                value = json.loads(value["Message"])
            except ValueError:
                continue
        found.append(value)
    return found


def _headers_as_message(headers: list[dict[str, str]] | None) -> Message | None:
    """SES's copy of the original's headers, as a message (for its Message-ID and To)."""
    if not headers:
        return None
    text = "".join(f"{h.get('name', '')}: {h.get('value', '')}\n" for h in headers if h.get("name"))
    return email.message_from_string(text + "\n", policy=email.policy.compat32)


def _ses(doc: dict[str, Any]) -> Notification | None:
    kind = str(doc.get("notificationType") or doc.get("eventType") or "")
    mail = doc.get("mail") if isinstance(doc.get("mail"), dict) else {}
    original = _headers_as_message(mail.get("headers"))
    if kind == "Bounce" and isinstance(doc.get("bounce"), dict):
        bounce = doc["bounce"]
        permanent = bounce.get("bounceType") == "Permanent"
        subtype = str(bounce.get("bounceSubType") or "")
        failures = []
        for rcpt in bounce.get("bouncedRecipients") or []:
            words = " ".join(str(rcpt.get(k) or "") for k in ("diagnosticCode",))
            if subtype == "NoEmail":  # SES's own finding: the address does not exist
                words = f"{words} address does not exist".strip()
            elif subtype and subtype != "General":
                words = f"{words} ({subtype})".strip()
            failures.append(read_reported_failure(
                str(rcpt.get("emailAddress") or ""), str(rcpt.get("status") or ("5.0.0" if permanent else "4.0.0")),
                words, final=True))
        return Notification("bounce", "Amazon SES", failures)
    if kind == "Complaint" and isinstance(doc.get("complaint"), dict):
        complaint = doc["complaint"]
        rcpts = [str(r.get("emailAddress") or "").lower() for r in complaint.get("complainedRecipients") or []]
        report = FeedbackReport(feedback_type=str(complaint.get("complaintFeedbackType") or "abuse").lower(),
                                user_agent=str(complaint.get("userAgent") or "Amazon SES"),
                                original_rcpt_to=[r for r in rcpts if r], original=original)
        return Notification("complaint", "Amazon SES", report=report)
    if kind in ("Delivery", "Send", "Open", "Click", "DeliveryDelay", "Reject", "Rendering Failure"):
        return Notification("report", "Amazon SES")
    return None


def _webhook(doc: dict[str, Any]) -> Notification | None:
    """Postmark (RecordType), Mailgun (event + severity) and SendGrid (event) payloads."""
    record = str(doc.get("RecordType") or "")
    if record == "SpamComplaint":
        report = FeedbackReport("abuse", "Postmark", original_rcpt_to=[str(doc.get("Email") or "").lower()])
        return Notification("complaint", "Postmark", report=report)
    if record == "Bounce":
        words = f"{doc.get('Description') or ''} {doc.get('Details') or ''} ({doc.get('Type') or ''})"
        hard = doc.get("Type") == "HardBounce"
        return Notification("bounce", "Postmark", [read_reported_failure(
            str(doc.get("Email") or ""), "5.0.0" if hard else "4.0.0", words, final=True)])
    event = str(doc.get("event") or "").lower()
    address = str(doc.get("recipient") or doc.get("email") or "")
    if event in ("complained", "spamreport"):
        provider = "Mailgun" if "recipient" in doc else "SendGrid"
        return Notification("complaint", provider, report=FeedbackReport("abuse", provider, [address.lower()]))
    if event in ("failed", "bounce", "dropped") and address:
        status = doc.get("delivery-status") if isinstance(doc.get("delivery-status"), dict) else {}
        code = str(doc.get("status") or status.get("enhanced-code") or "")
        temporary = doc.get("severity") == "temporary"
        words = " ".join(str(x) for x in (doc.get("reason"), status.get("message"), status.get("description")) if x)
        provider = "Mailgun" if "recipient" in doc else "SendGrid"
        return Notification("bounce", provider, [read_reported_failure(
            address, code or ("4.0.0" if temporary else "5.0.0"), words, final=not temporary)])
    return None


def parse_notification(msg: Message) -> Notification | None:
    """The provider notification ``msg`` carries as JSON, or None when it carries none."""
    for doc in _json_documents(msg):
        for doc_item in doc if isinstance(doc, list) else [doc]:
            if isinstance(doc_item, dict):
                found = _ses(doc_item) or _webhook(doc_item)
                if found is not None:
                    return found
    return None
