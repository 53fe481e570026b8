"""Building an issue: the articles of one ISO week, each with an excerpt, a tracked link and related reading.

Building again refreshes a draft; an issue that has started sending is frozen
and refuses.  A week without articles builds nothing.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from newsletter.articles import Article, articles_in_week, get_article
from newsletter.clock import last_complete_week, normalise_week, now_iso, parse_week
from newsletter.db import write_transaction
from newsletter.errors import InvalidInput, NewsletterError
from newsletter.related import RelatedLink, issue_related
from newsletter.render import render_string
from newsletter.workspace import Workspace

from .archive import Issue, IssueItem, RelatedItem, get_issue
from .content_checks import refuse_without_urls
from .excerpt import absolute_url, excerpt_for, with_utm
from .render import site_context, utm_params
from .schema import issues_db

log = logging.getLogger(__name__)


class IssueFrozen(NewsletterError):
    """The issue has started sending; its content can no longer change."""


class EmptyWeek(NewsletterError):
    """No articles were published in the requested week."""


def _one_line(ws: Workspace, key: str, context: dict[str, Any]) -> str:
    """Render the ``[issue] key`` template; it must give one non-empty line (it goes into a header)."""
    label = f"newsletter.toml [issue] {key}"
    value = render_string(ws.settings.issue[key], context, label=label).strip()
    if "\r" in value or "\n" in value:
        raise InvalidInput(f"{label} renders to text with a line break; headers must be one line")
    return " ".join(value.split())


def _frozen_message(issue: Issue) -> str:
    return (
        f"issue {issue.id} (#{issue.number}) is frozen: it started sending at {issue.frozen_at} "
        "and can no longer be rebuilt; build a later week instead"
    )


def _existing(ws: Workspace, issue_id: str) -> Issue | None:
    row = issues_db(ws).execute("SELECT 1 FROM issues WHERE id = ?", [issue_id]).fetchone()
    return get_issue(ws, issue_id) if row else None


def _related(ws: Workspace, links: list[RelatedLink], utm: dict) -> list[RelatedItem]:
    """The item's related links as issue entries (chosen for the whole issue by ``issue_related``)."""
    base = ws.settings.site.url.rstrip("/") + "/"
    related: list[RelatedItem] = []
    for link in links:
        other = get_article(ws, link.article_id)
        if not other.has_url:
            continue  # a page still without a public URL is not linked
        url = with_utm(absolute_url(other.url, base), utm)
        related.append(RelatedItem(article_id=other.id, title=other.title, url=url))
    return related


def _item(ws: Workspace, position: int, article: Article, links: list[RelatedLink], utm: dict) -> IssueItem:
    base = ws.settings.site.url.rstrip("/") + "/"
    url = absolute_url(article.url, base)
    image = absolute_url(article.image or "", url)
    return IssueItem(
        position=position,
        article_id=article.id,
        title=article.title,
        url=with_utm(url, utm),
        image=image,
        image_alt=((article.image_alt or "").strip() or article.title) if image else "",
        excerpt=excerpt_for(article.summary, article.body_text, ws.settings.issue.excerpt_words),
        author=article.author or "",
        published_at=article.published_at.isoformat(),
        tags=list(article.tags),
        related=_related(ws, links, utm),
    )


def _utm(ws: Workspace, context: dict[str, Any]) -> dict[str, str]:
    return utm_params(ws, context["issue"])


def build_issue(ws: Workspace, week: str | None = None) -> Issue:
    """Gather ``week``'s articles (default: the last complete week) into a numbered draft issue."""
    tz = ws.settings.site.timezone
    week = normalise_week(week) if week is not None else last_complete_week(tz)
    issue_id = week
    existing = _existing(ws, issue_id)
    if existing is not None and existing.frozen:
        raise IssueFrozen(_frozen_message(existing))

    articles = articles_in_week(ws, week)
    if not articles:
        first = date.fromisocalendar(*parse_week(week), 1)
        raise EmptyWeek(
            f"no articles were published in {week} ({first:%a %d %b} to {first + timedelta(days=6):%a %d %b %Y}"
            f" in {tz}); nothing was built. Import some with 'newsletter articles import'"
        )
    max_items = ws.settings.issue.max_items
    if max_items and len(articles) > max_items:
        log.warning("%s has %d articles; the issue takes the first %d ([issue] max_items)",
                    week, len(articles), max_items)
        articles = articles[:max_items]
    refuse_without_urls(articles, f"build {week}")

    db = issues_db(ws)
    now = now_iso()
    number = existing.number if existing else _next_number(ws)
    draft = Issue(id=issue_id, number=number, week=week, status="draft", subject="", preheader="",
                  created_at=existing.created_at if existing else now, built_at=now)
    context = {"site": site_context(ws), "issue": draft}
    utm = _utm(ws, context)
    # never the article itself, another item of the issue, or an article another item links to
    links = issue_related(ws, [a.id for a in articles])
    items = [_item(ws, i, a, links[a.id], utm) for i, a in enumerate(articles, 1)]
    context["issue"] = draft = replace(draft, items=items)
    subject = _one_line(ws, "subject", context)
    preheader = _one_line(ws, "preheader", context)
    if not subject:
        raise InvalidInput("newsletter.toml [issue] subject renders empty; give the issue a subject")

    with write_transaction(db):
        row = db.conn.execute("SELECT status, number FROM issues WHERE id = ?", [issue_id]).fetchone()
        if row is not None and row[0] != "draft":
            raise IssueFrozen(_frozen_message(get_issue(ws, issue_id)))
        # Another build ran between our reads and the lock: the number in the subject may be stale.
        stale = (row[1] if row is not None else _next_number(ws)) != number
        if not stale:
            _store(db.conn, draft, subject, preheader, insert=row is None)
    return build_issue(ws, week) if stale else get_issue(ws, issue_id)


def _store(conn: sqlite3.Connection, issue: Issue, subject: str, preheader: str, *, insert: bool) -> None:
    """Write the issue row and replace its items (inside the caller's transaction)."""
    if insert:
        conn.execute(
            "INSERT INTO issues (id, number, week, status, subject, preheader, created_at, built_at) "
            "VALUES (?, ?, ?, 'draft', ?, ?, ?, ?)",
            [issue.id, issue.number, issue.week, subject, preheader, issue.built_at, issue.built_at],
        )
    else:
        conn.execute(
            "UPDATE issues SET subject = ?, preheader = ?, built_at = ? WHERE id = ?",
            [subject, preheader, issue.built_at, issue.id],
        )
    conn.execute("DELETE FROM issue_items WHERE issue_id = ?", [issue.id])
    conn.executemany(
        "INSERT INTO issue_items (issue_id, position, article_id, title, url, image, image_alt, "
        "excerpt, author, published_at, tags, related) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_item_row(issue.id, item) for item in issue.items],
    )


def _next_number(ws: Workspace) -> int:
    row = issues_db(ws).execute("SELECT COALESCE(MAX(number), 0) + 1 FROM issues").fetchone()
    return int(row[0])


def _item_row(issue_id: str, item: IssueItem) -> list[Any]:
    related = [r.__dict__ for r in item.related]
    return [issue_id, item.position, item.article_id, item.title, item.url, item.image, item.image_alt,
            item.excerpt, item.author, item.published_at, json.dumps(item.tags), json.dumps(related)]
