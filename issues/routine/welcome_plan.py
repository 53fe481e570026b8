"""Which archive articles the welcome series shows: the editor's pins, then the most central articles.

An article's centrality is how often it appears in the other articles' related
lists (the related index's own judgement of what a reader picks next), ties
broken by the summed scores, then the newer article.  Two articles are on one
topic when each is in the other's related list (a mutual pick is what sets a topic
apart from a passing link); the series never shows two.
The plan is kept for a day, so a busy run does not rank the whole archive again.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from newsletter import clock
from newsletter.articles import get_article
from newsletter.errors import ConfigError, NotFound
from newsletter.related import all_related
from newsletter.workspace import Workspace

from .store import marker, set_marker

PLAN_KEY = "welcome_plan"
PLAN_LENGTH = 500  # more than any series shows, even to a reader who got many articles in issues
PLAN_MAX_AGE = timedelta(days=1)


def _pinned(ws: Workspace, pins: tuple[str, ...]) -> list[int]:
    ids = []
    for key in pins:
        try:
            ids.append(int(get_article(ws, key).id or 0))
        except NotFound:
            raise ConfigError(f"[welcome] articles names {key!r}, which is not in the archive; use a slug, URL or "
                              "id from 'newsletter articles list'") from None
    return ids


def rank_central(ws: Workspace, pins: list[int], length: int = PLAN_LENGTH) -> list[int]:
    """Pins first, then articles by centrality, leaving out any on the topic of one already taken."""
    counts: Counter[int] = Counter()
    strength: dict[int, float] = defaultdict(float)
    picks: dict[int, set[int]] = {}
    for article_id, links in all_related(ws, explain=False):
        picks[article_id] = {link.article_id for link in links}
        for link in links:
            counts[link.article_id] += 1
            strength[link.article_id] += link.score
    neighbours = {a: {b for b in chosen if a in picks.get(b, ())} for a, chosen in picks.items()}
    indexed = list(picks)
    plan, taken = [], set()
    for article_id in pins:
        if article_id not in taken:
            plan.append(article_id)
            taken.add(article_id)
    for article_id in sorted(indexed, key=lambda a: (-counts[a], -strength[a], -a)):
        if len(plan) >= length:
            break
        if article_id in taken or neighbours.get(article_id, set()) & taken:
            continue
        plan.append(article_id)
        taken.add(article_id)
    return plan


def welcome_plan(ws: Workspace, pins: tuple[str, ...]) -> list[int]:
    """The series' articles in order (cached for a day, or until the pins change)."""
    now = clock.utcnow()
    stored = marker(ws, PLAN_KEY)
    if stored:
        data = json.loads(stored)
        fresh = now - datetime.fromisoformat(data["at"]) < PLAN_MAX_AGE
        if fresh and data["pins"] == list(pins):
            return data["plan"]
    plan = rank_central(ws, _pinned(ws, pins))
    set_marker(ws, PLAN_KEY, json.dumps({"at": now.isoformat(timespec="seconds"), "pins": list(pins), "plan": plan}))
    return plan

