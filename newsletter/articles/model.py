"""The article record as stored, and the draft a source yields before it is stored."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only track a click; they never make two URLs different articles.
TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|_hsenc|_hsmi|ref|ref_src)$")

# Sources ranked by how close they are to what the author wrote: a lower-ranked source
# (a feed excerpt, a page saved as text) never overwrites an article from a higher one.
SOURCE_RANK = {"markdown": 3, "html": 2, "feed": 2, "text": 1}


@dataclass
class Article:
    """One stored article; ``published_at`` is an aware UTC datetime, ``tags`` a list.

    ``url`` is ``""`` while the article has no public URL (a saved page imported without
    one): it cannot go in an issue until it gets one.  ``source_words`` is the size of the
    page it was extracted from (``None`` for Markdown and feeds), to notice a body cut short.
    """

    id: int | None
    url: str
    slug: str
    title: str
    published_at: datetime
    summary: str | None
    body_html: str
    body_text: str
    tags: list[str]
    image: str | None
    image_alt: str | None
    author: str | None
    source: str
    content_hash: str
    imported_at: str
    updated_at: str
    source_words: int | None = None

    @property
    def has_url(self) -> bool:
        return bool(self.url)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["published_at"] = self.published_at.isoformat()
        return data


@dataclass
class Draft:
    """An article as one source read it, before its URL, slug and date are settled.

    ``origin`` names the file and line (or feed item) for messages; ``kind`` is one of
    the keys of :data:`SOURCE_RANK`.
    """

    title: str
    body_html: str
    kind: str
    origin: str
    source: str
    url: str | None = None
    slug: str | None = None
    published_at: datetime | None = None
    summary: str | None = None
    tags: list[str] = field(default_factory=list)
    image: str | None = None
    image_alt: str | None = None
    author: str | None = None
    name_hint: str = ""  # a file's name, for a slug when there is no URL
    fallback_date: datetime | None = None  # the file's mtime, or a fetched page's Last-Modified
    unreadable_date: str | None = None  # a date the source gives but that cannot be read
    notes: list[str] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # field name → line in the file, for messages
    source_words: int | None = None  # words of the whole page an extractor read the article from

    def where(self, field_name: str) -> str:
        """``origin:line`` of a field when the source knows its line, else the origin."""
        line = self.lines.get(field_name)
        return f"{self.origin}:{line}" if line and ":" not in self.origin.rsplit("/", 1)[-1] else self.origin


@dataclass
class SourceContext:
    """What a reader needs to know besides the bytes: where they came from, and the site."""

    origin: str
    timezone: str
    site_url: str
    site_name: str
    base_url: str | None = None  # the URL a fetched document came from
    fallback_date: datetime | None = None
    name_hint: str = ""
    source_id: str = ""  # what identifies the source across imports (a file's absolute path), else origin

    def draft(self, kind: str, title: str, body_html: str, **fields: Any) -> Draft:
        """A :class:`Draft` from this source, carrying its origin, name and fallback date."""
        fields.setdefault("origin", self.origin)
        fields.setdefault("name_hint", self.name_hint)
        fields.setdefault("fallback_date", self.fallback_date)
        return Draft(title=title, body_html=body_html, kind=kind, source=f"{kind}:{self.source_id or self.origin}",
                     **fields)


def slugify(text: str, max_length: int = 80) -> str:
    """A lowercase ASCII slug: ``"Why Calves Cramp (at Night)"`` → ``"why-calves-cramp-at-night"``.

    Other scripts are transliterated (``"Все диеты"`` → ``"vse-diety"``); text with nothing
    to transliterate gets a short hash of itself, so two such titles never share a slug.
    """
    from anyascii import anyascii  # imported here: reading articles (a send's checks) makes no slug

    ascii_text = anyascii(unicodedata.normalize("NFKC", text))
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    if slug:
        return slug
    return "article-" + hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:10] if text.strip() else "article"


def canonical_url(url: str, base: str | None = None) -> str:
    """Normalise a URL so one article has one key: absolute, lowercase host, no fragment,
    no tracking parameters, no default port, no trailing slash (except the site root)."""
    url = url.strip()
    if base:
        url = urljoin(base.rstrip("/") + "/", url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not TRACKING_PARAMS.match(k)])
    return urlunsplit((scheme, netloc, path, query, ""))


def slug_from_url(url: str) -> str:
    """The last path segment of a URL as a slug (``.../calf-cramps.html`` → ``calf-cramps``)."""
    path = urlsplit(url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    last = re.sub(r"\.(html?|php|aspx?)$", "", last)
    return slugify(last) if last else ""


def normalise_tags(raw: Any) -> list[str]:
    """Tags from a list or a comma-separated string: trimmed, lowercase, unique, in order."""
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    seen: list[str] = []
    for item in items:
        tag = re.sub(r"\s+", " ", str(item)).strip().strip("#").lower()
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def content_hash(fields: dict[str, Any]) -> str:
    """A stable hash of what a reader sees, to tell an unchanged re-import from an edit."""
    payload = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
