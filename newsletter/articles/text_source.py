"""A plain-text article as a browser saves a web page: find the title, the byline, the
headings, the lists and the references, and leave the page's chrome out.

Rules: the first real line (after menus, skip links and the site's own name) is the
title; a short line without a final full stop that leads a paragraph is a heading; a
"References" block becomes a list; tracking junk, sign-up pitches, the author's bio box,
"related articles" lists, share bars and footers are dropped (see :mod:`.text_chrome`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import SourceError
from . import text_chrome as chrome
from . import text_region as region
from .model import Draft, SourceContext, normalise_tags
from .textfile import parse_date

BYLINE = re.compile(r"^(?:by|written by|words by|author:)\s+(?P<rest>.+)$", re.I)
DATELINE = re.compile(r"^(?:published|posted|updated|last updated|date)?\s*(?:on|:)?\s*(?P<date>.+)$", re.I)
TAGS_LINE = re.compile(r"^(?:tags|tagged|filed under|categories|category|topics)\s*:\s*(?P<tags>.+)$", re.I)
URL_LINE = re.compile(r"^(?:(?:url|source|link|canonical|saved from)\s*:\s*)?(?P<url>https?://\S+)$", re.I)
BY_TAIL = re.compile(r"\bby\s+(?P<name>[A-Z][\w'’-]+(?: [A-Z][\w.'’-]*){0,3})$")
CREDIT = re.compile(r"^(photo|image|photograph|illustration|picture)( credit)?\s*:", re.I)
HEADER_SEPARATORS = re.compile(r"\s+[·|•–—-]\s+|\s*,\s+(?=\d+\s*min)")


@dataclass
class Page:
    """What the parser found besides the body."""

    site_name: str = ""
    title: str = ""
    author: str | None = None
    published_at: datetime | None = None
    url: str | None = None
    tags: list[str] = field(default_factory=list)


def split_blocks(text: str) -> list[list[str]]:
    """Blocks of lines separated by blank lines; a text with hardly any blank lines is
    one block per line (some browsers save every paragraph on one line, no gaps)."""
    lines = [re.sub(r"[ \t\u00a0\u2009\u200b]+$", "", line.replace("\u200b", "")) for line in text.split("\n")]
    filled = [line for line in lines if line.strip()]
    if not filled:
        return []
    if sum(1 for line in lines if not line.strip()) * 8 < len(filled):
        per_line: list[list[str]] = []
        for line in filled:  # consecutive list items stay one block
            if per_line and chrome.BULLET.match(line) and chrome.BULLET.match(per_line[-1][-1]):
                per_line[-1].append(line.strip())
            else:
                per_line.append([line.strip()])
        return per_line
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line.strip())
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _header_line(line: str, page: Page, tz: str) -> bool:
    """Read a byline, date, tag or URL line near the top into ``page``; True if it was one."""
    tags = TAGS_LINE.match(line)
    if tags:
        page.tags.extend(normalise_tags(tags["tags"]))
        return True
    url = URL_LINE.match(line)
    if url and not chrome.PIXEL_HINTS.search(line):
        page.url = page.url or url["url"]  # tracking parameters are dropped from it later
        return True
    byline = BYLINE.match(line)
    if byline:
        pieces = HEADER_SEPARATORS.split(byline["rest"])
        page.author = page.author or pieces[0].strip().rstrip(",") or None
        for piece in pieces[1:]:
            page.published_at = page.published_at or parse_date(piece, tz)
        return True
    if chrome.words(line) <= 10:
        pieces = [piece.strip() for piece in HEADER_SEPARATORS.split(line)]
        for piece in pieces:
            dated = DATELINE.match(piece)
            moment = parse_date(dated["date"], tz) if dated and re.search(r"\d{4}", piece) else None
            if moment is not None:
                page.published_at = page.published_at or moment
                names = [p for p in pieces if p != piece and chrome.PERSON.match(p)]
                tail = BY_TAIL.search(piece)  # "Posted on 14 October 2026 by Jo Reyes"
                page.author = page.author or (names[0] if names else tail["name"] if tail else None)
                return True
    return False


def _find_title(blocks: list[list[str]], page: Page) -> tuple[int, int]:
    """Set the title (and a URL line above it); return where the body starts (block, line)."""
    site = page.site_name.strip().lower()
    for b, block in enumerate(blocks):
        for line in block:
            url = URL_LINE.match(line)
            if url and not chrome.PIXEL_HINTS.search(line):
                page.url = page.url or url["url"]
        kept = [(i, line) for i, line in enumerate(block)
                if (not chrome.is_junk_line(line) or _without_site_name(line, site) != line)
                and line.strip().lower() != site and not URL_LINE.match(line)]
        if not kept:
            continue
        if chrome.is_menu_block([line for _, line in kept]) or chrome.is_signup([line for _, line in kept]):
            continue
        index, line = kept[0]
        page.title = _without_site_name(line.strip(), site)
        return b, index + 1
    raise SourceError("no title: the text has no line that could be the article's title")


def _without_site_name(title: str, site: str) -> str:
    """``Why Calves Cramp | Weekly Training Notes`` → ``Why Calves Cramp`` (a page title's suffix)."""
    parts = re.split(r"\s+[|·•–—-]\s+", title)
    if len(parts) > 1 and site and parts[-1].strip().lower() == site:
        return " - ".join(parts[:-1]).strip()
    return title


def _inline(text: str) -> str:
    """Escape text for HTML and turn bare http(s) addresses (also ``<https://...>``) into links."""
    text = re.sub(r"<(https?://[^<>\s]+)>", r"\1", text)
    out, last = [], 0
    for m in chrome.URL.finditer(text):
        url = m.group(0).rstrip(".,;:")
        out.append(html.escape(text[last:m.start()]))
        out.append(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')
        last = m.start() + len(url)
    out.append(html.escape(text[last:]))
    return "".join(out)


def _list_html(lines: list[str]) -> str:
    numbered = all(m and (m.group(1) or m.group(2)) for m in (chrome.BULLET.match(line) for line in lines))
    items = "".join(f"<li>{_inline(chrome.BULLET.sub('', line, count=1).strip())}</li>" for line in lines)
    return f"<ol>{items}</ol>" if numbered else f"<ul>{items}</ul>"


def _is_hard_wrapped(lines: list[str]) -> bool:
    """Lines cut at a fixed width (an e-mail, a terminal) rather than one line per paragraph."""
    if len(lines) < 2:
        return False
    widths = [len(line) for line in lines[:-1]]
    return max(widths) <= 100 and min(widths) >= 0.75 * max(widths) and min(widths) >= 40 or any(
        not a.endswith(chrome.TERMINAL) and b[:1].islower() for a, b in zip(lines, lines[1:], strict=False))


def _is_wrapped_paragraph(lines: list[str]) -> bool:
    """One paragraph cut into lines of some width (not a list, not separate page elements)."""
    if len(lines) < 2 or any(chrome.BULLET.match(line) or chrome.is_junk_line(line) for line in lines):
        return False
    widths = [len(line) for line in lines[:-1]]
    if min(widths) < 30:
        return False
    return (len(lines) >= 3 and max(widths) <= 100 and min(widths) >= 0.75 * max(widths) and min(widths) >= 40
            and len(lines[-1]) <= max(widths) + 5) or all(
        not a.endswith(chrome.TERMINAL) and b[:1].islower() for a, b in zip(lines, lines[1:], strict=False))


def _content_html(lines: list[str]) -> str:
    """A block's lines (heading already taken off): a paragraph, a list, or several paragraphs."""
    if all(chrome.BULLET.match(line) for line in lines):
        return _list_html(lines)
    if len(lines) == 1 or _is_hard_wrapped(lines):
        return f"<p>{_inline(' '.join(lines))}</p>"
    if sum(len(line) for line in lines) / len(lines) < 200:
        return _list_html(lines)
    return "".join(f"<p>{_inline(line)}</p>" for line in lines)


class _BodyBuilder:
    """Walk the blocks after the title, dropping chrome and writing HTML."""

    def __init__(self, blocks: list[list[str]], page: Page) -> None:
        self.blocks = blocks
        self.page = page
        self.parts: list[str] = []
        self.skipping: str | None = None  # the kind of chrome region being dropped

    def is_bio(self, block: list[str]) -> bool:
        if chrome.BIO_OPENERS.match(block[0].strip()):
            return True
        author = (self.page.author or "").strip()
        if not author:
            return False
        if block[0].strip().lower() in (f"about {author.lower()}", f"about {author.split()[0].lower()}"):
            return True
        return block[0].startswith(author + " is ") and chrome.words(" ".join(block)) <= 90

    def chrome_kind(self, block: list[str]) -> str | None:
        """Whether this block opens (or continues) a region of page chrome, and which."""
        first = block[0].strip()
        if chrome.COMMENT_OPENERS.match(first) and len(block) == 1:
            return "comments"  # the label alone: what follows is judged on its own (a share bar says "Comments")
        if chrome.is_signup(block):
            return "signup"
        if self.is_bio(block):
            return "bio"
        if chrome.RELATED_OPENERS.match(first):
            return "related"
        if chrome.is_menu_block(block) or all(chrome.SOCIAL.match(line) for line in block):
            return "menu"
        if self.skipping == "signup" and chrome.is_form_leftover(block):
            return "signup"
        if self.skipping == "related" and all(chrome.is_title_like(line) for line in block):
            return "related"
        return None

    def build(self) -> str:
        index = 0
        while index < len(self.blocks):
            block = self.blocks[index]
            index += 1
            kind = self.chrome_kind(block)
            self.skipping = kind
            if kind:
                continue
            if chrome.REFERENCES_HEADING.match(block[0]):
                index = self.references(block, index)
                continue
            if chrome.is_heading_line(block[0]) and (len(block) > 1 or self.leads_content(index)):
                self.parts.append(f"<h2>{_inline(block[0])}</h2>")
                block = block[1:]
                if block and chrome.REFERENCES_HEADING.match(block[0]):
                    index = self.references(block, index)
                    continue
            if block:
                self.parts.append(_content_html(block))
        return "\n".join(self.parts)

    def leads_content(self, index: int) -> bool:
        """Whether the block at ``index`` is article content (so a heading before it leads it)."""
        if index >= len(self.blocks):
            return False
        following = self.blocks[index]
        if self.chrome_kind(following) is not None:
            return False
        return chrome.is_prose(following) or all(chrome.BULLET.match(line) for line in following) or len(following) > 1

    def references(self, block: list[str], index: int) -> int:
        """A references heading and the citations after it (in this block and the next ones)."""
        entries = list(block[1:])
        while index < len(self.blocks) and self.chrome_kind(self.blocks[index]) is None and \
                all(chrome.is_citation(line) for line in self.blocks[index]):
            entries.extend(self.blocks[index])
            index += 1
        self.parts.append(f"<h2>{_inline(block[0].rstrip(':'))}</h2>")
        if entries:
            self.parts.append(_list_html(entries))
        return index


def parse_text_page(text: str, *, site_name: str, timezone: str) -> tuple[Page, str]:
    """``(page metadata, body HTML)`` of a saved page; raises :class:`SourceError` without a title."""
    page, body, _ = read_page(text, site_name=site_name, timezone=timezone)
    return page, body


def _region_blocks(blocks: list[list[str]], keep: set[int]) -> list[list[str]]:
    """The blocks again, with only the lines whose flat index is in ``keep``."""
    out, n = [], 0
    for block in blocks:
        kept = [line for i, line in enumerate(block, n) if i in keep]
        n += len(block)
        if kept:
            out.append(kept)
    return out


def read_page(text: str, *, site_name: str, timezone: str) -> tuple[Page, str, int]:
    """``(page metadata, body HTML, lines dropped)`` of a saved page (see :mod:`.text_region`)."""
    blocks = split_blocks(text)
    if not blocks:
        raise SourceError("the text is empty")
    blocks = [[" ".join(block)] if _is_wrapped_paragraph(block) else block for block in blocks]
    page = Page(site_name=site_name)
    site = site_name.strip().lower()
    flat = [line for block in blocks for line in block]
    lines = region.read_lines([_without_site_name(line.strip(), site) for line in flat])
    start, end = region.find_body(lines)
    title_at = region.find_title(lines, start, end)
    if title_at is None:  # a short note, not a page: its first plain line
        title_at = next((i for i, line in enumerate(flat) if not chrome.is_junk_line(line)
                         and line.strip().lower() != site and not URL_LINE.match(line)), None)
    if title_at is None:
        raise SourceError("no title: the text has no line that could be the article's title")
    page.title = _without_site_name(flat[title_at].strip(), site)
    for line in flat[:start]:
        url = URL_LINE.match(line)
        if url and not chrome.PIXEL_HINTS.search(line):
            page.url = page.url or url["url"]
    for line in flat[title_at + 1:start]:  # byline, date, tags between the headline and the text
        _header_line(line, page, timezone)
    keep = set(range(start, end)) - {title_at}
    body_blocks: list[list[str]] = []
    in_header = True
    for block in _region_blocks(blocks, keep):
        kept: list[str] = []
        for line in block:
            if (in_header or TAGS_LINE.match(line)) and _header_line(line, page, timezone):
                continue
            if chrome.is_junk_line(line) or CREDIT.match(line) or line.strip() == page.title:
                continue
            kept.append(line)
        if kept:
            body_blocks.append(kept)
            in_header = in_header and not chrome.is_prose(kept)
    kept_count = sum(len(b) for b in body_blocks)
    return page, _BodyBuilder(body_blocks, page).build(), len(flat) - kept_count - 1


def read_text_page(text: str, ctx: SourceContext) -> list[Draft]:
    """Read a saved plain-text page into a draft; its notes say how much of the page was left out."""
    try:
        page, body, dropped = read_page(text, site_name=ctx.site_name, timezone=ctx.timezone)
    except SourceError as exc:
        raise SourceError(f"{ctx.origin}:1: {exc}") from None
    total = sum(1 for line in text.split("\n") if line.strip())
    return [ctx.draft("text", page.title, body, url=page.url, published_at=page.published_at,
                      tags=page.tags, author=page.author, name_hint="",  # slug from the title
                      notes=[dropped_note(dropped, total)], source_words=len(text.split()))]


def dropped_note(dropped: int, total: int) -> str:
    """``kept 40 of 212 lines (172 dropped: menus, share bars, comments, footer)``."""
    return f"kept {total - dropped} of {total} lines ({dropped} dropped as page chrome)"
