"""Text to weighted terms: tokenise, drop stop words, stem, and weight title and body.

An article becomes two unit vectors over stemmed terms that depend on the
article alone (never on the rest of the archive), so the stored index can be
updated one article at a time and still equal a rebuild:
``body`` (log term frequency of title + body) and ``title`` (the title's terms).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from itertools import chain

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
# UTF-8 bytes -> the same byte, or a space for an ASCII byte no word can hold (a word's letters are
# ``_WORD``'s own class, asked of the regex itself); bytes of other characters pass unchanged.
_LETTER = re.compile(r"[^\W\d_]")
_SPLITTING = bytes(c if c >= 0x80 or c == ord("'") or _LETTER.fullmatch(chr(c)) else 0x20 for c in range(256))


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


class _WordIds(dict):
    """Word as found -> id of its stem (-1 for a stop word); ``stems[id]`` is the stem.

    Kept for the life of the process like the stem cache; looked up through a C-level ``map``.
    """

    def __init__(self, cache: _StemCache, lock: threading.Lock) -> None:
        super().__init__()
        self._cache, self._lock = cache, lock
        self.stems: list[str] = []
        self._ids: dict[str, int] = {}

    def __missing__(self, word: str) -> int:
        stem = self._cache[word]
        with self._lock:  # ids are handed out one at a time
            if stem and stem not in self._ids:
                self._ids[stem] = len(self.stems)
                self.stems.append(stem)
            if len(self) > _MAX_STEM_CACHE:
                self.clear()
            found = self[word] = self._ids[stem] if stem else -1
        return found


_SEVERAL = -2  # a piece that holds more than one word (rare: see _PieceIds)


class _PieceIds(dict):
    """A run of UTF-8 bytes between spaces (see ``_pieces``) -> the stem id of its one word,
    -1 if it has no word or a stop word, ``_SEVERAL`` if it has more than one word.

    Nearly every run is one word; ``_WORD`` itself finds the words of a run the first time it is
    seen, so the words are the regex's own, apostrophes and any character outside ASCII included.
    """

    def __init__(self, word_ids: _WordIds) -> None:
        super().__init__()
        self._word_ids = word_ids

    def words(self, piece: bytes) -> list[int]:
        """Stem ids of the words of a piece, in order, stop words left out."""
        found = map(self._word_ids.__getitem__, _WORD.findall(piece.decode("utf-8", "surrogatepass")))
        return [i for i in found if i >= 0]

    def __missing__(self, piece: bytes) -> int:
        words = _WORD.findall(piece.decode("utf-8", "surrogatepass"))
        found = self._word_ids[words[0]] if len(words) == 1 else -1 if not words else _SEVERAL
        if len(self) > _MAX_STEM_CACHE:
            self.clear()
        self[piece] = found
        return found


def _pieces(text: str) -> list[bytes]:
    """The lower-cased text cut at every ASCII character no word can hold (all C, no regex).

    A word is letters and apostrophes, so ``_WORD`` finds in the text exactly the words it finds in
    these pieces, in order; an ASCII byte never occurs inside another character's UTF-8 bytes.
    """
    return text.lower().encode("utf-8", "surrogatepass").translate(_SPLITTING).split()


def _ids(pieces: _PieceIds, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Stem ids of every word of ``texts`` (stop words dropped), and each one's text index."""
    docs = [_pieces(text or "") for text in texts]
    sizes = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    ids = np.fromiter(map(pieces.__getitem__, chain.from_iterable(docs)), dtype=np.int64, count=int(sizes.sum()))
    owner = np.repeat(np.arange(len(docs)), sizes)
    several = np.flatnonzero(ids == _SEVERAL)
    if len(several):  # each such piece's words in its place, in order
        flat = list(chain.from_iterable(docs))
        words = [pieces.words(flat[k]) for k in several.tolist()]
        repeat = np.ones(len(ids), dtype=np.int64)
        repeat[several] = [len(w) for w in words]
        owner = np.repeat(owner, repeat)
        ids = np.repeat(ids, repeat)
        starts = (np.cumsum(repeat) - repeat)[several]
        for start, found in zip(starts.tolist(), words, strict=True):
            ids[start : start + len(found)] = found
    kept = ids >= 0
    return ids[kept], owner[kept]


class Analyzer:
    """Tokeniser + Snowball English stemmer (PyStemmer's C build); each distinct word is stemmed once."""

    def __init__(self) -> None:
        self._cache = _StemCache(snowballstemmer.stemmer("english"), threading.Lock())
        self._word_ids = _WordIds(self._cache, threading.Lock())
        self._pieces = _PieceIds(self._word_ids)

    def tokens(self, text: str) -> list[str]:
        """Stems of the words of ``text`` in order, without stop words."""
        return [stem for stem in map(self._cache.__getitem__, _WORD.findall(text.lower())) if stem]

    def vector(self, title: str, body: str) -> TermVector:
        """The weighted terms of one article (title counted in the body vector too)."""
        stems, [(positions, body_w, title_w)] = self.vectors([(title, body)])
        return TermVector([stems[p] for p in positions.tolist()], body_w, title_w)

    def vectors(self, texts: list[tuple[str, str]]) -> tuple[list[str], list[tuple[np.ndarray, ...]]]:
        """The weighted terms of many (title, body) pairs at once: the chunk's distinct stems, sorted,
        and per article the positions of its terms in that list (ascending) with body and title weights.

        Words are counted in arrays, not one by one in Python; an article's weights depend on its
        own text alone (the same whether it comes alone or in a chunk).
        """
        title_ids = _ids(self._pieces, [t for t, _ in texts])
        body_ids = _ids(self._pieces, [b for _, b in texts])
        present = np.flatnonzero(np.bincount(np.concatenate([title_ids[0], body_ids[0]])))  # the chunk's stem ids
        names = [self._word_ids.stems[i] for i in present.tolist()]
        order = sorted(range(len(names)), key=names.__getitem__)
        ranks = np.empty(int(present.max(initial=-1)) + 1, dtype=np.int64)  # stem id -> rank in sorted stems
        ranks[present[order]] = np.arange(len(names))
        stems = [names[i] for i in order]
        title_ids = (ranks[title_ids[0]], title_ids[1])
        body_ids = (ranks[body_ids[0]], body_ids[1])
        width = max(len(stems), 1)
        title_keys = np.unique(title_ids[1] * width + title_ids[0])
        keys, counts = np.unique(np.concatenate([title_ids[1] * width + title_ids[0],
                                                 body_ids[1] * width + body_ids[0]]), return_counts=True)
        doc_of, positions = np.divmod(keys, width)
        weights = np.log(counts.astype(np.float64)) + 1.0
        starts = np.searchsorted(doc_of, np.arange(len(texts) + 1))
        filled = starts[1:] > starts[:-1]
        norms = np.ones(len(texts))
        if len(weights):  # a plain left-to-right sum per article (reduceat), alone or in a chunk
            norms[filled] = np.sqrt(np.add.reduceat(weights * weights, starts[:-1][filled]))
        title_count = np.bincount(title_keys // width, minlength=len(texts))
        in_title = np.isin(keys, title_keys, assume_unique=True)
        title_w = np.where(in_title, 1.0 / np.sqrt(np.maximum(title_count, 1))[doc_of], 0.0).astype(np.float32)
        body_w = (weights / norms[doc_of]).astype(np.float32)
        positions = positions.astype(np.int32)
        return stems, [(positions[a:b], body_w[a:b], title_w[a:b])
                       for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True)]

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
