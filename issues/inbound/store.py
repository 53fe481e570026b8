"""What inbound processing remembers: each message once (by content hash and Message-ID),
the feedback per reader and issue, and a Maildir of messages kept aside with the reason.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from issues import send  # its outbox is read only when counting a soft-bounce streak
from newsletter.clock import now_iso, utcnow
from newsletter.db import Database, write_transaction
from newsletter.workspace import Workspace

COMPONENT = "inbound"

ADDRESS_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")

# A claim older than this was left by a process that died mid-way; the message may be taken again.
STALE_CLAIM = timedelta(minutes=10)


def _create_tables(db: Database) -> None:
    db.execute(
        """CREATE TABLE inbound_messages (
            id INTEGER PRIMARY KEY,
            content_hash TEXT NOT NULL UNIQUE,
            message_id TEXT,
            received_at TEXT NOT NULL,
            source TEXT NOT NULL,
            label TEXT,
            kind TEXT,
            outcome TEXT NOT NULL CHECK (outcome IN ('processing', 'done', 'ignored', 'rejected')),
            detail TEXT,
            kept_as TEXT
        )"""
    )
    db.execute("CREATE INDEX inbound_messages_message_id ON inbound_messages (message_id)")
    db.execute(
        """CREATE TABLE inbound_feedback (
            id INTEGER PRIMARY KEY,
            message_row INTEGER NOT NULL REFERENCES inbound_messages (id),
            subscriber_id INTEGER,
            domain TEXT,                -- of the failed address (no local part: see add_feedback)
            issue_id TEXT,
            kind TEXT NOT NULL CHECK (kind IN
                ('hard_bounce', 'soft_bounce', 'delay', 'complaint', 'unsubscribe', 'subscribe', 'feedback')),
            status_code TEXT,
            detail TEXT,
            at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX inbound_feedback_issue ON inbound_feedback (issue_id, kind)")
    db.execute("CREATE INDEX inbound_feedback_reader ON inbound_feedback (subscriber_id, kind)")
    # Per-issue figures as a view, so `subscribers stats` can read them without importing issues.
    db.execute(
        """CREATE VIEW inbound_issue_feedback AS
           SELECT issue_id,
                  COUNT(DISTINCT CASE WHEN kind = 'hard_bounce' THEN subscriber_id END) AS hard_bounces,
                  COUNT(DISTINCT CASE WHEN kind = 'soft_bounce' THEN subscriber_id END) AS soft_bounces,
                  COUNT(DISTINCT CASE WHEN kind = 'complaint' THEN subscriber_id END) AS complaints,
                  COUNT(DISTINCT CASE WHEN kind = 'unsubscribe' THEN subscriber_id END) AS mail_unsubscribes
           FROM inbound_feedback WHERE issue_id IS NOT NULL GROUP BY issue_id"""
    )


MIGRATIONS = [_create_tables]


def database(ws: Workspace) -> Database:
    """This thread's database with the inbound tables in place."""
    return ws.require_schema(COMPONENT, MIGRATIONS)


def claim(ws: Workspace, content_hash: str, message_id: str, source: str, label: str) -> int | None:
    """Record that we take this message; None when it was processed (or is being processed) already."""
    db = database(ws)
    with write_transaction(db):
        row = db.execute(
            "SELECT id, outcome, received_at FROM inbound_messages WHERE content_hash = ? "
            "OR (? != '' AND message_id = ?) ORDER BY id LIMIT 1",
            [content_hash, message_id, message_id],
        ).fetchone()
        if row is not None:
            stale = row[1] == "processing" and datetime.fromisoformat(row[2]) < utcnow() - STALE_CLAIM
            if not stale:
                return None
            db.execute("UPDATE inbound_messages SET received_at = ? WHERE id = ?", [now_iso(), row[0]])
            return int(row[0])
        cur = db.execute(
            "INSERT INTO inbound_messages (content_hash, message_id, received_at, source, label, outcome) "
            "VALUES (?, ?, ?, ?, ?, 'processing')",
            [content_hash, message_id, now_iso(), source, label],
        )
        return int(cur.lastrowid)


def finish(ws: Workspace, row: int, *, kind: str, outcome: str, detail: str, kept_as: str | None = None) -> None:
    database(ws).execute(
        "UPDATE inbound_messages SET kind = ?, outcome = ?, detail = ?, kept_as = ? WHERE id = ?",
        [kind, outcome, detail[:1000], kept_as, row],
    )


def release(ws: Workspace, row: int) -> None:
    """Forget a claim whose processing failed, so the message can be fed again."""
    database(ws).execute(
        "DELETE FROM inbound_messages WHERE id = ? AND outcome = 'processing' "
        "AND NOT EXISTS (SELECT 1 FROM inbound_feedback WHERE message_row = ?)",
        [row, row],
    )


def add_feedback(
    ws: Workspace, row: int, *, kind: str, subscriber_id: int | None, address: str | None,
    issue_id: str | None, status_code: str | None = None, detail: str = "",
) -> None:
    """Record what one message said about one reader.

    Only the domain of the address is kept, and addresses in ``detail`` are masked:
    the reader's own history (which ``forget`` erases) holds the full wording.
    """
    domain = address.rpartition("@")[2].lower() if address and "@" in address else None
    database(ws).execute(
        "INSERT INTO inbound_feedback (message_row, subscriber_id, domain, issue_id, kind, status_code, "
        "detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [row, subscriber_id, domain, issue_id, kind, status_code, mask_addresses(detail)[:1000], now_iso()],
    )


def mask_addresses(text: str) -> str:
    """``alice@example.org`` → ``…@example.org``: keep the provider, drop the person."""
    return ADDRESS_RE.sub(lambda m: "…@" + m.group(1), text)


def keep_aside(ws: Workspace, raw: bytes, reason: str) -> str:
    """Store ``raw`` in the workspace's rejected Maildir with an ``X-Inbound-Rejected`` reason header."""
    folder = ws.path(ws.settings.inbound.rejected_maildir)
    import mailbox  # only to keep a message aside; `inbound status` starts without it

    box = mailbox.Maildir(folder, create=True)
    header = "X-Inbound-Rejected: " + " ".join(reason.split())[:900] + "\r\n"
    return str(box.add(header.encode("utf-8", "replace") + raw))


def soft_bounce_streak(ws: Workspace, subscriber_id: int, issue_id: str | None) -> int:
    """How many issues in a row, ending with ``issue_id``, soft-bounced for this reader.

    Counts along the issues the outbox says were sent to the reader; without an
    outbox (or an issue) it counts the distinct issues, or days, that soft-bounced.
    """
    db = database(ws)
    keys = {
        r[0] for r in db.execute(
            "SELECT COALESCE(issue_id, substr(at, 1, 10)) FROM inbound_feedback "
            "WHERE subscriber_id = ? AND kind = 'soft_bounce'", [subscriber_id]
        )
    }
    sent = send.issues_sent_to(ws, subscriber_id)
    if not sent or issue_id not in sent:
        return len(keys)
    streak = 0
    for sent_issue in sent[sent.index(issue_id):]:
        if sent_issue not in keys:
            break
        streak += 1
    return streak
