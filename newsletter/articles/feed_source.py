"""RSS 2.0 and Atom feeds (feedparser): one draft per item, full content where the feed has it."""

from __future__ import annotations

import calendar
import html
import re
import xml.sax
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from lxml import etree

from ..errors import SourceError
from .model import Draft, SourceContext, normalise_tags
from .sanitise import html_to_text, sanitise_html

MEDIA_NS = "http://search.yahoo.com/mrss/"
RSS_ITEM = ("http://www.w3.org/2005/Atom", "http://purl.org/rss/1.0/")
ITEM_START = re.compile(rb"<(?:\w+:)?(?:item|entry)[\s>]")


def looks_like_feed(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith(b"<?xml") and (b"<rss" in head or b"<feed" in head or b"<rdf" in head) or \
        head.startswith((b"<rss", b"<feed"))


def _item_lines(data: bytes) -> list[int]:
    """The line number where each ``<item>``/``<entry>`` starts, for messages."""
    return [data[: m.start()].count(b"\n") + 1 for m in ITEM_START.finditer(data)]


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(entry, key)  # plain dict access: no feedparser key aliasing (and its warning)
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return None


def _raw_date(entry: Any) -> str | None:
    """The item's date as written, when it has one (feedparser leaves it unparsed if it cannot read it)."""
    for key in ("published", "updated", "created"):
        raw = str(dict.get(entry, key) or "").strip()  # plain dict access: no feedparser key aliasing
        if raw:
            return raw
    return None


def _media_descriptions(data: bytes) -> list[str | None]:
    """Each item's ``<media:description>`` (the image's alt text), in document order.

    feedparser files it under ``summary`` and moves the item's own description into
    ``content``, so it is read from the XML directly.
    """
    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True, recover=True))
    found: list[str | None] = []
    for item in root.iter(f"{{{RSS_ITEM[0]}}}entry", "item", f"{{{RSS_ITEM[1]}}}item"):
        text = item.findtext(f".//{{{MEDIA_NS}}}description")
        found.append(text.strip() if text and text.strip() else None)
    return found


def _image(entry: Any, media_alt: str | None) -> tuple[str | None, str | None]:
    for media in (*entry.get("media_content", []), *entry.get("media_thumbnail", [])):
        if media.get("url") and (media.get("medium") in (None, "image") or "image" in media.get("type", "image")):
            return media["url"], media_alt
    for link in entry.get("links", []):
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            return link.get("href"), None
    return None, None


def _link(entry: Any, base: str | None) -> str | None:
    """The item's link (relative links resolved against the feed's site), else an http(s) id."""
    link = entry.get("link") or ""
    if not link and str(entry.get("id", "")).startswith(("http://", "https://")):
        link = entry["id"]
    return urljoin(base, link) if link and base else link or None


def read_feed(data: bytes, ctx: SourceContext) -> list[Draft]:
    """Parse a feed; a feed that is not well-formed XML is refused, naming the line."""
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    problem = parsed.get("bozo_exception")
    if isinstance(problem, xml.sax.SAXParseException):
        raise SourceError(f"{ctx.origin}:{problem.getLineNumber()}: the feed is not well-formed XML "
                          f"({problem.getMessage()}); fix that line, or ask the feed's publisher to")
    if not parsed.get("version"):
        raise SourceError(f"{ctx.origin}:1: not an RSS or Atom feed (no <rss> or <feed> element); "
                          "give the address of the site's RSS 2.0 or Atom feed")
    lines = _item_lines(data)
    media_alts = _media_descriptions(data)
    base = parsed.feed.get("link") or ctx.base_url
    drafts: list[Draft] = []
    for index, entry in enumerate(parsed.entries):
        line = lines[index] if index < len(lines) else 1
        origin = f"{ctx.origin}:{line}"
        content = entry.get("content") or []
        media_alt = media_alts[index] if index < len(media_alts) else None
        plain = [c.get("value", "") for c in content if c.get("type") == "text/plain"]
        body = next((c.get("value", "") for c in content if "html" in c.get("type", "html")), "")
        description = entry.get("summary", "") or ""
        if media_alt and description.strip() == media_alt:
            description = plain[0] if plain else ""
        elif not body and plain:
            body = "".join(f"<p>{html.escape(part)}</p>" for part in plain[0].split("\n\n"))
        summary = None
        if body and description and description.strip() != body.strip():
            summary = html_to_text(sanitise_html(description)) or None
        elif not body:
            body = description
        image, image_alt = _image(entry, media_alt)
        when = _when(entry)
        drafts.append(ctx.draft(
            "feed",
            entry.get("title", "") or "",
            body,
            origin=origin,
            url=_link(entry, base),
            published_at=when,
            unreadable_date=None if when else _raw_date(entry),
            summary=summary,
            tags=normalise_tags([t.get("term") or t.get("label") for t in entry.get("tags", [])]),
            image=image,
            image_alt=image_alt,
            author=entry.get("author") or None,
            name_hint="",
        ))
    if not drafts:
        raise SourceError(f"{ctx.origin}: the feed has no items")
    return drafts
