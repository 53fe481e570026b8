"""An article's related links: scores from the index, then the editor's and the issue's rules.

Order of rules: never the article itself, never an ``exclude``d article (the
same issue), never a blocked one; pins first in pin order; then the best
scores at or above ``[related] min_score``, ties to the more recent article,
optionally only older articles, skipping any near-duplicate of a link already
chosen.  With ``[related] embeddings`` on, the scores first blend in the
articles' embedding cosine (:mod:`.embeddings`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..articles import article_texts, existing_ids
from ..settings import Section
from ..workspace import Workspace
from .archive import Archive
from .evidence import POOL, PairSpread, evidence
from .index import ANALYZER, DocVector, refresh_embeddings, sync_index
from .ranking import (
    Query,
    QueryTerms,
    load_query,
    scored_blocks,
    similarity,
    tag_strength,
)
from .schema import has_articles_table, related_db

STRONG_TAG = 0.5  # a shared tag this telling is evidence on its own (tag_strength: 1 on two articles of many)


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
    return ranked(ws, [article_id], exclude=exclude, limit=limit).get(article_id, [])


def ranked(ws: Workspace, article_ids: Sequence[int], *, exclude: Iterable[int] = (),
           limit: int | None = None, archive: Archive | None = None,
           explain: bool = True) -> dict[int, list[RelatedLink]]:
    """The related links of several articles, scored together (one read of the index for all of them).

    Articles not in the archive are left out.  ``archive``: an already open (perhaps loaded) one;
    ``explain=False``: links without their reasons (reading each article's words for them is the slow part).
    """
    db = related_db(ws)
    if not has_articles_table(db):
        return {}
    if archive is None:
        known = Archive(db).vectors(list(article_ids))
        if len(known) < len(set(article_ids)):  # stored before the index existed, or without the importer's call
            if len(existing_ids(db, article_ids)) > len(known):
                sync_index(ws)
        refresh_embeddings(ws)  # switched on, or articles changed while it was off; a count when all are in
        archive = Archive(db)
    return dict(rank_many(archive, article_ids, ws.settings.related, exclude=exclude, limit=limit,
                          explain=explain))


def rank_many(archive: Archive, article_ids: Iterable[int], settings: Section, *, exclude: Iterable[int] = (),
              limit: int | None = None, explain: bool = True) -> Iterator[tuple[int, list[RelatedLink]]]:
    """Each indexed article of ``article_ids`` with its links, in the order given."""
    queries = [q for q in (load_query(archive, a) for a in article_ids) if q is not None]
    exclude = set(exclude)
    for query, terms, row, tagged in scored_blocks(archive, queries, settings.query_terms, settings.tag_weight):
        yield query.article_id, rank_links(archive, query, terms, row, tagged, settings, exclude=exclude,
                                           limit=limit, explain=explain)


def rank_links(
    archive: Archive, query: Query, terms: QueryTerms, row: np.ndarray, tagged: np.ndarray | None,
    settings: Section, *, exclude: Iterable[int] = (), limit: int | None = None, explain: bool = True,
) -> list[RelatedLink]:
    """Apply the rules to the scored candidates of ``query``.

    ``row``: every article id's score; ``tagged``: the tag part of it (None: no telling tag shared);
    ``explain=False``: the same links, without reasons.
    """
    limit = settings.count if limit is None else limit
    if limit <= 0:
        return []
    ids = np.flatnonzero(row > 0)
    scores = row[ids]
    cosines: dict[int, float] = {}
    spread = None
    if settings.embeddings and settings.embedding_weight > 0:
        from .embeddings import blend, vector_name

        model = vector_name(str(settings.embedding_model), settings.embedding_chunks)
        scores, cosines = blend(archive.db, query.article_id, ids, scores, settings.embedding_weight, model)
        spread = archive.pair_spread(model) if cosines else None
    edits = archive.edits(query.article_id)
    skip = set(exclude) | {query.article_id} | {o for o, action in edits if action == "block"}
    pinned = [o for o, action in edits if action == "pin" and o not in skip]
    indexed = archive.published(pinned)  # a pinned article since deleted is left out
    pins = [o for o in pinned if o in indexed][:limit]
    keep = (scores > 0) & ~_among(ids, skip | set(pins))
    older_than = None if settings.include_newer else query.published_at or None
    words = _Words(archive, query.article_id) if explain else None
    ids, scores, proof = _with_evidence(archive, query, ids[keep], scores[keep], older_than, tagged, cosines,
                                        spread, limit, words, settings.min_score)
    keep = scores >= settings.min_score
    chosen = list(pins)
    for other in _best_first(archive, ids[keep], scores[keep], older_than):
        if len(chosen) >= limit:
            break
        if not _near_duplicate(archive, other, chosen, settings.near_duplicate):
            chosen.append(other)
    score_of = dict(zip(ids.tolist(), scores.tolist(), strict=True))
    if words is None:
        return [RelatedLink(other, score_of.get(other, 0.0), [], pinned=other in pins) for other in chosen]
    reasons = _reasons(archive, query, chosen, terms, words)
    return [
        RelatedLink(other, score_of.get(other, 0.0),
                    (["pinned by the editor"] if other in pins else [])
                    + reasons[other]
                    + proof.get(other, [])
                    + ([_meaning(cosines[other], spread)] if other in cosines and spread is not None else []),
                    pinned=other in pins)
        for other in chosen
    ]


def _among(ids: np.ndarray, few: set[int]) -> np.ndarray:
    """Which of the ascending ``ids`` are in ``few`` (a handful): a search per member, not a set test per id."""
    found = np.zeros(len(ids), dtype=bool)
    if few and len(ids):
        wanted = np.fromiter(few, dtype=np.int64, count=len(few))
        at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
        found[at[ids[at] == wanted]] = True
    return found


def _top(ids: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best scores, best first, equal scores the higher id first (a full sort's head)."""
    if len(scores) > k:
        cut = np.partition(scores, len(scores) - k)[len(scores) - k]
        inside = np.flatnonzero(scores >= cut)
    else:
        inside = np.arange(len(scores))
    return inside[np.lexsort((-ids[inside], -scores[inside]))][:k]


def _meaning(cosine: float, spread: PairSpread) -> str:
    """The embedding cosine of a link, and where it stands among the archive's pairs."""
    verdict = (f", a match (the closest {spread.share:.0%})" if spread.matches(cosine) else "")
    return (f"meaning: {cosine:.2f} (embeddings), closer than {spread.closer_than(cosine):.0%} of pairs of "
            f"articles here{verdict}")


def _with_evidence(archive: Archive, query: Query, ids: np.ndarray, scores: np.ndarray, older_than: str | None,
                   tagged: np.ndarray | None, cosines: dict[int, float], spread: PairSpread | None, limit: int,
                   words: _Words | None, min_score: float) -> tuple[np.ndarray, np.ndarray, dict[int, list[str]]]:
    """The best candidates with evidence beyond common words, hub pages damped (see :mod:`.evidence`).

    ``spread``: how the archive's pairs score with the embedding model (None: embeddings off).
    Returns their ids, damped scores, and per id what to add to its reasons.
    """
    size = max(POOL, 5 * limit)
    if older_than is not None:  # only older ones can be chosen: fill the pool with those
        head = _top(ids, scores, 50 * size)
        published = archive.published(ids[head].tolist())
        order = head[np.array([published.get(i, "") < older_than for i in ids[head].tolist()], dtype=bool)]
    else:
        order = _top(ids, scores, size)
    ids, scores = ids[order[:size]], scores[order[:size]]
    found = evidence(archive, query, ids, wanted=scores >= min_score)  # damping only lowers a score
    named = words(sorted({t for shared in found.distinctive for t in shared})) if words is not None else {}
    keep, proof = [], {}
    for i, (other, factor, shared) in enumerate(zip(ids.tolist(), found.factor.tolist(), found.distinctive,
                                                   strict=True)):
        match = spread is not None and other in cosines and spread.matches(cosines[other])
        if not (shared or (tagged is not None and tagged[other] >= STRONG_TAG) or match):
            continue  # only common words in common
        keep.append(i)
        if words is None:
            continue
        notes = []
        if shared:
            notes.append(f"distinctive: {', '.join(named[t] for t in shared[:5])} "
                         f"(each in at most {found.limit} articles)")
        if factor < 1.0:
            notes.append(f"hub page (names many topics): score x {factor:.2f}")
        proof[other] = notes
    keep_at = np.array(keep, dtype=np.int64)
    return ids[keep_at], scores[keep_at] * found.factor[keep_at], proof


def _best_first(archive: Archive, ids: np.ndarray, scores: np.ndarray,
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
        published = archive.published([other for other, _ in batch])
        batch.sort(key=lambda c: (c[1], published.get(c[0], ""), c[0]), reverse=True)
        for other, _ in batch:
            if older_than is None or published.get(other, "") < older_than:
                yield other
        start = end


def _near_duplicate(archive: Archive, other: int, chosen: list[int], threshold: float) -> bool:
    """Whether ``other`` reads almost the same as a link already chosen."""
    if threshold >= 1.0 or not chosen:
        return False
    return any(similarity(archive, other, c) >= threshold for c in chosen)


def _shared_terms(archive: Archive, query: Query, terms: QueryTerms,
                  other: DocVector | None) -> tuple[list[int], list[int]]:
    """The heaviest five shared looked-up terms, and the heaviest three of them in either title."""
    if other is None:
        return [], []
    mine, theirs, contrib = terms.contributions(archive, other)
    if not len(mine):
        return [], []
    order = np.argsort(-contrib, kind="stable")
    shared = terms.term_ids[mine[order]].tolist()
    own = archive.positions(query.vector.term_ids, terms.term_ids[mine[order]])
    titled = (query.vector.title[own] > 0) | (other.title[theirs[order]] > 0)
    return shared[:5], [t for t, flag in zip(shared, titled.tolist(), strict=True) if flag][:3]


def _reasons(archive: Archive, query: Query, links: list[int], terms: QueryTerms,
             words_of: _Words) -> dict[int, list[str]]:
    """Why each link matched: its heaviest shared words, title words, and shared tags."""
    vectors = archive.vectors(links)
    shared = {other: _shared_terms(archive, query, terms, vectors.get(other)) for other in links}
    words = words_of(sorted({t for heavy, titled in shared.values() for t in heavy + titled}))
    members = {t: archive.tag_members(t) for t in query.tags}
    out = {}
    for other in links:
        heavy, titled = shared[other]
        reasons = []
        if heavy:
            reasons.append("words: " + ", ".join(words[t] for t in heavy))
            if titled:
                reasons.append("title: " + ", ".join(words[t] for t in titled))
        tags = sorted((t for t in query.tags if other in set(members[t].tolist())),
                      key=lambda t: (-tag_strength(len(members[t]), query.archive_size), t))
        if tags:
            reasons.append("tags: " + ", ".join(f"{t} ({len(members[t])} articles)" for t in tags))
        out[other] = reasons
    return out


class _Words:
    """The query article's own words for term ids (stems are not for people)."""

    def __init__(self, archive: Archive, article_id: int) -> None:
        self._archive, self._article_id = archive, article_id
        self._surface: dict[str, str] | None = None

    def __call__(self, term_ids: list[int]) -> dict[int, str]:
        if not term_ids:
            return {}
        stems = self._archive.stems(term_ids)
        if self._surface is None:  # one reading of the text serves every call
            text = article_texts(self._archive.db, [self._article_id]).get(self._article_id, ("", ""))
            self._surface = ANALYZER.surface_words(*text)
        return {t: self._surface.get(stem, stem) for t, stem in stems.items()}
