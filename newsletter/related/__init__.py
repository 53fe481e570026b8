"""Related articles: for each article, the others a reader would pick next.

Public API (the contract other areas code against): :func:`on_articles_changed`
(called by the importer after storing articles) and :func:`related_articles`
(called by the issue build).  This first version ranks on the fly; the stored,
incremental index replaces it behind the same names.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..workspace import Workspace

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class RelatedLink:
    """One related article for a given article: its id, a score and why it was picked."""

    article_id: int
    score: float
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"article_id": self.article_id, "score": round(self.score, 4), "reasons": list(self.reasons)}


def _has_articles(ws: Workspace) -> bool:
    return "articles" in ws.db.table_names()


def on_articles_changed(ws: Workspace, ids: Iterable[int]) -> None:
    """Tell the related index that these articles were added or changed (no-op for now)."""
    list(ids)


def _terms(title: str, body: str) -> Counter:
    counts: Counter = Counter()
    for word in _WORD.findall((title or "").lower()):
        counts[word] += 2
    for word in _WORD.findall((body or "").lower()):
        counts[word] += 1
    return counts


def related_articles(
    ws: Workspace, article_id: int, *, exclude: Iterable[int] = (), limit: int | None = None
) -> list[RelatedLink]:
    """The most related other articles of ``article_id``, best first ([] when there are none)."""
    if not _has_articles(ws):
        return []
    rows = ws.db.execute("SELECT id, title, body_text, tags, published_at FROM articles").fetchall()
    docs = {r[0]: (_terms(r[1], r[2]), set(json.loads(r[3] or "[]")), r[4] or "") for r in rows}
    if article_id not in docs:
        return []
    df: Counter = Counter()
    for terms, _, _ in docs.values():
        df.update(terms.keys())
    n = len(docs)

    def vector(terms: Counter) -> dict[str, float]:
        vec = {t: (1 + math.log(c)) * math.log(n / df[t]) for t, c in terms.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    query = vector(docs[article_id][0])
    skip = set(exclude) | {article_id}
    scored = []
    for other, (terms, tags, published) in docs.items():
        if other in skip:
            continue
        vec = vector(terms)
        score = sum(w * vec.get(t, 0.0) for t, w in query.items())
        shared = sorted(tags & docs[article_id][1])
        if score > 0:
            reasons = [f"shared tag: {t}" for t in shared]
            scored.append((score, published, other, reasons))
    scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
    count = limit if limit is not None else ws.settings.related.count
    min_score = ws.settings.related.min_score
    return [RelatedLink(o, s, r) for s, _, o, r in scored if s >= min_score][:count]
