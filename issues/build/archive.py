"""Reading the issue archive: :class:`Issue` and its items, by id (``2026-W47``) or number."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from newsletter.clock import WEEK_RE, now_iso, parse_week
from newsletter.db import write_transaction
from newsletter.errors import NotFound
from newsletter.workspace import Workspace

from .schema import issues_db


@dataclass(frozen=True)
class RelatedItem:
    """A related article shown under an item: where it points and what it is called."""

    article_id: int
    title: str
    url: str


@dataclass(frozen=True)
class IssueItem:
    """One article of an issue, as the email shows it."""

    position: int
    article_id: int
    title: str
    url: str
    image: str = ""
    image_alt: str = ""
    excerpt: str = ""
    author: str = ""
    published_at: str = ""
    tags: list[str] = field(default_factory=list)
    related: list[RelatedItem] = field(default_factory=list)


@dataclass(frozen=True)
class Issue:
    """A weekly issue: its number, status, subject line and items."""

    id: str
    number: int
    week: str
    status: str
    subject: str
    preheader: str
    created_at: str
    built_at: str
    frozen_at: str | None = None
    sent_at: str | None = None
    items: list[IssueItem] = field(default_factory=list)

    @property
    def frozen(self) -> bool:
        """True once sending has started: the stored render is what every reader gets."""
        return self.status != "draft"

    @property
    def first_day(self) -> date:
        return date.fromisocalendar(*parse_week(self.week), 1)

    @property
    def period(self) -> str:
        """The week as people say it: ``16–22 November 2026``."""
        start, end = self.first_day, self.first_day + timedelta(days=6)
        if start.year != end.year:
            return f"{start.day} {start:%B %Y} – {end.day} {end:%B %Y}"
        if start.month != end.month:
            return f"{start.day} {start:%B} – {end.day} {end:%B %Y}"
        return f"{start.day}–{end.day} {end:%B %Y}"

    def as_dict(self, *, with_items: bool = True) -> dict[str, Any]:
        data = asdict(self)
        data["period"] = self.period
        data["item_count"] = len(self.items)
        if not with_items:
            del data["items"]
        return data


def _item(row: dict[str, Any]) -> IssueItem:
    return IssueItem(
        position=row["position"],
        article_id=row["article_id"],
        title=row["title"],
        url=row["url"],
        image=row["image"],
        image_alt=row["image_alt"],
        excerpt=row["excerpt"],
        author=row["author"],
        published_at=row["published_at"],
        tags=json.loads(row["tags"]),
        related=[RelatedItem(**r) for r in json.loads(row["related"])],
    )


_ISSUE_COLUMNS = "id, number, week, status, subject, preheader, created_at, built_at, frozen_at, sent_at"


def _issue(ws: Workspace, row: dict[str, Any]) -> Issue:
    db = issues_db(ws)
    items = [
        _item(r)
        for r in db.query("SELECT * FROM issue_items WHERE issue_id = ? ORDER BY position", [row["id"]])
    ]
    return Issue(**row, items=items)


def resolve_issue_id(ws: Workspace, key: str | int) -> str:
    """An issue id from ``2026-W47``, a number (``3`` or ``#3``) or ``latest``; NotFound otherwise."""
    db = issues_db(ws)
    text = str(key).strip()
    if text.lower() == "latest":
        row = db.execute("SELECT id FROM issues ORDER BY week DESC LIMIT 1").fetchone()
    elif WEEK_RE.match(text.upper()):
        row = db.execute("SELECT id FROM issues WHERE id = ?", [text.upper()]).fetchone()
    elif text.lstrip("#").isdigit():
        row = db.execute("SELECT id FROM issues WHERE number = ?", [int(text.lstrip("#"))]).fetchone()
    else:
        raise NotFound(f"{text!r} is not an issue name; use its week (2026-W47), its number or 'latest'")
    if row is None:
        raise NotFound(f"no issue {text}; run 'newsletter issue list' to see the built ones")
    return row[0]


def get_issue(ws: Workspace, key: str | int) -> Issue:
    """The issue named by ``key`` (week id, number or ``latest``) with its items."""
    issue_id = resolve_issue_id(ws, key)
    row = next(issues_db(ws).query(f"SELECT {_ISSUE_COLUMNS} FROM issues WHERE id = ?", [issue_id]))
    return _issue(ws, row)


def list_issues(ws: Workspace) -> list[Issue]:
    """Every issue, newest week first, with items."""
    rows = issues_db(ws).query(f"SELECT {_ISSUE_COLUMNS} FROM issues ORDER BY week DESC")
    return [_issue(ws, row) for row in rows]


def mark_sent(ws: Workspace, issue_id: str) -> None:
    """Record that the send of a frozen issue has finished (status ``sent``)."""
    db = issues_db(ws)
    with db.conn:
        cur = db.execute(
            "UPDATE issues SET status = 'sent', sent_at = ? WHERE id = ? AND status = 'sending'",
            [now_iso(), issue_id],
        )
    if cur.rowcount == 0:
        get_issue(ws, issue_id)  # NotFound if it does not exist; a draft or sent issue is left alone


def issue_id_for_number(ws: Workspace, number: int) -> str | None:
    """The id of the issue with this number, or None (no such issue, or no issues table yet)."""
    row = issues_db(ws).execute("SELECT id FROM issues WHERE number = ?", [number]).fetchone()
    return row[0] if row else None


def issue_fingerprint(ws: Workspace, issue_id: str) -> tuple[Any, ...]:
    """What changes on the issue's row when it is rebuilt, frozen or sent (for watchers such as the preview)."""
    row = issues_db(ws).execute("SELECT built_at, status, frozen_at FROM issues WHERE id = ?", [issue_id]).fetchone()
    return tuple(row) if row else ()


def articles_of_issues(ws: Workspace, issue_ids: list[str]) -> set[int]:
    """Every article that is an item of one of these issues."""
    if not issue_ids:
        return set()
    marks = ",".join("?" * len(issue_ids))
    rows = issues_db(ws).execute(f"SELECT DISTINCT article_id FROM issue_items WHERE issue_id IN ({marks})", issue_ids)
    return {row[0] for row in rows}


def store_frozen(ws: Workspace, issue_id: str, built_at: str | None, rendered: Any) -> tuple[bool, str | None]:
    """Freeze the issue with ``rendered`` (subject, preheader, html, text) if it is still that build.

    Atomic under the write lock: (True, None) when frozen now; (False, frozen_at) when the
    row was frozen already or rebuilt since ``built_at`` (then the caller renders again).
    """
    db = issues_db(ws)
    with write_transaction(db):
        stored_built, frozen_at = db.conn.execute(
            "SELECT built_at, frozen_at FROM issues WHERE id = ?", [issue_id]
        ).fetchone()
        if frozen_at is not None or stored_built != built_at:
            return False, frozen_at
        db.conn.execute(
            "UPDATE issues SET status = 'sending', frozen_at = ?, subject = ?, preheader = ?, html = ?, text = ? "
            "WHERE id = ?",
            [now_iso(), rendered.subject, rendered.preheader, rendered.html, rendered.text, issue_id],
        )
    return True, None
