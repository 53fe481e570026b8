"""Score articles against the archive from the stored index, at query time, many at once.

Text score (symmetric, in [0, 1] relative to the article's match with itself):
``sum over shared terms of idf(t)^2 * (b_q*b_d + t_q*b_d + b_q*t_d)``, where ``b`` is
the unit log-tf vector of title + body and ``t`` the unit vector of the title's terms,
so a title word found in the other article counts on top of the body match.
Tag score: noisy-or of shared tags' strength ``ln(N/df) / ln(N)``: a tag on two
articles is strong, one on a third of the archive weak.  Because everything
is computed from counters and per-article weights when asked, an incrementally
updated index answers exactly as a rebuilt one.

Scoring is a sparse product: a block of query rows (each its chosen terms'
weights) times the postings (term rows x article columns).  A row's result does
not depend on the other rows in its block, so ranking one article and ranking
all of them at once give the very same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .archive import Archive, idf2
from .index import DocVector
from .product import dense_product

# Postings read per query at most: on a big archive the query keeps its most
# telling terms until this many rows would be read (rare terms first).
POSTINGS_BUDGET = 30_000
BLOCK_CELLS = 640_000  # query rows x article columns scored at once: 5 MB of scores stay in cache


@dataclass
class Query:
    """What scoring one article needs from the index: its vector, tags and the archive size."""

    article_id: int
    published_at: str
    vector: DocVector
    tags: list[str]
    archive_size: int


def load_query(archive: Archive, article_id: int) -> Query | None:
    vector = archive.vectors([article_id]).get(article_id)
    if vector is None:
        return None
    return Query(article_id, archive.published([article_id])[article_id], vector, archive.tags(article_id),
                 archive.size)


def idf_squared(df: np.ndarray, n: int) -> np.ndarray:
    """Smoothed idf, squared (weights both sides); zero for a term only one article has."""
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    return np.where(df >= 2, idf * idf, 0.0)


@dataclass(frozen=True)
class QueryTerms:
    """The terms a query looks up (ascending ids) and their weights against a body and a title weight."""

    term_ids: np.ndarray  # int64, ascending
    body: np.ndarray  # idf^2 (b_q + t_q) / self score: times the other article's body weight
    title: np.ndarray  # idf^2 b_q / self score: times the other article's title weight

    def contributions(self, archive: Archive, other: DocVector) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The terms ``other`` shares: positions in ``term_ids`` (ascending) and in ``other``, and each
        one's share of the score."""
        at = archive.positions(self.term_ids, other.term_ids)
        theirs = np.flatnonzero(at >= 0)
        order = np.argsort(at[theirs])
        mine, theirs = at[theirs][order], theirs[order]
        return mine, theirs, self.body[mine] * other.body[theirs] + self.title[mine] * other.title[theirs]


def query_terms(archive: Archive, query: Query, max_terms: int) -> QueryTerms:
    """The query's most telling terms, heaviest first within ``max_terms`` and the postings budget."""
    vec = query.vector
    df = archive.df(vec.term_ids)
    w = idf_squared(df, query.archive_size)
    self_score = float((w * (vec.body * vec.body + 2 * vec.body * vec.title)).sum())
    if self_score <= 0:
        return QueryTerms(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    weights = w * (vec.body + vec.title)
    order = np.lexsort((df, -weights))  # heaviest first, rarer first on ties
    order = order[weights[order] > 0][:max_terms]
    within = np.cumsum(df[order]) <= POSTINGS_BUDGET
    within[0:1] = True
    chosen = order[within]
    chosen = chosen[np.argsort(vec.term_ids[chosen])]  # ascending ids: every block sums in the same order
    return QueryTerms(vec.term_ids[chosen].astype(np.int64), w[chosen] * (vec.body[chosen] + vec.title[chosen])
                      / self_score, w[chosen] * vec.body[chosen] / self_score)


def scored_blocks(archive: Archive, queries: Sequence[Query], max_terms: int,
                  tag_weight: float) -> Iterator[tuple[Query, QueryTerms, np.ndarray, np.ndarray | None]]:
    """Each query with its looked-up terms, a dense row of every article id's score (0 = no match),
    and the tag part of that score (None when the query shares no telling tag)."""
    rows_per_block = max(1, BLOCK_CELLS // max(archive.columns, 1))
    for start in range(0, len(queries), rows_per_block):
        block = queries[start : start + rows_per_block]
        terms = [query_terms(archive, q, max_terms) for q in block]
        union = np.unique(np.concatenate([t.term_ids for t in terms])) if terms else np.zeros(0, np.int64)
        rows, body, title = archive.postings(union)
        sizes = [len(t.term_ids) for t in terms]
        columns = rows[np.searchsorted(union, np.concatenate([t.term_ids for t in terms]))] if sum(sizes) else \
            np.zeros(0, np.int64)
        indptr = np.r_[0, np.cumsum(sizes)]
        scores = dense_product(np.concatenate([t.body for t in terms]), columns, indptr, body)
        scores += dense_product(np.concatenate([t.title for t in terms]), columns, indptr, title)
        for i, query in enumerate(block):
            row = scores[i]
            tagged = tag_scores(archive, query) if tag_weight > 0 else None
            if tagged is not None:
                row += tag_weight * tagged
            yield query, terms[i], row, tagged


def tag_scores(archive: Archive, query: Query) -> np.ndarray | None:
    """Noisy-or of the strengths of the tags each article shares with the query (None: no telling tag)."""
    n = query.archive_size
    if n < 2 or not query.tags:
        return None
    miss = None
    for tag in query.tags:
        members = archive.tag_members(tag)
        strength = tag_strength(len(members), n)
        if strength <= 0:
            continue
        if miss is None:
            miss = np.ones(archive.columns)
        miss[members] *= 1.0 - strength
    return None if miss is None else 1.0 - miss


def tag_strength(df: int, n: int) -> float:
    """How telling a shared tag is: 1 for a tag on two articles of many, 0 on half the archive or more."""
    if df < 2 or n < 3:
        return 0.0
    return max(0.0, math.log(n / df) / math.log(n / 2)) if df * 2 < n else 0.0


def similarity(archive: Archive, a: int, b: int) -> float:
    """Cosine of two articles' idf²-weighted body vectors (1.0 = the same words in the same mix).

    Words of one article only count here (unlike in ranking): two articles that share a few
    words but each say much else are not near-duplicates.
    """
    norm_a, norm_b = archive.norm(a), archive.norm(b)
    if not norm_a or not norm_b:
        return 0.0
    terms_a, body_a = archive.body_terms(a)
    terms_b, body_b = archive.body_terms(b)
    at = archive.positions(terms_a, terms_b)
    ib = np.flatnonzero(at >= 0)
    ia = at[ib]
    weights = idf2(archive.df(terms_a[ia]), archive.size)
    return float((weights * body_a[ia] * body_b[ib]).sum()) / (norm_a * norm_b)
