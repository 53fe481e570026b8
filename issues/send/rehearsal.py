"""Rehearsals of a send: a test send to a few addresses, and a dry run writing every message as .eml.

Both build messages exactly as the real send does, from the issue as it stands
(a draft is rendered afresh, a frozen issue uses its stored copy), but neither
freezes the issue nor touches the outbox.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from issues.build import get_issue, render_issue, resolve_issue_id
from newsletter.errors import InvalidInput, NotFound
from newsletter.transports import TransportError, open_transport
from newsletter.workspace import Workspace
from subscribers import bounce_base, get_subscriber, iter_confirmed, sender_domain, unsubscribe_url

from .message import IssueMessage, Recipient, envelope_recipient
from .sender import ReaderMessages


@dataclass(frozen=True)
class TrialResult:
    """How one test message fared."""

    address: str
    ok: bool
    code: int
    text: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_BODY_OPEN = re.compile(r"<body[^>]*>", re.IGNORECASE)


def _template(ws: Workspace, issue_id: str, *, test: bool, note: tuple[str, str] | None = None) -> IssueMessage:
    rendered = render_issue(ws, issue_id)
    html, text = rendered.html, rendered.text
    if note is not None:  # (text, html) for the editors, above the issue
        html = _BODY_OPEN.sub(lambda m: m.group(0) + note[1], html, count=1)
        text = f"{note[0]}\n\n{text}"
    return IssueMessage(ws, rendered.subject, html, text, test=test, campaign=rendered.issue_id)


def send_test(ws: Workspace, issue_key: str, addresses: Iterable[str],
              note: tuple[str, str] | None = None) -> list[TrialResult]:
    """Send the issue, subject marked ``[TEST]``, to ``addresses`` through the configured transport.

    A known reader gets their own unsubscribe link; anyone else a harmless sample one.
    ``note`` is (text, HTML) put above the issue, e.g. the editors' approve link.
    """
    issue_id = resolve_issue_id(ws, issue_key)
    template = _template(ws, issue_id, test=True, note=note)
    domain = sender_domain(ws)
    base = ws.settings.site.public_url.rstrip("/")
    results = []
    with open_transport(ws) as transport:
        for address in addresses:
            try:
                reader = get_subscriber(ws, address)
                name, link = reader.name, unsubscribe_url(ws, reader.id)
            except NotFound:
                name, link = None, f"{base}/unsubscribe/TEST-SEND"
            try:
                rcpt = envelope_recipient(address)
                message = template.build(
                    Recipient(address, name, link, f"unsubscribe@{domain}", template.new_message_id())
                )
                reply = transport.send(bounce_base(ws), [rcpt], message)
            except TransportError as exc:
                results.append(TrialResult(address, False, exc.code, f"{exc.enhanced} {exc.text}".strip()))
            except InvalidInput as exc:
                results.append(TrialResult(address, False, 0, str(exc)))
            else:
                results.append(TrialResult(address, True, reply.code, reply.text))
    return results


def write_dry_run(
    ws: Workspace, issue_key: str, out_dir: Path, progress: Callable[[int], None] | None = None
) -> int:
    """Write the message every confirmed reader would get now as ``out_dir/<n>-reader-<id>.eml``; the count."""
    issue = get_issue(ws, issue_key)
    messages = ReaderMessages(ws, _template(ws, issue.id, test=False), issue.id, issue.number)
    out_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    for subscriber_id, email, name in iter_confirmed(ws):
        _, _, message, _ = messages.compose(subscriber_id, email, name)
        count += 1
        (out_dir / f"{count:07d}-reader-{subscriber_id}.eml").write_bytes(message)
        if progress is not None:
            progress(1)
    return count
