"""Ranking many articles at once (``--all``, an issue's items) gives each the very list it gets on its own."""

from __future__ import annotations

import random

import pytest
from related_helpers import add_article, with_settings

from newsletter.related import all_related, block_related, on_articles_changed, pin_related, related_articles
from newsletter.related.links import ranked

SYLLABLES = "ka lo mi ne ru sa ti vo be da fu gi ho ja ke lu ma ni po qu re si to ve wa".split()


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))


def generated_archive(ws, count: int = 160) -> list[int]:
    """Made-up articles on a dozen topics, with near-copies, round-ups, shared dates, pins and blocks.

    Most are stored by a rebuild (packed segments); the last ones one at a time (the delta), and a
    few are changed afterwards (masked segment postings), so every storage path is read.
    """
    rng = random.Random(7)
    topics = [[_word(rng) for _ in range(25)] for _ in range(12)]
    common = [_word(rng) for _ in range(300)]
    names = [[_word(rng) + _word(rng) for _ in range(4)] for _ in range(count)]  # each article's own names
    ids, bodies = [], []
    for n in range(count):
        first, second = rng.sample(range(12), 2)
        if n % 40 == 39:  # a round-up: names the topics of many earlier articles
            words = [w for m in rng.sample(range(n), 25) for w in names[m] + rng.sample(topics[m % 12], 3)]
            tags = ["roundup"]
        else:
            words = (rng.choices(topics[first], k=60) + rng.choices(topics[second], k=25)
                     + rng.choices(common, k=80) + names[n])
            tags = [f"topic-{first}"] + ([f"topic-{second}"] if n % 3 == 0 else []) + (["misc"] if n % 2 else [])
        rng.shuffle(words)
        body = ". ".join(" ".join(words[i : i + 10]) for i in range(0, len(words), 10))
        if n % 25 == 24:  # a near-copy of the article before it
            body = bodies[-1] + " " + words[0]
        bodies.append(body)
        title = " ".join(rng.sample(topics[first][:8], 3))
        published = f"2026-{1 + n // 28:02d}-{1 + (n // 2) % 28:02d}T08:00:00+00:00"  # two a day: equal dates
        ids.append(add_article(ws, f"a{n}", title, body, tags, published, notify=n >= count - 30))
    from newsletter.related import rebuild_index

    rebuild_index(ws)
    for n in range(count - 30, count):  # these go in one at a time: the delta
        on_articles_changed(ws, [ids[n]])
    ws.db.execute("UPDATE articles SET body_text = body_text || ' extra words here' WHERE id IN (?, ?, ?)",
                  [ids[3], ids[50], ids[count - 5]])
    on_articles_changed(ws, [ids[3], ids[50], ids[count - 5]])
    pin_related(ws, ids[10], ids[100])
    block_related(ws, ids[11], related_articles(ws, ids[11], limit=1)[0].article_id)
    return ids


def lists(links) -> list[tuple]:
    return [(link.article_id, link.score, link.reasons, link.pinned) for link in links]


@pytest.mark.parametrize("settings", [{}, {"include_newer": False, "count": 5, "tag_weight": 1.5}])
def test_all_at_once_equals_one_at_a_time(workspace, settings):
    generated_archive(workspace)
    ws = with_settings(workspace, **settings)
    together = [(i, lists(links)) for i, links in all_related(ws, workers=0)]
    alone = [(i, lists(related_articles(ws, i))) for i, _ in together]
    assert together == alone
    assert len(together) == 160
    assert sum(len(links) for _, links in together) > 2 * 160  # not a pass by empty lists
    assert any("hub page" in " ".join(r for link in links for r in link[2]) for _, links in together)
    assert any(link[3] for _, links in together for link in links)  # the pin is there
    unexplained = [(i, [(link.article_id, link.score, link.pinned) for link in links])
                   for i, links in all_related(ws, workers=0, explain=False)]
    assert unexplained == [(i, [(a, s, p) for a, s, _, p in links]) for i, links in together]


def test_an_issue_scored_together_equals_each_item_alone(workspace):
    ids = generated_archive(workspace)
    items = ids[5:15]
    together = ranked(workspace, items, exclude=items, limit=9)
    for item in items:
        assert lists(together[item]) == lists(related_articles(workspace, item, exclude=items, limit=9))
    assert all(together[item] for item in items)
