"""What a link must show beyond common words, and the damping of hub pages (digests, round-ups).

Both look at the best candidates' own terms, with thresholds relative to the
archive's size ``N`` (no constant tuned to one blog):

- a term is *distinctive* when at most ``3 sqrt(N)`` articles hold it, and no
  more than hold the query's median term (at least two, or nothing can share it); a link needs a distinctive shared term,
  a shared tag of strength >= 0.5 (on at most about ``sqrt(N)`` articles), or an
  embedding match, else it rides on common words and is left out;
- a *hub* holds many rare terms (``df <= sqrt(N)``): a monthly digest or a
  round-up names the topics of many other posts.  A candidate with more than
  twice the median rare-term count of the candidates around it has its score
  divided by the square root of how far above that it is.

Measured with ``bench/related_quality.py --hubs``: twelve synthetic round-ups in
the 349 recipes took 10% of all top-3 places; damped, 2%, for a cost of 0.003
strict precision when there are no hubs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .archive import Archive
from .ranking import Query

HUB_SPREAD = 2.0  # a hub holds more than this many times the median rare-term count of its neighbours
POOL = 20  # best candidates looked at, at least, per link asked for: 5 x the count


@dataclass(frozen=True)
class Evidence:
    """Per candidate (aligned with ``ids``): the hub damping factor and its distinctive shared terms."""

    ids: np.ndarray
    factor: np.ndarray
    distinctive: list[list[int]]  # term ids shared with the query, heaviest first (see distinctive_limit)
    limit: int  # the most articles a distinctive term is on


def distinctive_limit(n: int, query_df: np.ndarray | None = None) -> float:
    """At most ``3 sqrt(N)`` articles, and no more than hold the query's median term.

    The second bound matters on a small archive, where ``3 sqrt(N)`` is most of it.
    """
    limit = 3.0 * math.sqrt(n)
    if query_df is not None and len(query_df):
        limit = min(limit, max(2.0, float(np.median(query_df))))
    return limit


def rare_limit(n: int) -> float:
    return math.sqrt(n)


def evidence(archive: Archive, query: Query, ids: np.ndarray) -> Evidence:
    """Hub factors and distinctive shared terms of the candidates ``ids`` (a few dozen)."""
    n = query.archive_size
    vectors = archive.vectors(ids.tolist())
    query_terms = query.vector.term_ids
    q_df = archive.df(query_terms)
    limit = distinctive_limit(n, q_df)
    q_distinctive = set(query_terms[(q_df >= 2) & (q_df <= limit)].tolist())
    rare = archive.rare_counts(ids.tolist())
    own = int(((q_df >= 2) & (q_df <= rare_limit(n))).sum())
    typical = float(np.median(np.append(rare, own))) if len(rare) else 0.0
    above = rare / max(HUB_SPREAD * typical, 1.0)
    factor = 1.0 / np.sqrt(np.maximum(above, 1.0))
    weight = dict(zip(query_terms.tolist(), (query.vector.body / np.log1p(np.maximum(q_df, 1))).tolist(),
                      strict=True))  # the query's own weight of a term, rarer first
    shared = [sorted(q_distinctive.intersection(vectors[i].term_ids.tolist()), key=lambda t: (-weight[t], t))
              if i in vectors else [] for i in ids.tolist()]
    return Evidence(ids, factor, shared, int(limit))
