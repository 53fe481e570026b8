"""What an issue shows of an article: a short excerpt, and links carrying the campaign's UTM parameters."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from newsletter.links import with_utm

_SENTENCE_END = re.compile(r"""[.!?…]["'”’)\]]*(?=\s+|$)""")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|approx|min|max|Dr|Mr|Mrs|Ms|St|No|Fig)|\b[A-Z])\.$")
_WORD = re.compile(r"\S+")


def _is_heading(paragraph: str) -> bool:
    return not _SENTENCE_END.search(paragraph) and len(paragraph.split()) < 12


def _opening_paragraphs(text: str, words: int) -> str:
    """The paragraphs a reader meets first: leading headings skipped, ending at the next heading
    once there is enough text (an excerpt should not run into the next section)."""
    kept: list[str] = []
    count = 0
    for paragraph in re.split(r"\n\s*\n", text or ""):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        if _is_heading(paragraph):
            if count >= words * 0.5:
                break
            continue
        kept.append(paragraph)
        count += len(paragraph.split())
    return " ".join(kept)


def cut_at_sentence(text: str, words: int) -> str:
    """The opening of ``text``, cut at the sentence boundary nearest ``words`` words.

    A first sentence far longer than that is cut at a word boundary with an ellipsis.
    """
    text = _opening_paragraphs(text, words)
    positions = [m.end() for m in _WORD.finditer(text)]
    if len(positions) <= words:
        return text
    best: tuple[int, int] | None = None  # (distance from target, end offset)
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if _ABBREVIATION.search(text[max(0, match.start() - 8) : match.start() + 1]):
            continue
        count = sum(1 for p in positions if p <= end)
        if count > words * 1.5:
            break
        distance = abs(count - words)
        if count >= words * 0.5 and (best is None or distance < best[0]):
            best = (distance, end)
    if best is not None:
        return text[: best[1]].strip()
    return text[: positions[words - 1]].rstrip(",;:—–-") + "…"


def excerpt_for(summary: str | None, body_text: str, words: int) -> str:
    """The summary when the article has one (cut too if it runs past twice ``words``),
    else the article's opening cut near ``words`` words."""
    if summary and summary.strip():
        summary = " ".join(summary.split())
        return summary if len(summary.split()) <= words * 2 else cut_at_sentence(summary, words)
    return cut_at_sentence(body_text, words)


def absolute_url(url: str, base: str) -> str:
    """``url`` made absolute against the page or folder ``base`` (links and images in mail must be absolute)."""
    return urljoin(base, url) if url else ""


__all__ = ["absolute_url", "cut_at_sentence", "excerpt_for", "with_utm"]
