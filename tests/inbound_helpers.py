"""Helpers for the inbound tests: a workspace with readers, and the sample corpus filled in."""

from __future__ import annotations

import re
from pathlib import Path

from issues.build import issues_db
from newsletter.clock import now_iso
from newsletter.workspace import Workspace
from subscribers import get_subscriber, register, verp

CORPUS = Path(__file__).parent / "data" / "inbound"

READERS = {
    "alice": "alice@example.org",
    "bob": "bob@example.net",
    "carol": "carol.runs@gmail.com",
    "dave": "dave.k@contoso-fitness.example",
    "erin": "erin@mailbox-provider.example",
    "frank": "frank@example.org",
    "heidi": "heidi@example.org",
    "ivan": "ivan@example.net",
    "judy": "judy@gym-partners.example",
    "kim": "kim.trains@yahoo.example",
}
ISSUE_NUMBER = 47
PLACEHOLDER_RE = re.compile(r"\{\{(VERP|UNSUB):(\w+)(?::(\d+))?\}\}")


def inbound_workspace(root: Path) -> Workspace:
    """The workspace at ``root`` with a subscribe address, readers confirmed, and issues 45-47 built."""
    settings = root / "newsletter.toml"
    settings.write_text(settings.read_text() + '\n[inbound]\nsubscribe_address = "join@example.com"\n')
    ws = Workspace(root)
    for email in READERS.values():
        register(ws, email, source="import", confirmed=True, consent_text="Signed up at the race expo")
    db = issues_db(ws)
    for number in (45, 46, 47):
        db.execute(
            "INSERT INTO issues (id, number, week, status, subject, preheader, created_at, built_at) "
            "VALUES (?, ?, ?, 'sent', 'Weekly Training Notes', '', ?, ?)",
            [f"2026-W{number}", number, f"2026-W{number}", now_iso(), now_iso()],
        )
    # Bob's copy of 2026-W47 went out with this Message-ID (his Exim bounce carries no VERP, only it).
    sent_to(ws, reader_id(ws, "bob"), "2026-W47", "<2026-W47.bob.1@news.example.com>")
    return ws


def sent_to(ws: Workspace, subscriber_id: int, issue_id: str, message_id: str, sent_at: str | None = None) -> None:
    """Record in the outbox that ``issue_id`` was sent to the reader with ``message_id``."""
    from issues.send import outbox_db

    outbox_db(ws).execute(
        "INSERT INTO outbox (issue_id, subscriber_id, status, attempts, message_id, sent_at, updated_at) "
        "VALUES (?, ?, 'sent', 1, ?, ?, ?)",
        [issue_id, subscriber_id, message_id, sent_at or now_iso(), now_iso()],
    )


def reader_id(ws: Workspace, name: str) -> int:
    return get_subscriber(ws, READERS[name]).id


def fill(ws: Workspace, text: str) -> str:
    """Replace ``{{VERP:name[:issue]}}`` / ``{{UNSUB:name}}`` with this workspace's signed addresses."""

    def one(m: re.Match) -> str:
        sid = reader_id(ws, m.group(2))
        if m.group(1) == "VERP":
            return verp.bounce_sender(ws, sid, int(m.group(3) or ISSUE_NUMBER))
        return verp.unsubscribe_mailto(ws, sid)

    return PLACEHOLDER_RE.sub(one, text)


def sample(ws: Workspace, name: str) -> bytes:
    """One corpus file with its placeholders filled in, as raw bytes."""
    raw = (CORPUS / name).read_bytes()
    if b"{{" not in raw:
        return raw
    return fill(ws, raw.decode("utf-8")).encode("utf-8")


def crlf(raw: bytes) -> bytes:
    """Line ends as on the wire (SMTP/LMTP), whatever the file had."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def write_corpus(ws: Workspace, folder: Path) -> Path:
    """Every corpus file, filled in, as a folder of .eml files."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(CORPUS.glob("*.eml")):
        (folder / path.name).write_bytes(sample(ws, path.name))
    return folder


def make_dsn(envelope_from: str, recipient: str, original: bytes, *, status: str = "5.1.1",
             reply: str = "550 5.1.1 Recipient address rejected: User unknown in local recipient table") -> bytes:
    """A Postfix-shaped RFC 3464 bounce of ``original`` for ``recipient``, addressed to ``envelope_from``."""
    from email.utils import format_datetime, make_msgid

    from newsletter.clock import utcnow

    headers = original.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    boundary = "dsn-boundary-" + make_msgid().strip("<>").split("@")[0].replace(".", "")
    action = "failed" if status.startswith(("5", "4")) else "delivered"
    text = f"""Return-Path: <>
Delivered-To: {envelope_from}
From: MAILER-DAEMON@sink.test (Mail Delivery System)
To: {envelope_from}
Subject: Undelivered Mail Returned to Sender
Date: {format_datetime(utcnow())}
Message-Id: {make_msgid(domain="sink.test")}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=utf-8

This is the mail system at host sink.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: host mx.sink.test said: {reply}

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; sink.test

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {reply}

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{headers}

--{boundary}--
"""
    return crlf(text.encode("utf-8"))
