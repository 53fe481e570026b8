"""Related links chosen for a whole issue: no article linked twice, the next best taking its place.

Each item first gets a pool of candidates (its own ranking, rules applied:
never itself or another item, never blocked, no near-duplicates side by side).
Then the items choose in rounds, so every item gets its first link before any
gets a second: within a round the item whose best free candidate scores highest
takes it first, so a link two items both want goes where it scores higher and
the other item takes its next best.  An editor's pins stay where they were pinned, even if another item
pins the same article.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..articles import articles_without_url
from ..workspace import Workspace
from .links import RelatedLink, ranked


def issue_related(ws: Workspace, article_ids: Sequence[int], *,
                  limit: int | None = None) -> dict[int, list[RelatedLink]]:
    """Each item's related links (best first), no article linked from two items of the issue."""
    count = ws.settings.related.count if limit is None else limit
    items = list(dict.fromkeys(article_ids))
    if count <= 0 or not items:
        return {a: [] for a in items}
    # Enough candidates that every item still has ``count`` after its betters took theirs.
    pool_size = count * len(items)
    unlinkable = sorted(articles_without_url(ws))  # no public URL yet: nothing a reader could click
    found = ranked(ws, items, exclude=[*items, *unlinkable], limit=pool_size)  # scored together
    pools = {a: found.get(a, []) for a in items}
    chosen: dict[int, list[RelatedLink]] = {a: [] for a in items}
    used: set[int] = set()
    for item, links in pools.items():  # pins first, kept for the item that pinned them
        for link in links:
            if link.pinned and len(chosen[item]) < count:
                chosen[item].append(link)
                used.add(link.article_id)
    for _ in range(count):  # rounds: every item gets its next link before any gets one more
        waiting = [item for item in items if len(chosen[item]) < count]
        while waiting:
            best = [(_next(pools[item], used), -position, item) for position, item in enumerate(waiting)]
            best = [b for b in best if b[0] is not None]
            if not best:
                break
            link, _, item = max(best, key=lambda b: (b[0].score, b[1]))  # on a tie, the earlier item
            chosen[item].append(link)
            used.add(link.article_id)
            waiting.remove(item)
    rank_of = {(item, link.article_id): rank for item, links in pools.items() for rank, link in enumerate(links)}
    return {item: sorted(links, key=lambda link: rank_of[(item, link.article_id)])
            for item, links in chosen.items()}


def _next(pool: list[RelatedLink], used: set[int]) -> RelatedLink | None:
    """The best link of ``pool`` no item has taken yet."""
    return next((link for link in pool if link.article_id not in used), None)
