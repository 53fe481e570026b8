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


class _StemCache(dict):
    """Word as found -> stem ("" for a stop word); a missing word is stemmed once, on first sight.

    Looked up through ``map(cache.__getitem__, words)``, so the common case (a word
    seen before) never runs a line of Python.
    """

    def __init__(self, stemmer, lock: threading.Lock) -> None:
        super().__init__()
        self._stemmer, self._lock = stemmer, lock

    def __missing__(self, word: str) -> str:
        base = word.split("'", 1)[0]  # don't -> don, runner's -> runner
        if base in STOP_WORDS or len(base) < 2:
            stem = ""
        else:
            with self._lock:  # the stemmer keeps state while it works: one word at a time
                stem = self._stemmer.stemWord(base)
        if len(self) > _MAX_STEM_CACHE:
            self.clear()
        self[word] = stem
        return stem


class Analyzer:
    """Tokeniser + Snowball English stemmer (PyStemmer's C build); each distinct word is stemmed once."""

    def __init__(self) -> None:
        self._cache = _StemCache(snowballstemmer.stemmer("english"), threading.Lock())

    def tokens(self, text: str) -> list[str]:
        """Stems of the words of ``text`` in order, without stop words."""
        return [stem for stem in map(self._cache.__getitem__, _WORD.findall(text.lower())) if stem]

    def vector(self, title: str, body: str) -> TermVector:
        """The weighted terms of one article (title counted in the body vector too)."""
        stem = self._cache.__getitem__
        in_title = Counter(map(stem, _WORD.findall((title or "").lower())))
        counts = Counter(map(stem, _WORD.findall((body or "").lower())))
        counts.update(in_title)
        counts.pop("", None)
        in_title.pop("", None)
        terms = sorted(counts)
        body_w = np.log(np.fromiter(map(counts.__getitem__, terms), dtype=np.float64, count=len(terms))) + 1.0
        norm = float(np.sqrt((body_w * body_w).sum())) or 1.0
        title_w = np.fromiter(map(in_title.__contains__, terms), dtype=np.float64, count=len(terms))
        title_w /= math.sqrt(len(in_title)) or 1.0
        return TermVector(terms, (body_w / norm).astype(np.float32), title_w.astype(np.float32))

    def surface_words(self, title: str, body: str, stems: set[str] | None = None) -> dict[str, str]:
        """Stem -> the first word of the text that has it (to show a person words, not stems).

        With ``stems``, only those.  The loop runs in C: a dict built from the words in reverse
        keeps each stem's first word.
        """
        words = _WORD.findall(f"{title or ''}\n{body or ''}".lower())
        found = dict(zip(reversed(list(map(self._cache.__getitem__, words))), reversed(words), strict=True))
        found.pop("", None)
        keys = found.keys() if stems is None else stems & found.keys()
        return {stem: found[stem].split("'", 1)[0] for stem in keys}


def normalise_tag(tag: str) -> str:
    """Tags compare case- and space-insensitively: "Strength Training" == "strength-training"."""
    return re.sub(r"[\s_-]+", "-", tag.strip().lower())
