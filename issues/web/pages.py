"""The public archive: sent issues at ``/issues/``, each issue's web copy, an Atom feed, and ``/media/``.

Only issues whose send has finished are shown.  The page and the feed show the
issue's articles as plain accessible HTML made from the stored items
(``pages/_issue_content.html.j2``); the email itself, from the frozen copy every
reader got with the personal placeholders filled with neutral values, is one click
away: no address, no name and no working unsubscribe token ever appear in the archive.
``/media/`` serves the workspace's media folder (``[paths] media``), for images
an issue shows.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, Response, abort, g, send_from_directory

from issues.build import Issue, get_issue, list_issues, stored_render
from newsletter.errors import NotFound as IssueNotFound
from newsletter.personalise import personalise
from newsletter.render import render_text
from newsletter.web import EMAIL_CSP, PAGE_CSP, current_workspace, render_page
from newsletter.workspace import Workspace

bp = Blueprint("archive", __name__)

ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 30
HOME_ISSUES = 5
CONTENT_TEMPLATE = "pages/_issue_content.html.j2"
# The archive page shows the articles' own images, which live on the blog or any host.
ISSUE_PAGE_CSP = PAGE_CSP.replace("img-src 'self' data:", "img-src 'self' data: https: http:")
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


@dataclass(frozen=True)
class ArchivedIssue:
    """A sent issue as the public sees it: metadata plus the neutral HTML and text."""

    issue: Issue
    html: str
    text: str


def neutral_fields(ws: Workspace) -> dict[str, str]:
    """Placeholder values for the public copy: no reader, and an unsubscribe link that explains itself."""
    return {"unsubscribe_url": f"{str(ws.settings.site.public_url).rstrip('/')}/unsubscribe/",
            "email": "you", "name": ""}


def sent_issues(ws: Workspace) -> list[Issue]:
    """Issues whose send has finished, newest first."""
    return [issue for issue in list_issues(ws) if issue.status == "sent"]


def archived_issue(ws: Workspace, issue_id: str) -> ArchivedIssue:
    """One sent issue's frozen copy with neutral placeholders; IssueNotFound for drafts and unknown ids."""
    issue = get_issue(ws, issue_id)
    stored = stored_render(ws, issue.id) if issue.status == "sent" else None
    if stored is None:
        raise IssueNotFound(f"issue {issue_id} has not been sent")
    html, text = personalise(stored.html, stored.text, neutral_fields(ws))
    return ArchivedIssue(issue, html.decode("utf-8"), text.decode("utf-8"))


def _archived_or_404(issue_id: str) -> ArchivedIssue:
    ws = current_workspace()
    try:
        return archived_issue(ws, issue_id)
    except IssueNotFound:
        abort(404)


def with_base_target(html: str, target: str) -> str:
    """``html`` with ``<base target=...>`` first in its head, so links leave the frame."""
    return _HEAD.sub(lambda m: m.group(0) + f'<base target="{target}">', html, count=1)


@bp.get("/")
def home() -> Response:
    """The front page: the sign-up form and the latest issues."""
    ws = current_workspace()
    return render_page("home.html.j2", recent=sent_issues(ws)[:HOME_ISSUES], values={}, error=None,
                       next=None, consent=ws.settings.subscribers.consent_text)


@bp.get("/issues/")
def issue_list() -> Response:
    return render_page("archive_list.html.j2", issues=sent_issues(current_workspace()))


@bp.get("/issues/<issue_id>")
def issue_page(issue_id: str) -> Response:
    """The web copy of one issue: its articles as the page's own HTML, with links to the email and the text."""
    archived = _archived_or_404(issue_id)
    issues = sent_issues(current_workspace())
    ids = [i.id for i in issues]
    at = ids.index(archived.issue.id)
    newer = issues[at - 1] if at > 0 else None
    older = issues[at + 1] if at + 1 < len(issues) else None
    g.csp = ISSUE_PAGE_CSP
    return render_page("archive_issue.html.j2", issue=archived.issue, newer=newer, older=older)


@bp.get("/issues/<issue_id>/email")
def issue_email(issue_id: str) -> Response:
    """The email itself, for the frame: its own styles allowed, no script, links open the whole page."""
    archived = _archived_or_404(issue_id)
    g.csp = EMAIL_CSP
    return Response(with_base_target(archived.html, "_top"), mimetype="text/html")


@bp.get("/issues/<issue_id>.txt")
def issue_text(issue_id: str) -> Response:
    return Response(_archived_or_404(issue_id).text, mimetype="text/plain")


@bp.get("/media/<path:filename>")
def media(filename: str) -> Response:
    """A file from the workspace's media folder (images an issue shows); 404 for anything outside it."""
    ws = current_workspace()
    return send_from_directory(ws.path(ws.settings.paths.media), filename, max_age=86400)


def issue_content_html(ws: Workspace, issue: Issue) -> str:
    """The issue's articles as clean HTML (absolute links): what the archive page and the feed show."""
    return render_text(ws, CONTENT_TEMPLATE, {"issue": issue})


def _atom_time(value: str | None) -> str:
    moment = datetime.fromisoformat(value) if value else datetime.fromtimestamp(0).astimezone()
    return moment.isoformat(timespec="seconds")


def atom_feed(ws: Workspace) -> bytes:
    """An Atom 1.0 document of the latest sent issues, each with its articles as clean HTML content."""
    site = ws.settings.site
    base = str(site.public_url).rstrip("/")
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    feed = ET.Element(f"{{{ATOM}}}feed")
    issues = sent_issues(ws)[:FEED_ENTRIES]
    sub(feed, "id", f"{base}/issues/")
    sub(feed, "title", str(site.name))
    sub(feed, "subtitle", str(site.description))
    sub(feed, "updated", _atom_time(issues[0].sent_at if issues else None))
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/issues/feed.xml")
    sub(feed, "link", rel="alternate", type="text/html", href=f"{base}/issues/")
    author = sub(feed, "author")
    sub(author, "name", str(site.name))
    sub(author, "uri", str(site.url))
    for issue in issues:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{base}/issues/{issue.id}")
        sub(entry, "title", issue.subject)
        sub(entry, "published", _atom_time(issue.sent_at))
        sub(entry, "updated", _atom_time(issue.sent_at))
        sub(entry, "link", rel="alternate", type="text/html", href=f"{base}/issues/{issue.id}")
        sub(entry, "summary", issue.preheader)
        sub(entry, "content", issue_content_html(ws, issue), type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


@bp.get("/issues/feed.xml")
def feed() -> Response:
    return Response(atom_feed(current_workspace()), mimetype="application/atom+xml")
