"""The subscriber tables: readers, their append-only event history, and the suppression list."""

from __future__ import annotations

from newsletter.db import Database
from newsletter.workspace import Workspace

COMPONENT = "subscribers"

STATUSES = ("pending", "confirmed", "unsubscribed", "bounced", "complained")
LEAVER_STATUSES = ("unsubscribed", "bounced", "complained")

# Columns of subscriber_events that may hold personal data; forget() may blank them, nothing else.
PERSONAL_EVENT_FIELDS = ("ip", "user_agent", "detail")


def _create_tables(db: Database) -> None:
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    db.execute(
        f"""CREATE TABLE subscribers (
            id INTEGER PRIMARY KEY,
            email TEXT,
            email_normalized TEXT UNIQUE,
            name TEXT,
            status TEXT NOT NULL CHECK (status IN ({statuses})),
            source TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            confirmed_at TEXT,
            confirm_nonce TEXT NOT NULL DEFAULT '',
            forgotten_at TEXT
        )"""
    )
    db.execute("CREATE INDEX subscribers_status ON subscribers (status, id)")
    db.execute(
        """CREATE TABLE subscriber_events (
            id INTEGER PRIMARY KEY,
            subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
            kind TEXT NOT NULL,
            status TEXT,
            at TEXT NOT NULL,
            source TEXT,
            ip TEXT,
            user_agent TEXT,
            consent_text TEXT,
            detail TEXT
        )"""
    )
    db.execute("CREATE INDEX subscriber_events_reader ON subscriber_events (subscriber_id, kind, at)")
    # Append-only: no delete, and an update may only blank the personal fields (for forget).
    db.execute(
        """CREATE TRIGGER subscriber_events_no_delete BEFORE DELETE ON subscriber_events
           BEGIN SELECT RAISE(ABORT, 'subscriber_events is append-only'); END"""
    )
    changed = " OR ".join(
        f"NEW.{col} IS NOT OLD.{col}"
        for col in ("id", "subscriber_id", "kind", "status", "at", "source", "consent_text")
    )
    not_blanked = " OR ".join(f"(NEW.{col} IS NOT NULL AND NEW.{col} IS NOT OLD.{col})" for col in PERSONAL_EVENT_FIELDS)
    db.execute(
        f"""CREATE TRIGGER subscriber_events_no_update BEFORE UPDATE ON subscriber_events
            WHEN {changed} OR {not_blanked}
            BEGIN SELECT RAISE(ABORT, 'subscriber_events is append-only; only personal fields may be erased'); END"""
    )
    db.execute(
        """CREATE TABLE suppressions (
            hash TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            at TEXT NOT NULL
        ) WITHOUT ROWID"""
    )


def _add_mail_queue(db: Database) -> None:
    """Confirmation and welcome mails waiting to go out (see :mod:`subscribers.mailqueue`)."""
    db.execute(
        """CREATE TABLE mail_queue (
            id INTEGER PRIMARY KEY,
            subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
            kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'welcome')),
            queued_at TEXT NOT NULL,
            due_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            claimed_until TEXT,
            last_error TEXT
        )"""
    )
    db.execute("CREATE INDEX mail_queue_due ON mail_queue (due_at)")


def _add_signup_intake(db: Database) -> None:
    """Web sign-ups taken in but not yet registered (see :mod:`subscribers.intake`)."""
    db.execute(
        """CREATE TABLE signup_intake (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL,
            name TEXT,
            source TEXT NOT NULL,
            ip TEXT,
            user_agent TEXT,
            consent_text TEXT,
            at TEXT NOT NULL
        )"""
    )


MIGRATIONS = [_create_tables, _add_mail_queue, _add_signup_intake]


def database(ws: Workspace) -> Database:
    """This thread's database with the subscriber tables in place."""
    return ws.require_schema(COMPONENT, MIGRATIONS)
