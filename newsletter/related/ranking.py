"""Score an article against the archive from the stored index, at query time.

Text score (symmetric, in [0, 1] relative to the article's match with itself):
``sum over shared terms of idf(t)^2 * (b_q*b_d + t_q*b_d + b_q*t_d)``, where ``b`` is
the unit log-tf vector of title + body and ``t`` the unit vector of the title's
terms, so a title word found in the other article counts on top of the body match.
Tag score: noisy-or of shared tags' strength ``ln(N/df) / ln(N)``: a tag on two
articles is strong, one on a third of the archive weak.  Because everything
is computed from counters and per-article weights when asked, an incrementally
updated index answers exactly as a rebuilt one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import sqlite_utils

from .index import DocVector
from .postings import read_postings
from .schema import document_count

# Postings read per query at most: on a big archive the query keeps its most
# telling terms until this many rows would be read (rare terms first).
POSTINGS_BUDGET = 30_000
_CHUNK = 500


@dataclass
class Query:
    """What scoring one article needs from the index: its vector, tags and the archive size."""

    article_id: int
    published_at: str
    vector: DocVector
    tags: list[str]
    archive_size: int


def idf_squared(df: np.ndarray, n: int) -> np.ndarray:
    """Smoothed idf, squared (weights both sides); zero for a term only one article has."""
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    return np.where(df >= 2, idf * idf, 0.0)


def document_frequencies(db: sqlite_utils.Database, term_ids: Iterable[int],
                         known: dict[int, int] | None = None) -> dict[int, int]:
    """Term id -> document frequency; ``known`` (filled in as a side effect) saves repeat lookups."""
    known = {} if known is None else known
    ids = list(term_ids)
    missing = [t for t in ids if t not in known]
    for start in range(0, len(missing), _CHUNK):
        chunk = missing[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        found = dict(db.execute(f"SELECT id, df FROM related_terms WHERE id IN ({marks})", chunk))
        known.update((t, found.get(t, 0)) for t in chunk)
    return known


def load_query(db: sqlite_utils.Database, article_id: int) -> Query | None:
    row = db.execute(
        "SELECT published_at, vector FROM related_docs WHERE article_id = ?", [article_id]
    ).fetchone()
    if row is None:
        return None
    tags = [r[0] for r in db.execute("SELECT tag FROM related_tags WHERE article_id = ?", [article_id])]
    n = document_count(db)
    return Query(article_id, row[0], DocVector.from_blob(row[1]), tags, n)


def _query_terms(weights: np.ndarray, df: np.ndarray, max_terms: int) -> np.ndarray:
    """Indexes of the terms to look up: heaviest first, within the term count and postings budget."""
    order = np.lexsort((df, -weights))  # heaviest first, rarer first on ties
    order = order[weights[order] > 0][:max_terms]
    within = np.cumsum(df[order]) <= POSTINGS_BUDGET
    within[0:1] = True
    return order[within]


@dataclass
class TextMatch:
    """Text scores of the articles sharing a looked-up term, and each matched posting (for reasons)."""

    ids: np.ndarray  # int64, sorted
    scores: np.ndarray  # float64, aligned with ids
    postings: np.ndarray  # rows of (term_id, article_id, body, title)
    contributions: np.ndarray  # each posting's share of its article's score
    term_index: np.ndarray  # each posting's position in the query vector

    @classmethod
    def empty(cls) -> TextMatch:
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))


def text_scores(db: sqlite_utils.Database, query: Query, max_terms: int,
                dfs: dict[int, int] | None = None) -> TextMatch:
    """Text score of every article sharing a looked-up term with the query (``dfs``: df cache)."""
    vec = query.vector
    dfs = document_frequencies(db, vec.term_ids.tolist(), dfs)
    df = np.array([dfs.get(int(t), 0) for t in vec.term_ids], dtype=np.float64)
    w = idf_squared(df, query.archive_size)
    self_score = float((w * (vec.body * vec.body + 2 * vec.body * vec.title)).sum())
    if self_score <= 0:
        return TextMatch.empty()
    chosen = _query_terms(w * (vec.body + vec.title), df, max_terms)
    if not len(chosen):
        return TextMatch.empty()
    arr = read_postings(db.conn, [int(vec.term_ids[i]) for i in chosen])
    if not len(arr):
        return TextMatch.empty()
    sorter = np.argsort(vec.term_ids)
    idx = sorter[np.searchsorted(vec.term_ids, arr[:, 0].astype(np.int64), sorter=sorter)]
    contrib = w[idx] * ((vec.body[idx] + vec.title[idx]) * arr[:, 2] + vec.body[idx] * arr[:, 3]) / self_score
    articles = arr[:, 1].astype(np.int64)
    ids = np.flatnonzero(np.bincount(articles))  # article ids are small: count, don't sort
    return TextMatch(ids, np.bincount(articles, weights=contrib)[ids], arr, contrib, idx)


def tag_scores(db: sqlite_utils.Database, query: Query) -> dict[int, float]:
    """Noisy-or of the strengths of the tags each other article shares with the query."""
    n = query.archive_size
    if n < 2 or not query.tags:
        return {}
    miss: dict[int, float] = {}
    for tag in query.tags:
        df = db.conn.execute("SELECT count(*) FROM related_tags WHERE tag = ?", [tag]).fetchone()[0]
        strength = tag_strength(df, n)
        if strength <= 0:
            continue
        for (other,) in db.conn.execute("SELECT article_id FROM related_tags WHERE tag = ?", [tag]):
            miss[other] = miss.get(other, 1.0) * (1.0 - strength)
    return {a: 1.0 - m for a, m in miss.items()}


def tag_strength(df: int, n: int) -> float:
    """How telling a shared tag is: 1 for a tag on two articles of many, 0 on half the archive or more."""
    if df < 2 or n < 3:
        return 0.0
    return max(0.0, math.log(n / df) / math.log(n / 2)) if df * 2 < n else 0.0


@dataclass(frozen=True)
class Weighted:
    """An article's body vector with its idf² weights and weighted norm (for near-duplicate checks)."""

    vector: DocVector
    weights: np.ndarray
    norm: float


def weighted(db: sqlite_utils.Database, vector: DocVector, n: int, dfs: dict[int, int] | None = None) -> Weighted:
    dfs = document_frequencies(db, vector.term_ids.tolist(), dfs)
    df = np.fromiter((dfs[t] for t in vector.term_ids.tolist()), dtype=np.float64, count=len(vector.term_ids))
    w = (np.log((1.0 + n) / (1.0 + df)) + 1.0) ** 2
    return Weighted(vector, w, math.sqrt(float((w * vector.body * vector.body).sum())))


def similarity(a: Weighted, b: Weighted) -> float:
    """Cosine of two articles' idf-weighted body vectors (1.0 = the same words in the same mix).

    Words of one article only count here (unlike in ranking): two articles that share a few
    words but each say much else are not near-duplicates.
    """
    if not a.norm or not b.norm:
        return 0.0
    _, ia, ib = np.intersect1d(a.vector.term_ids, b.vector.term_ids, assume_unique=True, return_indices=True)
    return float((a.weights[ia] * a.vector.body[ia] * b.vector.body[ib]).sum()) / (a.norm * b.norm)
