"""Text to weighted terms: tokenise, drop stop words, stem, and weight title and body.

An article becomes two unit vectors over stemmed terms that depend on the
article alone (never on the rest of the archive), so the stored index can be
updated one article at a time and still equal a rebuild:
``body`` (log term frequency of title + body) and ``title`` (the title's terms).
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass

import numpy as np
import snowballstemmer

# Common English function words and filler: they say nothing about a topic.
STOP_WORDS = frozenset(
    """
    a about above after again against all almost also although always am among an and another any
    anyone anything are around as at away back be became because become been before being below
    between both but by can cannot could did do does doing done down during each either else enough
    even ever every few first for from further get gets getting got had has have having he her here
    hers herself him himself his how however i if in into is isn it its itself just least less let
    like ll made make makes many may me might more most much must my myself never next no nor not
    now of off often on once one only onto or other others our ours ourselves out over own per
    perhaps put quite rather re really same say see seem seems several shall she should since so
    some something sometimes still such than that the their theirs them themselves then there
    these they thing things this those though through thus to too toward towards under until up
    upon us use used using ve very want was way we well were what whatever when where whether which
    while who whole whom whose why will with within without would yet you your yours yourself
    yourselves don doesn didn won wasn isn aren ve ll re
    """.split()
)

_WORD = re.compile(r"[^\W\d_]{2,}(?:'[^\W\d_]+)?")
_MAX_STEM_CACHE = 400_000


@dataclass(frozen=True)
class TermVector:
    """An article's terms (stems, sorted), with their unit body and title weights."""

    terms: list[str]
    body: np.ndarray  # float32, unit length over all terms
    title: np.ndarray  # float32, unit length over the title's terms (zeros if no title)


class Analyzer:
    """Tokeniser + Snowball English stemmer; each distinct word is looked up once (stemming is slow)."""

    def __init__(self) -> None:
        self._stemmer = snowballstemmer.stemmer("english")
        self._lock = threading.Lock()  # the stemmer keeps state while it works: one word at a time
        self._cache: dict[str, str] = {}  # word as found -> stem, "" for a stop word

    def _stem(self, word: str) -> str:
        stem = self._cache.get(word)
        if stem is None:
            base = word.split("'", 1)[0]  # don't -> don, runner's -> runner
            if base in STOP_WORDS or len(base) < 2:
                stem = ""
            else:
                with self._lock:
                    stem = self._stemmer.stemWord(base)
            if len(self._cache) > _MAX_STEM_CACHE:
                self._cache.clear()
            self._cache[word] = stem
        return stem

    def tokens(self, text: str) -> list[str]:
        """Stems of the words of ``text`` in order, without stop words."""
        return [stem for stem in map(self._stem, _WORD.findall(text.lower())) if stem]

    def vector(self, title: str, body: str) -> TermVector:
        """The weighted terms of one article (title counted in the body vector too)."""
        counts: dict[str, int] = {}
        in_title: set[str] = set()
        cached = self._cache.get
        for text, is_title in ((title or "", True), (body or "", False)):
            for word, n in Counter(_WORD.findall(text.lower())).items():
                stem = cached(word)
                if stem is None:
                    stem = self._stem(word)
                if stem:
                    counts[stem] = counts.get(stem, 0) + n
                    if is_title:
                        in_title.add(stem)
        terms = sorted(counts)
        body_w = np.log(np.array([counts[t] for t in terms], dtype=np.float64)) + 1.0
        norm = float(np.sqrt((body_w * body_w).sum())) or 1.0
        title_w = np.array([1.0 if t in in_title else 0.0 for t in terms], dtype=np.float64)
        title_w /= math.sqrt(len(in_title)) or 1.0
        return TermVector(terms, (body_w / norm).astype(np.float32), title_w.astype(np.float32))

    def surface_words(self, title: str, body: str, stems: set[str] | None = None) -> dict[str, str]:
        """Stem -> the first word of the text that has it (to show a person words, not stems).

        With ``stems``, only those, and the reading stops once each is found.
        """
        words: dict[str, str] = {}
        wanted = None if stems is None else set(stems)
        cached = self._cache.get
        for text in (title or "", body or ""):
            for word in _WORD.finditer(text.lower()):
                word = word.group()
                stem = cached(word)
                if stem is None:
                    stem = self._stem(word)
                if stem and stem not in words and (wanted is None or stem in wanted):
                    words[stem] = word.split("'", 1)[0]
                    if wanted is not None:
                        wanted.discard(stem)
                        if not wanted:
                            return words
        return words


def normalise_tag(tag: str) -> str:
    """Tags compare case- and space-insensitively: "Strength Training" == "strength-training"."""
    return re.sub(r"[\s_-]+", "-", tag.strip().lower())
