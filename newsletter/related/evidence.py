"""What a link must show beyond common words, and the damping of hub pages (digests, round-ups).

Both look at the best candidates' own terms, with thresholds relative to the
archive's size ``N`` (no constant tuned to one blog):

- a term is *distinctive* when at most ``3 sqrt(N)`` articles hold it, and no
  more than hold the query's median term (at least two, or nothing can share it); a link needs a distinctive shared term,
  a shared tag of strength >= 0.5 (on at most about ``sqrt(N)`` articles), or an
  embedding match, else it rides on common words and is left out;
- an *embedding match* is a pair whose cosine beats all but ``3 sqrt(N) / (N - 1)``
  (at most half) of this archive's pairs with the model in use: an article's
  ``3 sqrt(N)`` closest in meaning, on average, as it may share a distinctive term
  with ``3 sqrt(N)`` others.  A rank, not a cosine: models spread cosines
  differently (a static model puts most pairs of posts above 0.7, MiniLM around
  0.4, and not in the same shape), and a rank means the same for all of them;
- a *hub* holds many rare terms (``df <= sqrt(N)``): a monthly digest or a
  round-up names the topics of many other posts.  A candidate with more than
  twice the median rare-term count of the candidates around it has its score
  divided by the square root of how far above that it is.

Measured with ``bench/related_quality.py --hubs``: twelve synthetic monthly
round-ups (20 posts each) in the 349 recipes took 12.4% of all top-3 places;
damped, 2.5% (strict precision with them 0.515 -> 0.559), for a cost of 0.004
strict precision when there are no hubs.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from .archive import Archive
from .ranking import Query

HUB_SPREAD = 2.0  # a hub holds more than this many times the median rare-term count of its neighbours
SHOWN = 5  # distinctive shared terms named in a link's reasons
POOL = 20  # best candidates looked at, at least, per link asked for: 5 x the count


@dataclass(frozen=True)
class Evidence:
    """Per candidate (aligned with ``ids``): the hub damping factor and its distinctive shared terms."""

    ids: np.ndarray
    factor: np.ndarray
    distinctive: list[list[int]]  # up to SHOWN term ids shared with the query, heaviest first (distinctive_limit)
    limit: int  # the most articles a distinctive term is on


def distinctive_limit(n: int, query_df: np.ndarray | None = None) -> float:
    """At most ``3 sqrt(N)`` articles, and no more than hold the query's median term.

    The second bound matters on a small archive, where ``3 sqrt(N)`` is most of it.
    """
    limit = 3.0 * math.sqrt(n)
    if query_df is not None and len(query_df):
        ordered = np.sort(query_df)  # the median, without np.median's overhead (called once per query)
        middle = len(ordered) // 2
        median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0
        limit = min(limit, max(2.0, float(median)))
    return limit


@dataclass(frozen=True)
class PairSpread:
    """What pairs of this archive's articles score with the embedding model in use (sorted cosines of a
    sample, see :func:`.embeddings.pair_cosines`), and the cosine an embedding match must beat."""

    cosines: np.ndarray
    share: float  # of pairs that are embedding matches
    threshold: float

    @classmethod
    def of(cls, cosines: np.ndarray, n: int) -> PairSpread:
        """The spread of ``cosines`` in an archive of ``n`` articles; no pairs: nothing matches."""
        share = min(0.5, distinctive_limit(n) / max(n - 1, 1))
        if not len(cosines):
            return cls(cosines, share, math.inf)
        return cls(cosines, share, float(np.quantile(cosines, 1.0 - share)))

    def matches(self, cosine: float) -> bool:
        return cosine > self.threshold

    def closer_than(self, cosine: float) -> float:
        """The share of the archive's pairs that score below ``cosine``."""
        return float(np.searchsorted(self.cosines, cosine, side="left")) / max(len(self.cosines), 1)


def rare_limit(n: int) -> float:
    return math.sqrt(n)


def evidence(archive: Archive, query: Query, ids: np.ndarray, wanted: np.ndarray | None = None) -> Evidence:
    """Hub factors and distinctive shared terms of the candidates ``ids`` (a few dozen).

    ``wanted``: which candidates need their shared terms (the others could not be chosen anyway);
    the hub factors always look at all of them.
    """
    n = query.archive_size
    query_terms = query.vector.term_ids
    q_df = archive.df(query_terms)
    limit = distinctive_limit(n, q_df)
    q_distinctive = (q_df >= 2) & (q_df <= limit)
    rare = archive.rare_counts(ids.tolist())
    own = int(((q_df >= 2) & (q_df <= rare_limit(n))).sum())
    typical = float(statistics.median([*rare.tolist(), own])) if len(rare) else 0.0
    above = rare / max(HUB_SPREAD * typical, 1.0)
    factor = 1.0 / np.sqrt(np.maximum(above, 1.0))
    looked = ids if wanted is None else ids[wanted]
    found = dict(zip(looked.tolist(), _shared(archive, query, q_df, q_distinctive, looked), strict=True))
    shared = [found.get(i, []) for i in ids.tolist()]
    return Evidence(ids, factor, shared, int(limit))


def _shared(archive: Archive, query: Query, q_df: np.ndarray, distinctive: np.ndarray,
            ids: np.ndarray) -> list[list[int]]:
    """Per candidate, the distinctive query terms it holds, heaviest for the query first (ties: lower id)."""
    terms = query.vector.term_ids[distinctive]
    if not len(terms) or not len(ids):
        return [[] for _ in range(len(ids))]
    weight = (query.vector.body / np.log1p(np.maximum(q_df, 1)))[distinctive]  # the query's own weight, rarer first
    owner, held = archive.terms_of(ids)
    position = archive.positions(terms, held)
    hit = position >= 0
    owner, position = owner[hit], position[hit]
    order = np.lexsort((terms[position], -weight[position], owner))
    owner, found = owner[order], terms[position[order]]
    starts = np.searchsorted(owner, np.arange(len(ids)))
    ends = np.minimum(np.searchsorted(owner, np.arange(len(ids)), side="right"), starts + SHOWN)
    return [found[a:b].tolist() for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
