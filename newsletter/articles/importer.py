"""Import articles from files, folders and URLs: read, settle URL/slug/date, upsert, report.

Every source is read on its own, so one bad file does not stop the others; the
articles that were read are then stored in one transaction, and the related-links
index is told which ones changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from ..clock import utcnow
from ..db import write_transaction
from ..errors import InvalidInput, SourceError
from .feed_source import looks_like_feed, read_feed
from .fetch import fetch
from .html_source import looks_like_html, read_html
from .markdown_source import read_markdown
from .model import SOURCE_RANK, Draft, SourceContext, canonical_url, content_hash, slug_from_url, slugify
from .report import ImportReport, ReportEntry
from .sanitise import first_image, html_to_text, sanitise_html
from .store import articles_db, source_row, upsert
from .text_source import read_text_page
from .textfile import check_content, decode, parse_date, read_bytes

if TYPE_CHECKING:
    from ..workspace import Workspace

log = logging.getLogger(__name__)

PAGE_KINDS = ("html", "text")  # pages whose URL only the page (or the editor) can give
NO_URL_NOTE = ("no public URL: give it one with 'newsletter articles edit ARTICLE --url URL' (or import it "
               "again with --url) before it can go in an issue")
MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
KIND_BY_SUFFIX = {
    **dict.fromkeys(MARKDOWN_SUFFIXES, "markdown"),
    **dict.fromkeys((".xml", ".rss", ".atom", ".feed"), "feed"),
    **dict.fromkeys((".html", ".htm", ".xhtml"), "html"),
    **dict.fromkeys((".txt", ".text"), "text"),
}


def _read_markdown(data: bytes, ctx: SourceContext) -> list[Draft]:
    return read_markdown(decode(data, ctx.origin), ctx)


def _read_text(data: bytes, ctx: SourceContext) -> list[Draft]:
    return read_text_page(decode(data, ctx.origin), ctx)


READERS: dict[str, Callable[[bytes, SourceContext], list[Draft]]] = {
    "markdown": _read_markdown,
    "feed": read_feed,
    "html": read_html,
    "text": _read_text,
}


def sniff_kind(data: bytes, suffix: str = "", content_type: str = "") -> str:
    """The reader for a document: by its suffix, else its content type, else its first bytes."""
    if suffix in KIND_BY_SUFFIX:
        return KIND_BY_SUFFIX[suffix]
    if "rss" in content_type or "atom" in content_type or content_type.endswith("/xml"):
        return "feed"
    if content_type in ("text/html", "application/xhtml+xml"):
        return "html"
    if content_type == "text/markdown" or data.lstrip()[:4] == b"---\n":
        return "markdown"
    if looks_like_feed(data):
        return "feed"
    if looks_like_html(data):
        return "html"
    return "text"


def _is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def _expand(source: str) -> list[Path] | str:
    """A URL stays as it is; a folder becomes its Markdown files (recursively, hidden ones left out)."""
    if _is_url(source):
        return source
    scheme = urlsplit(source).scheme
    if len(scheme) > 1 and "://" in source:  # (one letter is a Windows drive)
        raise SourceError(f"{source}: {scheme}: addresses cannot be imported; give an http(s) address or a file")
    path = Path(source).expanduser()
    if path.is_dir():
        return sorted(
            p for p in path.rglob("*")
            if p.suffix.lower() in MARKDOWN_SUFFIXES and p.is_file()
            and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
        )
    return [path]


class _Import:
    """One run of :func:`import_sources`."""

    def __init__(self, ws: Workspace, default_date: datetime | None, allow_future: bool,
                 url: str | None = None) -> None:
        self.ws = ws
        self.url = url
        site = ws.settings.site
        self.site_url = site.url.rstrip("/")
        self.timezone = site.timezone
        self.site_name = site.name
        self.default_date = default_date
        self.allow_future = allow_future
        self.report = ImportReport()
        self.seen: dict[str, int] = {}  # origins in the order they were read, to order the report
        zone = ZoneInfo(self.timezone)
        tomorrow = utcnow().astimezone(zone).date() + timedelta(days=1)
        self.future_from = datetime.combine(tomorrow, time(), zone).astimezone(UTC)

    def context(self, origin: str, **extra: Any) -> SourceContext:
        return SourceContext(origin=origin, timezone=self.timezone, site_url=self.site_url,
                             site_name=self.site_name, **extra)

    def read_source(self, source: str) -> list[Draft]:
        expanded = _expand(source)
        if isinstance(expanded, str):
            fetched = fetch(expanded)
            check_content(fetched.data, expanded)
            ctx = self.context(expanded, base_url=fetched.url, fallback_date=fetched.last_modified,
                               name_hint=slug_from_url(fetched.url))
            kind = sniff_kind(fetched.data, Path(urlsplit(fetched.url).path).suffix.lower(), fetched.content_type)
            return READERS[kind](fetched.data, ctx)
        if not expanded:
            raise SourceError(f"{source}: no Markdown files (*.md) in this folder; put the articles there, "
                              "or name the files, feeds or pages to import")
        drafts: list[Draft] = []
        for path in expanded:
            drafts.extend(self.guarded(str(path), lambda p=path: self.read_file(p)))
        return drafts

    def read_file(self, path: Path) -> list[Draft]:
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        data = read_bytes(path)
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)
        ctx = self.context(str(path), fallback_date=mtime, name_hint=path.stem, source_id=str(path.resolve()))
        return READERS[sniff_kind(data, path.suffix.lower())](data, ctx)

    def guarded(self, origin: str, read: Callable[[], list[Draft]]) -> list[Draft]:
        """Run a reader; its failure becomes a report entry instead of stopping the import."""
        try:
            drafts = read()
        except SourceError as exc:
            self.seen.setdefault(origin, len(self.seen))
            self.report.add(ReportEntry("failed", origin, str(exc)))
        except Exception as exc:  # a parser library choking on odd input must not stop the others
            log.debug("reading %s failed", origin, exc_info=True)
            self.seen.setdefault(origin, len(self.seen))
            self.report.add(ReportEntry("failed", origin, f"{origin}: cannot be read ({type(exc).__name__}: {exc})"))
        else:
            for draft in drafts:
                self.seen.setdefault(draft.origin, len(self.seen))
            return drafts
        return []

    def settle(self, draft: Draft) -> tuple[dict[str, Any], list[str]]:
        """The stored fields of a draft: canonical URL, slug, date, safe body, hash."""
        notes = list(draft.notes)
        title = " ".join(draft.title.split())
        if not title:
            raise SourceError(f"{draft.origin}: the article has no title; add one")
        url: str | None
        if draft.url:
            if urlsplit(urljoin(self.site_url + "/", draft.url.strip())).scheme not in ("http", "https"):
                raise SourceError(f"{draft.where('url')}: url {draft.url!r} is not an http(s) address")
            url = canonical_url(draft.url, base=self.site_url)
            slug = slugify(draft.slug) if draft.slug else slug_from_url(url) or slugify(title)
        elif draft.kind in PAGE_KINDS:  # never invent a link a reader will click
            slug, url = slugify(draft.slug or title), None
            notes.append(NO_URL_NOTE)
        else:  # a Markdown file's name is its slug on the blog
            slug = slugify(draft.slug or draft.name_hint or title)
            url = canonical_url(f"{self.site_url}/{slug}")
        published = draft.published_at or self.fallback_date(draft, url, notes)
        base = url or self.site_url + "/"
        if published >= self.future_from:
            if not self.allow_future:
                raise SourceError(
                    f"{draft.where('date')}: dated {self._local_day(published)}, which is in the future; fix the date, "
                    "or pass --allow-future to import a scheduled post"
                )
            notes.append(f"dated in the future ({self._local_day(published)})")
        body_html = sanitise_html(draft.body_html, base_url=base, title=title)
        image, image_alt = draft.image, draft.image_alt
        if not image:
            image, found_alt = first_image(body_html)
            image_alt = image_alt or found_alt
        if image:
            image = urljoin(base, image.strip())
            if urlsplit(image).scheme not in ("http", "https"):
                notes.append(f"image {image!r} is not an http(s) address; left out")
                image, image_alt = None, None
        fields: dict[str, Any] = {
            "url": url,
            "title": title,
            "published_at": published.astimezone(UTC).isoformat(timespec="seconds"),
            "summary": " ".join(draft.summary.split()) if draft.summary and draft.summary.strip() else None,
            "body_html": body_html,
            "tags": draft.tags,
            "image": image,
            "image_alt": image_alt,
            "author": draft.author,
        }
        fields["content_hash"] = content_hash(fields)
        fields.update(slug=slug, body_text=html_to_text(body_html), source=draft.source,
                      source_words=draft.source_words)
        if not fields["body_text"]:
            notes.append("no body text")
        return fields, notes

    def fallback_date(self, draft: Draft, url: str | None, notes: list[str]) -> datetime:
        """The date of an article whose source has none: ``--date``, else the date already stored
        (so re-importing a touched file changes nothing), else the file's mtime, else now."""
        if self.default_date is not None:
            said = f"its date {draft.unreadable_date!r} cannot be read" if draft.unreadable_date else "no date in the source"
            notes.append(f"{said}; used --date {self._local_day(self.default_date)}")
            return self.default_date
        if draft.unreadable_date:
            raise SourceError(f"{draft.origin}: the date {draft.unreadable_date!r} cannot be read; fix it at the "
                              "source, or pass --date YYYY-MM-DD to date it yourself")
        db = articles_db(self.ws)
        row = db.execute("SELECT published_at FROM articles WHERE url = ?", [url]).fetchone() if url else None
        stored = source_row(db, draft.source) if row is None else None
        if stored is not None:
            row = db.execute("SELECT published_at FROM articles WHERE id = ?", [stored[0]]).fetchone()
        if row is not None:
            notes.append("no date in the source; kept the stored date")
            return datetime.fromisoformat(row[0])
        if draft.fallback_date is not None:
            notes.append(f"no date in the source; used the file's modification time {draft.fallback_date.isoformat()}")
            return draft.fallback_date
        now = utcnow().replace(microsecond=0)
        notes.append(f"no date in the source; used the import time {now.isoformat()}")
        return now

    def _local_day(self, moment: datetime) -> str:
        return moment.astimezone(ZoneInfo(self.timezone)).date().isoformat()

    def run(self, sources: Sequence[str]) -> ImportReport:
        settled: list[tuple[Draft, dict[str, Any], list[str]]] = []
        for source in sources:
            drafts = self.guarded(source, lambda s=source: self.read_source(s))
            if self.url is not None and len(drafts) > 1:
                self.report.add(ReportEntry("failed", source, f"{source}: holds {len(drafts)} articles; --url is for "
                                            "one page, so nothing of it was imported"))
                drafts = []
            for draft in drafts:
                if self.url is not None:
                    draft.url = self.url
                try:
                    fields, notes = self.settle(draft)
                except SourceError as exc:
                    self.report.add(ReportEntry("failed", draft.origin, str(exc), title=draft.title or None))
                    continue
                settled.append((draft, fields, notes))
        winners = self.drop_duplicates(settled)
        if winners:
            db = articles_db(self.ws)
            with write_transaction(db):
                for draft, fields, notes in winners:
                    status, article_id, message = upsert(db, fields, url_from_source=bool(draft.url),
                                                         site_url=self.site_url)
                    if status == "failed":
                        message, notes = f"{draft.where('url')}: {message}", []
                    self.report.add(ReportEntry(status, draft.origin, message, fields["title"], fields["url"],
                                                article_id, notes))
        changed = self.report.changed_ids
        if changed:
            from ..related import on_articles_changed

            on_articles_changed(self.ws, changed)
        self.report.entries.sort(key=lambda entry: self.seen.get(entry.origin, len(self.seen)))
        return self.report

    def drop_duplicates(self, settled: list[tuple[Draft, dict[str, Any], list[str]]]) -> list[Any]:
        """Keep one article per URL: the best-ranked source, then the first named."""
        best: dict[str, tuple[Draft, dict[str, Any], list[str]]] = {}
        for item in settled:
            url = item[1]["url"] or item[1]["source"]
            held = best.get(url)
            if held is None or SOURCE_RANK[item[0].kind] > SOURCE_RANK[held[0].kind]:
                best[url] = item
        winners = []
        for item in settled:
            draft, fields, _ = item
            kept = best[fields["url"] or fields["source"]]
            if kept is item:
                winners.append(item)
            elif self.conflicting(item, kept):
                self.report.add(ReportEntry(
                    "failed", draft.origin,
                    f"{draft.where('url')}: has the same URL {fields['url']} as {kept[0].origin}, which was "
                    "imported instead; nothing of it was stored: give one of them its own 'url:' / --url "
                    "(or remove the copy)",
                    fields["title"], fields["url"]))
            else:
                self.report.add(ReportEntry("skipped", draft.origin,
                                            f"duplicate URL {fields['url']}; kept the one from {kept[0].origin}",
                                            fields["title"], fields["url"]))
        return winners

    @staticmethod
    def conflicting(item: tuple[Draft, dict[str, Any], list[str]], kept: tuple[Draft, dict[str, Any], list[str]]) -> bool:
        """Two different articles claiming one URL: an editor's mistake, not a feed repeating a file.

        A feed carrying what a Markdown file also holds, or the same file named twice, is just
        a duplicate; two files of one kind with different content would lose one article.
        """
        if item[0].source != kept[0].source and not (item[0].url and kept[0].url):
            return True  # a URL made from a name or title: two sources, two articles
        return (item[0].kind == kept[0].kind != "feed"
                and item[0].origin != kept[0].origin
                and item[1]["content_hash"] != kept[1]["content_hash"])


def import_sources(
    ws: Workspace,
    sources: Iterable[str | Path],
    *,
    default_date: date | datetime | None = None,
    allow_future: bool = False,
    url: str | None = None,
) -> ImportReport:
    """Import articles from Markdown files or folders, feeds, HTML pages and text pages (paths or
    http(s) URLs).  ``default_date`` dates articles whose source has none (else the file's
    modification time).  Articles dated after today are refused unless ``allow_future``.
    ``url`` is the public URL of the one page being imported (a page that does not state its own)."""
    when = parse_date(default_date, ws.settings.site.timezone) if default_date is not None else None
    names = [str(s) for s in sources]
    if url is not None:
        if len(names) != 1:
            raise InvalidInput(f"--url gives one page its address; name exactly one SOURCE (got {len(names)})")
        if urlsplit(url.strip()).scheme not in ("http", "https") or not urlsplit(url.strip()).netloc:
            raise InvalidInput(f"--url {url!r} is not an http(s) address; give the page's public address")
    return _Import(ws, when, allow_future, url.strip() if url else None).run(names)
