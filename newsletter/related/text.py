"""Text to weighted terms: tokenise, drop stop words, stem, and weight title and body.

An article becomes two unit vectors over stemmed terms that depend on the
article alone (never on the rest of the archive), so the stored index can be
updated one article at a time and still equal a rebuild:
``body`` (log term frequency of title + body) and ``title`` (the title's terms).
"""

from __future__ import annotations

import math
import re
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
    """An article's terms (stems), with their unit body and title weights, plus a display word each."""

    terms: list[str]
    body: np.ndarray  # float32, unit length over all terms
    title: np.ndarray  # float32, unit length over the title's terms (zeros if no title)
    words: dict[str, str]  # stem -> the first surface word seen, for showing reasons


class Analyzer:
    """Tokeniser + Snowball English stemmer with a cache (stemming is the slow part)."""

    def __init__(self) -> None:
        self._stemmer = snowballstemmer.stemmer("english")
        self._cache: dict[str, str] = {}

    def tokens(self, text: str) -> list[str]:
        """Lower-cased words of ``text`` without stop words or contractions' tails."""
        out = []
        for word in _WORD.findall(text.lower()):
            if "'" in word:  # don't -> don, runner's -> runner
                word = word.split("'", 1)[0]
            if word not in STOP_WORDS and len(word) > 1:
                out.append(word)
        return out

    def stems(self, words: list[str]) -> list[str]:
        cache = self._cache
        missing = [w for w in set(words) if w not in cache]
        if missing:
            if len(cache) > _MAX_STEM_CACHE:
                cache.clear()
            for word, stem in zip(missing, self._stemmer.stemWords(missing), strict=True):
                cache[word] = stem
        return [cache[w] for w in words]

    def vector(self, title: str, body: str) -> TermVector:
        """The weighted terms of one article (title counted in the body vector too)."""
        title_words = self.tokens(title or "")
        body_words = self.tokens(body or "")
        title_stems = self.stems(title_words)
        body_stems = self.stems(body_words)
        counts = Counter(body_stems)
        counts.update(title_stems)
        terms = sorted(counts)
        words: dict[str, str] = {}
        for stem, word in zip(title_stems + body_stems, title_words + body_words, strict=True):
            words.setdefault(stem, word)
        body_w = np.array([1.0 + math.log(counts[t]) for t in terms], dtype=np.float64)
        norm = float(np.sqrt((body_w * body_w).sum())) or 1.0
        in_title = set(title_stems)
        title_w = np.array([1.0 if t in in_title else 0.0 for t in terms], dtype=np.float64)
        title_w /= math.sqrt(len(in_title)) or 1.0
        return TermVector(terms, (body_w / norm).astype(np.float32), title_w.astype(np.float32), words)


def normalise_tag(tag: str) -> str:
    """Tags compare case- and space-insensitively: "Strength Training" == "strength-training"."""
    return re.sub(r"[\s_-]+", "-", tag.strip().lower())
