"""Suspicious content in an issue's articles, and the one thing that stops an issue: an article
without a public URL.

An imported page can go wrong quietly: a tracking word taken for the headline, a menu
label or the site's name as the title, a body that kept a sliver of its page, a link to
a placeholder domain.  The preview and the send say so; build, preview and send refuse
an article that has no public URL, since every reader would get a dead "Read more".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

from newsletter.articles import Article, get_articles
from newsletter.errors import InvalidInput
from newsletter.workspace import Workspace

from .archive import Issue

SHORT_WORD = 12  # a one-word title at most this long reads like a stray token ("fbpx", "Home")
SHORT_BODY_SHARE, SHORT_BODY_WORDS = 0.1, 150  # a body this small next to its page was probably cut
PLACEHOLDER_HOSTS = ("example.com", "example.org", "example.net", "localhost", "invalid", "test")
LOOPBACK = ("127.0.0.1", "::1", "0.0.0.0")


@dataclass(frozen=True)
class ContentWarning:
    kind: str
    message: str


def missing_urls(articles: Iterable[Article]) -> list[Article]:
    return [a for a in articles if not a.has_url]


def refuse_without_urls(articles: Iterable[Article], doing: str) -> None:
    """Raise when any article has no public URL, saying how to give it one."""
    missing = missing_urls(articles)
    if not missing:
        return
    names = "; ".join(f"{a.id} \"{a.title}\" ({a.source.split(':', 1)[-1]})" for a in missing)
    first = missing[0].id
    raise InvalidInput(
        f"cannot {doing}: {len(missing)} article{'s have' if len(missing) > 1 else ' has'} no public URL, so "
        f"readers would get a dead link: {names}. Give each one with 'newsletter articles edit {first} --url URL' "
        "(or import the page again with --url)")


def issue_articles(ws: Workspace, issue: Issue) -> list[Article]:
    return get_articles(ws, [item.article_id for item in issue.items])


def _title_warnings(article: Article, site_name: str) -> list[ContentWarning]:
    title = article.title.strip()
    found = []
    where = f"article {article.id} ({article.source.split(':', 1)[-1]})"
    if len(title.split()) == 1 and len(title) <= SHORT_WORD:
        found.append(ContentWarning("title", f"{where} is titled \"{title}\", one short word; is that its headline?"))
    elif sum(c.isalpha() for c in title) > 1 and title.isupper():
        found.append(ContentWarning("title", f"{where} is titled \"{title}\", all capitals; is that its headline?"))
    if site_name and title.casefold() == site_name.strip().casefold():
        found.append(ContentWarning("title", f"{where} is titled with the site's name \"{title}\"; "
                                             "give it the article's headline"))
    return found


def article_warnings(ws: Workspace, articles: Iterable[Article]) -> list[ContentWarning]:
    """Titles that look like page chrome, articles without a URL, bodies cut short."""
    found: list[ContentWarning] = []
    for article in articles:
        found.extend(_title_warnings(article, ws.settings.site.name))
        if not article.has_url:
            found.append(ContentWarning("url", f"article {article.id} \"{article.title}\" has no public URL; set it "
                                               f"with 'newsletter articles edit {article.id} --url URL'"))
        words = len(article.body_text.split())
        if article.source_words and words < SHORT_BODY_WORDS and words < SHORT_BODY_SHARE * article.source_words:
            found.append(ContentWarning("short_body", f"article {article.id} \"{article.title}\" kept {words} words of "
                                                      f"a {article.source_words}-word page; check what was cut "
                                                      f"('newsletter articles show {article.id}')"))
    return found


def _placeholder(host: str, own: set[str]) -> bool:
    host = host.lower().rstrip(".")
    if not host or host in own:
        return False
    return host in LOOPBACK or any(host == p or host.endswith("." + p) for p in PLACEHOLDER_HOSTS)


class _Anchors(HTMLParser):
    """Every ``<a>`` of a page: its ``href`` (entities decoded, the first one if repeated) and its text.

    The standard library's tokenizer is enough here: only anchors and their text are read,
    so a full tree builder (and its import, a tenth of a second) is not needed.  As in
    HTML, an ``<a>`` inside an open one ends it; comments (Outlook's conditional blocks)
    are not text.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[str]]] = []  # (href, the anchor's text pieces)
        self._text: list[str] | None = None  # the open anchor's pieces

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = next((value for name, value in attrs if name == "href"), None) or ""
            self._text = []
            self.found.append((href, self._text))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def anchors(html: str) -> list[tuple[str, str]]:
    """(href, text) of each link in ``html``, the text's pieces stripped and joined by a space."""
    parser = _Anchors()
    parser.feed(html)
    parser.close()
    return [(href, " ".join(p for p in (piece.strip() for piece in text) if p)) for href, text in parser.found]


def placeholder_links(ws: Workspace, html: str) -> list[ContentWarning]:
    """Links to example domains or this machine, other than the site's own configured addresses."""
    own = {(urlsplit(str(u)).hostname or "").lower() for u in (ws.settings.site.url, ws.settings.site.public_url)}
    found, seen = [], set()
    for raw, text in anchors(html):
        href = raw.strip()
        host = urlsplit(href).hostname or ""
        if href in seen or not _placeholder(host, own):
            continue
        seen.add(href)
        label = text[:60] or "(a link)"
        found.append(ContentWarning("link", f"the link '{label}' goes to {href}, a placeholder or local address "
                                            "no reader can open"))
    return found


def issue_warnings(ws: Workspace, issue: Issue, html: str) -> list[ContentWarning]:
    """Everything suspicious about an issue's content, given its rendered HTML."""
    return article_warnings(ws, issue_articles(ws, issue)) + placeholder_links(ws, html)


def check_before_send(ws: Workspace, issue: Issue) -> list[ContentWarning]:
    """Refuse an issue with an article without a URL; else the warnings to show before it goes out."""
    from .render import render_issue

    refuse_without_urls(issue_articles(ws, issue), f"send {issue.id}")
    return issue_warnings(ws, issue, render_issue(ws, issue.id).html)
