"""The issue archive's tables: ``issues`` (one row per ISO week) and ``issue_items`` (its articles).

An issue row carries, once frozen, the exact subject, preheader, HTML and text
every reader gets (placeholders unfilled), so later edits cannot change a send.
"""

from __future__ import annotations

from newsletter.db import Database
from newsletter.workspace import Workspace

COMPONENT = "issues"


def _create_tables(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE issues (
            id TEXT PRIMARY KEY,             -- the ISO week, e.g. 2026-W47
            number INTEGER NOT NULL UNIQUE,  -- 1, 2, 3 ... in the order issues were first built
            week TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sending', 'sent')),
            subject TEXT NOT NULL,
            preheader TEXT NOT NULL,
            created_at TEXT NOT NULL,
            built_at TEXT NOT NULL,
            frozen_at TEXT,
            sent_at TEXT,
            html TEXT,                       -- stored render, set when frozen
            text TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE issue_items (
            issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            article_id INTEGER NOT NULL,
            title TEXT NOT NULL,
            url TEXT NOT NULL,               -- the read-more link, with UTM parameters
            image TEXT NOT NULL DEFAULT '',
            image_alt TEXT NOT NULL DEFAULT '',
            excerpt TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            published_at TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '[]',    -- JSON list
            related TEXT NOT NULL DEFAULT '[]', -- JSON list of {article_id, title, url}
            PRIMARY KEY (issue_id, position)
        )
        """
    )
    db.execute("CREATE INDEX issue_items_article ON issue_items(article_id)")


MIGRATIONS = [_create_tables]


def issues_db(ws: Workspace) -> Database:
    """The workspace database with the issue tables in place."""
    return ws.require_schema(COMPONENT, MIGRATIONS)
