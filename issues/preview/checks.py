"""What the editor's preview measures and warns about before a send.

The HTML size against Gmail's clipping limit, images without alt text, links into
the blog or the archive that lead nowhere, a missing unsubscribe link, and suspicious
article content (see :mod:`.content_checks`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bs4 import BeautifulSoup

from issues.build import SAMPLE_READER, Issue, RenderedIssue, get_issue, issue_warnings
from newsletter.errors import NotFound
from newsletter.personalise import UNSUBSCRIBE_URL, personalise
from newsletter.web import origin_of
from newsletter.workspace import Workspace

log = logging.getLogger(__name__)

GMAIL_CLIP_BYTES = 102 * 1024  # Gmail cuts messages whose HTML is larger than about 102 KB
NEAR_CLIP_SHARE = 0.9
SKIPPED_SCHEMES = ("mailto:", "tel:", "sms:")


@dataclass(frozen=True)
class PreviewWarning:
    """One thing to fix before sending: what kind, and a sentence saying what and where."""

    kind: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class PreviewReport:
    """An issue as a sample reader gets it, with its measures and warnings."""

    issue: Issue
    subject: str
    preheader: str
    html: str
    text: str
    html_bytes: int
    warnings: list[PreviewWarning] = field(default_factory=list)

    @property
    def clip_share(self) -> float:
        return self.html_bytes / GMAIL_CLIP_BYTES

    def as_dict(self) -> dict[str, Any]:
        return {
            "issue": self.issue.id, "status": self.issue.status, "subject": self.subject,
            "preheader": self.preheader, "html_bytes": self.html_bytes, "clip_limit_bytes": GMAIL_CLIP_BYTES,
            "warnings": [w.as_dict() for w in self.warnings],
        }


def sample_fields(ws: Workspace) -> dict[str, str]:
    """The sample reader ``issue render`` uses (so both greet alike), with an unsubscribe link as long
    as a real one, so the size is honest."""
    return {
        **SAMPLE_READER,
        "unsubscribe_url": f"{str(ws.settings.site.public_url).rstrip('/')}/unsubscribe/"
        "MQ.aSvS9w.preview-sample-token-not-valid-xxxxxxxxxxx",
    }


def _images_without_alt(soup: BeautifulSoup) -> list[PreviewWarning]:
    found = []
    for img in soup.find_all("img"):
        if img.get("width") in ("0", "1") and img.get("height") in ("0", "1"):
            continue  # a tracking pixel or spacer says nothing
        if img.get("role") == "presentation" or img.get("aria-hidden") == "true":
            continue
        if not (img.get("alt") or "").strip():
            src = str(img.get("src") or "(no src)")
            found.append(PreviewWarning("image_alt", f"image {src} has no alt text; add image_alt to the article"))
    return found


def _article_exists(ws: Workspace, url: str) -> bool:
    from newsletter.articles import get_article

    parts = urlsplit(url)
    canonical = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    for key in (canonical, canonical.rstrip("/"), canonical.rstrip("/") + "/"):
        try:
            get_article(ws, key)
            return True
        except NotFound:
            continue
    return False


def _archive_path_exists(ws: Workspace, path: str, issue: Issue) -> bool:
    """Whether a path on ``newsletter serve`` would answer (pages, tokens and sent issues)."""
    if path in ("", "/", "/subscribe", "/issues", "/issues/", "/issues/feed.xml", "/unsubscribe/"):
        return True
    if path.startswith(("/unsubscribe/", "/confirm/", "/static/")):
        return True
    if path.startswith("/issues/"):
        key = path[len("/issues/"):].split("/")[0].removesuffix(".txt")
        try:
            linked = get_issue(ws, key)
        except NotFound:
            return False
        return linked.id == issue.id or linked.status == "sent"
    return False


def _broken_links(ws: Workspace, soup: BeautifulSoup, issue: Issue) -> list[PreviewWarning]:
    blog, public = origin_of(ws.settings.site.url), origin_of(ws.settings.site.public_url)
    found: list[PreviewWarning] = []
    checked: set[str] = set()
    for anchor in soup.find_all("a"):
        href = str(anchor.get("href") or "").strip()
        label = anchor.get_text(" ", strip=True)[:60] or "(a link)"
        if not href or href == "#":
            found.append(PreviewWarning("link", f"the link '{label}' has no address"))
            continue
        if href in checked or href.startswith(SKIPPED_SCHEMES) or "[[nl:" in href:
            continue
        checked.add(href)
        origin = origin_of(href)
        if not origin:
            found.append(PreviewWarning("link", f"the link '{label}' goes to {href!r}, which is not a web address"))
        elif origin == public and public != blog:
            if not _archive_path_exists(ws, urlsplit(href).path, issue):
                found.append(PreviewWarning("link", f"the link '{label}' goes to {href}, which the archive does not have"))
        elif origin == blog and urlsplit(href).path not in ("", "/") and not _article_exists(ws, href):
            found.append(PreviewWarning("link", f"the link '{label}' goes to {href}, which is not an imported article"))
    return found


def check_issue(ws: Workspace, issue: Issue, rendered: RenderedIssue) -> PreviewReport:
    """Fill a sample reader into ``rendered`` and list what is wrong with it."""
    html, text = personalise(rendered.html, rendered.text, sample_fields(ws))
    soup = BeautifulSoup(rendered.html, "lxml")
    warnings = _images_without_alt(soup) + _broken_links(ws, soup, issue)
    warnings += [PreviewWarning(w.kind, w.message) for w in issue_warnings(ws, issue, rendered.html)]
    if UNSUBSCRIBE_URL not in rendered.html:
        warnings.append(PreviewWarning("unsubscribe", "the HTML has no unsubscribe link; put "
                                "{{ reader.unsubscribe_url }} in issue.mjml.j2"))
    if UNSUBSCRIBE_URL not in rendered.text:
        warnings.append(PreviewWarning("unsubscribe", "the text version has no unsubscribe link; put "
                                "{{ reader.unsubscribe_url }} in issue.txt.j2"))
    if not rendered.preheader.strip():
        warnings.append(PreviewWarning("preheader", "the issue has no preheader; inboxes will show stray text instead"))
    size = len(html)
    if size > GMAIL_CLIP_BYTES:
        warnings.append(PreviewWarning("size", f"the HTML is {size / 1024:.1f} KB; Gmail clips messages over "
                                f"{GMAIL_CLIP_BYTES // 1024} KB and hides the rest, unsubscribe link included"))
    elif size > NEAR_CLIP_SHARE * GMAIL_CLIP_BYTES:
        warnings.append(PreviewWarning("size", f"the HTML is {size / 1024:.1f} KB, close to Gmail's "
                                f"{GMAIL_CLIP_BYTES // 1024} KB clipping limit"))
    return PreviewReport(issue, rendered.subject, rendered.preheader, html.decode("utf-8"),
                         text.decode("utf-8"), size, warnings)
