"""Article bodies as safe HTML and as plain text, whatever source they came from."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import nh3
from bs4 import BeautifulSoup, NavigableString, Tag
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code",
    "em", "strong", "b", "i", "u", "s", "sub", "sup", "small", "mark", "a", "img", "figure",
    "figcaption", "table", "thead", "tbody", "tr", "th", "td", "caption", "dl", "dt", "dd", "abbr",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
BLOCK_TAGS = {"p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "figcaption", "tr", "dt", "dd",
              "table", "ul", "ol", "figure", "hr"}

_markdown = MarkdownIt("commonmark", {"linkify": False, "typographer": False}).enable("table")


def markdown_to_html(text: str) -> str:
    """Render CommonMark (with tables); raw HTML in it is kept for the sanitiser to judge."""
    return _markdown.render(text)


def sanitise_html(html: str, *, base_url: str | None = None, title: str | None = None) -> str:
    """Safe, self-contained article HTML: absolute links, ``<h1>`` demoted, a leading
    ``<h1>`` repeating the title dropped, scripts and styles and event handlers gone."""
    soup = BeautifulSoup(html, "lxml")
    for junk in soup(["script", "style", "noscript", "iframe", "form", "button", "input", "svg"]):
        junk.decompose()
    first_heading = soup.find(["h1", "h2"])
    if first_heading is not None and title and _same_text(first_heading.get_text(), title) and \
            not _has_text_before(soup, first_heading):
        first_heading.decompose()
    for h1 in soup.find_all("h1"):
        h1.name = "h2"
    if base_url:
        for tag, attr in (("a", "href"), ("img", "src")):
            for node in soup.find_all(tag):
                value = node.get(attr)
                if isinstance(value, str) and not value.startswith(("#", "mailto:", "data:")):
                    node[attr] = urljoin(base_url, value.strip())
    body = soup.body or soup
    cleaned = nh3.clean(
        body.decode_contents(),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    cleaned = re.sub(r"<p>\s*</p>", "", cleaned)
    return re.sub(r"\n{3,}", "\n\n", cleaned).strip()


def html_to_text(html: str) -> str:
    """Readable plain text for excerpts and the related index: one blank line between blocks,
    list items as ``- ``, table rows as ``a | b``; links as their words only (the URLs stay in the HTML);
    pictures and their captions left out."""
    soup = BeautifulSoup(html, "lxml")
    blocks: list[str] = []
    _collect_blocks(soup.body or soup, blocks)
    return "\n\n".join(b for b in blocks if b).strip()


def _collect_blocks(node: Tag, blocks: list[str]) -> None:
    inline: list[str] = []

    def flush() -> None:
        text = "\n".join(part.strip() for part in re.sub(r"\s+", " ", "".join(inline)).split("\x00")).strip()
        if text:
            blocks.append(text)
        inline.clear()

    for child in node.children:
        if isinstance(child, NavigableString):
            inline.append(str(child).replace("\n", " "))
        elif not isinstance(child, Tag):
            continue
        elif child.name in ("ul", "ol"):
            flush()
            items = child.find_all("li", recursive=False)
            for number, item in enumerate(items, start=int(child.get("start", 1) or 1)):
                marker = f"{number}." if child.name == "ol" else "-"
                words = _inline_text(item)
                if words:  # an item holding only a picture has no text
                    blocks.append(f"{marker} {words}")
        elif child.name == "table":
            flush()
            rows = [" | ".join(_inline_text(cell) for cell in row.find_all(["th", "td"]))
                    for row in child.find_all("tr")]
            blocks.append("\n".join(row for row in rows if row.strip(" |")))
        elif child.name == "pre":
            flush()
            blocks.append(child.get_text().rstrip())
        elif child.name == "hr":
            flush()
            blocks.append("* * *")
        elif child.name in ("img", "figcaption"):
            continue  # a picture and the words about it are not the article's text (excerpts start here)
        elif child.name in BLOCK_TAGS or child.name in ("div", "section", "article", "main", "body"):
            flush()
            if child.find(list(BLOCK_TAGS | {"div"})):
                _collect_blocks(child, blocks)
            else:
                blocks.append(_inline_text(child))
        elif child.name == "br":
            inline.append("\x00")
        else:
            inline.append(_inline_text(child))
    flush()


def _inline_text(node: Tag) -> str:
    """A block's words on one line; ``<br>`` kept as a line break, picture captions left out."""
    for caption in node.find_all("figcaption"):
        caption.decompose()
    for br in node.find_all("br"):
        br.replace_with("\x00")
    text = re.sub(r"\s+", " ", node.get_text())
    return "\n".join(part.strip() for part in text.split("\x00")).strip()


def first_image(html: str) -> tuple[str | None, str | None]:
    """The first image of a body: ``(src, alt)``, or ``(None, None)``."""
    img = BeautifulSoup(html, "lxml").find("img", src=True)
    if img is None:
        return None, None
    return str(img["src"]), (str(img.get("alt") or "").strip() or None)


def _same_text(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"\W+", " ", s).strip().lower()

    return norm(a) == norm(b)


def _has_text_before(soup: BeautifulSoup, node: Tag) -> bool:
    """Whether any visible text comes before ``node`` (then a heading is not the page's title)."""
    for previous in node.find_all_previous(string=True):
        if previous.strip() and previous.parent is not None and previous.parent.name not in ("title", "head"):
            return True
    return False
