"""An HTML page: the article's main text, title, date and image, without the page around it.

trafilatura finds the main text (it drops navigation, ads, sign-up boxes, share bars,
related lists and footers); the page's own metadata (``<link rel=canonical>``,
``og:*``, ``article:*``, ``<time>``) gives the URL, the exact time and the image.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bs4 import BeautifulSoup

from ..errors import SourceError
from .model import Draft, SourceContext, normalise_tags
from .sanitise import first_image
from .text_source import dropped_note
from .textfile import parse_date

log = logging.getLogger(__name__)

MIN_WORDS = 20  # less than this is a menu or a stub page, not an article


def looks_like_html(data: bytes) -> bool:
    head = data[:4096].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in head or b"<head" in head


def _meta(soup: BeautifulSoup, *names: str) -> str | None:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag is not None and str(tag.get("content") or "").strip():
            return str(tag["content"]).strip()
    return None


def _published(soup: BeautifulSoup, fallback: str | None, tz: str) -> tuple[datetime | None, str | None]:
    """``(time, None)`` from ``article:published_time`` or ``<time datetime>``, else trafilatura's day;
    ``(None, text)`` when the page states a date that cannot be read (trafilatura's guess would be wrong)."""
    stated = [_meta(soup, "article:published_time", "og:published_time", "date", "dc.date", "pubdate")]
    time_tag = soup.find("time", attrs={"datetime": True})
    if time_tag is not None:
        stated.append(str(time_tag["datetime"]))
    stated = [value.strip() for value in stated if value and value.strip()]
    for value in stated:
        moment = parse_date(value, tz)
        if moment is not None:
            return moment, None
    if stated:
        return None, stated[0]
    return (parse_date(fallback, tz) if fallback else None), None


def _canonical(soup: BeautifulSoup, base_url: str | None) -> str | None:
    link = soup.find("link", rel="canonical", href=True)
    if link is not None and str(link["href"]).strip():
        return str(link["href"]).strip()
    return _meta(soup, "og:url") or base_url


def read_html(data: bytes, ctx: SourceContext) -> list[Draft]:
    """Read one article page; a page without recognisable article text is refused."""
    import trafilatura  # imported here: it is slow to load and only this reader needs it

    soup = BeautifulSoup(data, "lxml")
    html = str(soup)
    metadata = trafilatura.extract_metadata(html, default_url=ctx.base_url)
    options = {"url": ctx.base_url, "output_format": "html", "include_links": True, "include_formatting": True,
               "include_tables": True, "include_comments": False, "favor_precision": True}
    # without pictures: with them, galleries bring their captions and "more" buttons into the text
    body = trafilatura.extract(html, include_images=False, **options)
    if not body or len(BeautifulSoup(body, "lxml").get_text(" ").split()) < MIN_WORDS:
        raise SourceError(f"{ctx.origin}: no article text found in this page; is it an article page?")
    meta = metadata.as_dict() if metadata is not None else {}
    for junk in soup(["script", "style", "noscript", "template"]):
        junk.decompose()
    page_lines = [line for line in soup.get_text("\n").split("\n") if line.strip()]
    kept = len([line for line in BeautifulSoup(body, "lxml").get_text("\n").split("\n") if line.strip()])
    title = _meta(soup, "og:title") or meta.get("title") or (soup.h1.get_text(" ", strip=True) if soup.h1 else "")
    tags = normalise_tags([part for tag in meta.get("tags") or [] for part in str(tag).split(",")])
    image = _meta(soup, "og:image", "twitter:image") or meta.get("image")
    if not image:  # the page names no picture: the article's first one
        image = first_image(trafilatura.extract(html, include_images=True, **options) or "")[0]
    published, unreadable = _published(soup, meta.get("date"), ctx.timezone)
    return [ctx.draft(
        "html",
        title or "",
        body,
        url=_canonical(soup, ctx.base_url),
        published_at=published,
        unreadable_date=unreadable,
        summary=_meta(soup, "description", "og:description") or None,
        tags=tags,
        image=image,
        image_alt=_meta(soup, "og:image:alt", "twitter:image:alt"),
        author=_meta(soup, "author", "article:author") or meta.get("author") or None,
        name_hint="",  # without a canonical URL the slug comes from the title, not "page.html"
        notes=[dropped_note(max(len(page_lines) - kept, 0), max(len(page_lines), kept))],
        source_words=sum(len(line.split()) for line in page_lines),
    )]
