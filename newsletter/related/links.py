"""An article's related links: scores from the index, then the editor's and the issue's rules.

Order of rules: never the article itself, never an ``exclude``d article (the
same issue), never a blocked one; pins first in pin order; then the best
scores at or above ``[related] min_score``, ties to the more recent article,
optionally only older articles, skipping any near-duplicate of a link already
chosen.  With ``[related] embeddings`` on, the scores first blend in the
articles' embedding cosine (:mod:`.embeddings`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import sqlite_utils

from ..settings import Section
from ..workspace import Workspace
from .evidence import POOL, evidence
from .index import ANALYZER, DocVector, refresh_embeddings, sync_index
from .ranking import (
    Query,
    TextMatch,
    Weighted,
    load_query,
    similarity,
    tag_scores,
    tag_strength,
    text_scores,
    weighted,
)
from .schema import has_articles_table, related_db

STRONG_TAG = 0.5  # a shared tag this telling is evidence on its own (tag_strength: 1 on two articles of many)
EMBEDDING_MATCH = 0.5  # an embedding cosine this high is evidence on its own


@dataclass(frozen=True)
class RelatedLink:
    """One related article: its id, a score (about 0..1+, higher is closer) and why it was picked."""

    article_id: int
    score: float
    reasons: list[str] = field(default_factory=list)
    pinned: bool = False  # placed by the editor (``articles related --pin``), not by its score

    def as_dict(self) -> dict:
        return {"article_id": self.article_id, "score": round(self.score, 4), "reasons": list(self.reasons)}


def related_articles(
    ws: Workspace, article_id: int, *, exclude: Iterable[int] = (), limit: int | None = None
) -> list[RelatedLink]:
    """The related links of ``article_id``, best first; [] for an unknown article or empty archive."""
    db = related_db(ws)
    if not has_articles_table(db):
        return []
    query = load_query(db, article_id)
    if query is None:  # articles stored before the index existed, or without the importer's call
        if not db.execute("SELECT 1 FROM articles WHERE id = ?", [article_id]).fetchone():
            return []
        sync_index(ws)
        query = load_query(db, article_id)
        if query is None:
            return []
    refresh_embeddings(ws)  # switched on, or articles changed while it was off; a count when all are in
    return rank_links(db, query, ws.settings.related, exclude=exclude, limit=limit)


def rank_links(
    db: sqlite_utils.Database, query: Query, settings: Section, *,
    exclude: Iterable[int] = (), limit: int | None = None, dfs: dict[int, int] | None = None,
) -> list[RelatedLink]:
    """Apply the rules to the scored candidates of ``query`` (``dfs``: a df cache to share)."""
    limit = settings.count if limit is None else limit
    if limit <= 0:
        return []
    dfs = {} if dfs is None else dfs
    match = text_scores(db, query, settings.query_terms, dfs)
    tags = tag_scores(db, query) if settings.tag_weight > 0 else {}
    ids, scores = _combine(match, tags, settings.tag_weight)
    cosines: dict[int, float] = {}
    if settings.embeddings and settings.embedding_weight > 0:
        from .embeddings import blend, model_name

        scores, cosines = blend(db, query.article_id, ids, scores, settings.embedding_weight,
                                model_name(str(settings.embedding_model)))
    edits = db.conn.execute(
        "SELECT other_id, action FROM related_edits WHERE article_id = ? ORDER BY position", [query.article_id]
    ).fetchall()
    skip = set(exclude) | {query.article_id} | {o for o, action in edits if action == "block"}
    pinned = [o for o, action in edits if action == "pin" and o not in skip]
    indexed = _published(db, pinned)  # a pinned article since deleted is left out
    pins = [o for o in pinned if o in indexed][:limit]
    keep = (scores > 0) & ~np.isin(ids, list(skip | set(pins)))
    older_than = None if settings.include_newer else query.published_at or None
    words = _Words(db, query.article_id)
    ids, scores, proof = _with_evidence(db, query, ids[keep], scores[keep], older_than, tags, cosines, limit,
                                        dfs, words)
    keep = scores >= settings.min_score
    chosen = list(pins)
    vectors: dict[int, Weighted] = {}
    for other in _best_first(db, ids[keep], scores[keep], older_than):
        if len(chosen) >= limit:
            break
        if not _near_duplicate(db, other, chosen, vectors, query.archive_size, settings.near_duplicate, dfs):
            chosen.append(other)
    score_of = dict(zip(ids.tolist(), scores.tolist(), strict=True))
    tag_df = _tag_frequencies(db, query.tags)
    return [
        RelatedLink(other, score_of.get(other, 0.0),
                    (["pinned by the editor"] if other in pins else [])
                    + _reasons(db, query, other, match, tag_df, words)
                    + proof.get(other, [])
                    + ([f"meaning: {cosines[other]:.2f} (embeddings)"] if other in cosines else []),
                    pinned=other in pins)
        for other in chosen
    ]


def _with_evidence(db: sqlite_utils.Database, query: Query, ids: np.ndarray, scores: np.ndarray,
                   older_than: str | None, tags: dict[int, float], cosines: dict[int, float], limit: int,
                   dfs: dict[int, int], words: _Words) -> tuple[np.ndarray, np.ndarray, dict[int, list[str]]]:
    """The best candidates with evidence beyond common words, hub pages damped (see :mod:`.evidence`).

    Returns their ids, damped scores, and per id what to add to its reasons.
    """
    size = max(POOL, 5 * limit)
    order = np.lexsort((-ids, -scores))
    if older_than is not None:  # only older ones can be chosen: fill the pool with those
        head = order[: 50 * size]
        published = _published(db, ids[head].tolist())
        order = head[np.array([published.get(i, "") < older_than for i in ids[head].tolist()], dtype=bool)]
    ids, scores = ids[order[:size]], scores[order[:size]]
    found = evidence(db, query, ids, dfs)
    named = words(sorted({t for shared in found.distinctive for t in shared})) if found.distinctive else {}
    keep, proof = [], {}
    for i, (other, factor, shared) in enumerate(zip(ids.tolist(), found.factor.tolist(), found.distinctive,
                                                   strict=True)):
        strong_tag = tags.get(other, 0.0) >= STRONG_TAG
        match = cosines.get(other, 0.0) >= EMBEDDING_MATCH
        if not (shared or strong_tag or match):
            continue  # only common words in common
        keep.append(i)
        notes = []
        if shared:
            notes.append(f"distinctive: {', '.join(named[t] for t in shared[:5])} "
                         f"(each in at most {found.limit} articles)")
        if factor < 1.0:
            notes.append(f"hub page (names many topics): score x {factor:.2f}")
        proof[other] = notes
    keep_at = np.array(keep, dtype=np.int64)
    return ids[keep_at], scores[keep_at] * found.factor[keep_at], proof


def _combine(match: TextMatch, tags: dict[int, float], tag_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """One score per candidate: text score plus ``tag_weight`` times the tag score."""
    if not tags:
        return match.ids, match.scores
    tag_ids = np.fromiter(tags.keys(), dtype=np.int64, count=len(tags))
    tag_values = np.fromiter(tags.values(), dtype=np.float64, count=len(tags))
    size = int(max(match.ids.max(initial=0), tag_ids.max())) + 1  # ids index dense arrays: no sort
    present = np.zeros(size, dtype=bool)
    present[match.ids] = present[tag_ids] = True
    scores = np.zeros(size)
    scores[match.ids] += match.scores
    scores[tag_ids] += tag_weight * tag_values
    ids = np.flatnonzero(present)
    return ids, scores[ids]


def _best_first(db: sqlite_utils.Database, ids: np.ndarray, scores: np.ndarray,
                older_than: str | None) -> Iterator[int]:
    """Candidates by score, equal scores the more recent first; only older ones if ``older_than``."""
    rounded = np.round(scores, 9)
    order = np.lexsort((-ids, -rounded))
    start = 0
    while start < len(order):
        end = min(len(order), start + 64)
        while end < len(order) and rounded[order[end]] == rounded[order[end - 1]]:
            end += 1  # a batch never splits a tie
        batch = list(zip(ids[order[start:end]].tolist(), rounded[order[start:end]].tolist(), strict=True))
        published = _published(db, [other for other, _ in batch])
        batch.sort(key=lambda c: (c[1], published.get(c[0], ""), c[0]), reverse=True)
        for other, _ in batch:
            if older_than is None or published.get(other, "") < older_than:
                yield other
        start = end


def _published(db: sqlite_utils.Database, ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        out.update(db.conn.execute(
            f"SELECT article_id, published_at FROM related_docs WHERE article_id IN ({marks})", chunk))
    return out


def _weighted(db: sqlite_utils.Database, article_id: int, cache: dict[int, Weighted], n: int,
              dfs: dict[int, int]) -> Weighted:
    if article_id not in cache:
        blob = db.execute("SELECT vector FROM related_docs WHERE article_id = ?", [article_id]).fetchone()[0]
        cache[article_id] = weighted(db, DocVector.from_blob(blob), n, dfs)
    return cache[article_id]


def _near_duplicate(db, other: int, chosen: list[int], cache: dict[int, Weighted], n: int,
                    threshold: float, dfs: dict[int, int]) -> bool:
    """Whether ``other`` reads almost the same as a link already chosen."""
    if threshold >= 1.0 or not chosen:
        return False
    vec = _weighted(db, other, cache, n, dfs)
    return any(similarity(vec, _weighted(db, c, cache, n, dfs)) >= threshold for c in chosen)


def _tag_frequencies(db: sqlite_utils.Database, tags: list[str]) -> dict[str, int]:
    return {t: db.execute("SELECT count(*) FROM related_tags WHERE tag = ?", [t]).fetchone()[0] for t in tags}


def _reasons(db: sqlite_utils.Database, query: Query, other: int, match: TextMatch,
             tag_df: dict[str, int], words_of: _Words) -> list[str]:
    """Why ``other`` matched: its heaviest shared words, title words, and shared tags."""
    reasons = []
    mask = match.postings[:, 1] == other
    if mask.any():
        contrib, idx, sub = match.contributions[mask], match.term_index[mask], match.postings[mask]
        order = np.argsort(-contrib, kind="stable")
        term_ids = [int(query.vector.term_ids[idx[i]]) for i in order[:5]]
        titled = [int(query.vector.term_ids[idx[i]]) for i in order
                  if query.vector.title[idx[i]] > 0 or sub[i, 3] > 0][:3]
        words = words_of(term_ids + titled)
        reasons.append("words: " + ", ".join(words[t] for t in term_ids))
        if titled:
            reasons.append("title: " + ", ".join(words[t] for t in titled))
    other_tags = {r[0] for r in db.conn.execute("SELECT tag FROM related_tags WHERE article_id = ?", [other])}
    shared = sorted((t for t in query.tags if t in other_tags),
                    key=lambda t: (-tag_strength(tag_df[t], query.archive_size), t))
    if shared:
        reasons.append("tags: " + ", ".join(f"{t} ({tag_df[t]} articles)" for t in shared))
    return reasons


class _Words:
    """The query article's own words for term ids (stems are not for people)."""

    def __init__(self, db: sqlite_utils.Database, article_id: int) -> None:
        self._db, self._article_id = db, article_id
        self._row: tuple[str, str] | None = None

    def __call__(self, term_ids: list[int]) -> dict[int, str]:
        marks = ",".join("?" * len(term_ids))
        stems = dict(self._db.conn.execute(f"SELECT id, term FROM related_terms WHERE id IN ({marks})", term_ids))
        if self._row is None:
            row = self._db.conn.execute(
                "SELECT title, body_text FROM articles WHERE id = ?", [self._article_id]).fetchone()
            self._row = (row[0], row[1]) if row else ("", "")
        surface = ANALYZER.surface_words(*self._row, stems=set(stems.values()))
        return {t: surface.get(stem, stem) for t, stem in stems.items()}
