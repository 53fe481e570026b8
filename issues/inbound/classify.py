"""Decide what a returned message is: bounce, complaint, unsubscribe, subscribe request, auto-reply.

Pure reading of the message (no database): :func:`classify` returns a
:class:`Verdict`, and :mod:`issues.inbound.process` acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from .arf import FeedbackReport, parse_arf
from .autoreply import auto_reply_reason
from .dsn import DeliveryFailure, looks_like_bounce, parse_plain, parse_rfc3464
from .mime import addresses, bare_address, header_text
from .notifications import parse_notification
from .readers import tagged_token

# Where a message was addressed, most trustworthy first (envelope, then what MTAs record, then headers).
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "X-Envelope-To", "Envelope-To", "To", "Cc")


@dataclass(frozen=True)
class Routing:
    """Our own addresses: the tags of ``bounces+<token>@`` / ``unsubscribe+<token>@`` and the subscribe address."""

    bounce_tag: str = "bounces"
    unsubscribe_tag: str = "unsubscribe"
    subscribe_addresses: tuple[str, ...] = ()


@dataclass
class Verdict:
    """What a message is, why we think so, and the parsed details the action needs."""

    kind: str
    reason: str
    recipients: list[str] = field(default_factory=list)
    failures: list[DeliveryFailure] = field(default_factory=list)
    report: FeedbackReport | None = None


def recipients_of(msg: Message, envelope: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Every address the message was delivered to, envelope recipients first."""
    found = [bare_address(a) for a in envelope if "@" in a]
    for addr in addresses(msg, *RECIPIENT_HEADERS):
        if addr not in found:
            found.append(addr)
    return found


def _bounce_verdict(failures: list[DeliveryFailure], recipients: list[str], shape: str) -> Verdict:
    failed = [f for f in failures if f.action == "failed"]
    if failed:
        codes = ", ".join(sorted({f.status for f in failed}))
        return Verdict("bounce", f"{shape} delivery failure ({codes})", recipients, failed)
    if failures:
        return Verdict("delay", f"{shape} delay warning; the sending MTA is still trying", recipients, failures)
    return Verdict("report", f"{shape} report of successful delivery", recipients)


def classify(msg: Message, envelope: list[str] | tuple[str, ...] = (), routing: Routing = Routing()) -> Verdict:
    """Read ``msg`` and say what it is; ``envelope`` holds the SMTP/LMTP recipients when known."""
    recipients = recipients_of(msg, envelope)
    report = parse_arf(msg)
    if report is not None:
        kind = "complaint" if report.is_complaint else "feedback"
        return Verdict(kind, f"ARF report, {report.describe()}", recipients, report=report)
    notice = parse_notification(msg)
    if notice is not None and notice.kind == "complaint" and notice.report is not None:
        return Verdict("complaint", f"{notice.provider} complaint notification, {notice.report.describe()}",
                       recipients, report=notice.report)
    if notice is not None:
        return _bounce_verdict(notice.failures, recipients, f"{notice.provider} notification")
    standard = parse_rfc3464(msg)
    if standard is not None:
        return _bounce_verdict(standard, recipients, "RFC 3464")
    if looks_like_bounce(msg):
        return _bounce_verdict(parse_plain(msg), recipients, "plain-text")
    if any(tagged_token(r, routing.unsubscribe_tag) for r in recipients):
        return Verdict("unsubscribe", "mail to a signed unsubscribe address", recipients)
    auto = auto_reply_reason(msg)
    if auto:
        return Verdict("autoreply", f"auto-reply ({auto})", recipients)
    wanted = {a.strip().lower() for a in routing.subscribe_addresses if a.strip()}
    if wanted and wanted & set(recipients):
        return Verdict("subscribe", "mail to the subscribe address", recipients)
    if any(tagged_token(r, routing.bounce_tag) for r in recipients):
        return Verdict("unknown", "mail to a bounce address that is neither a bounce nor an auto-reply", recipients)
    subject = header_text(msg, "Subject")[:60]
    return Verdict("unknown", f"not a bounce, complaint, unsubscribe or subscribe request (subject {subject!r})",
                   recipients)
