"""issue_related: links chosen for the whole issue, no article linked from two of its items."""

from __future__ import annotations

from collections import Counter

from related_helpers import add_samples, with_settings

from issues.build import build_issue
from newsletter.articles import all_articles, import_sources
from newsletter.clock import week_of
from newsletter.related import issue_related, pin_related, related_articles
from newsletter.samples import ARTICLES_DIR


def test_a_link_two_items_want_goes_where_it_scores_higher_and_the_other_takes_its_next_best(workspace):
    ids = add_samples(workspace)
    ws = with_settings(workspace, min_score=0.0)
    items = [ids["sourdough-starter"], ids["sourdough-loaf"]]
    apart = {item: related_articles(ws, item, exclude=items, limit=1)[0] for item in items}
    assert apart[items[0]].article_id == apart[items[1]].article_id == ids["rye-bread"]  # both want it
    chosen = issue_related(ws, items, limit=1)
    winner = max(items, key=lambda item: apart[item].score)
    loser = next(item for item in items if item != winner)
    assert [link.article_id for link in chosen[winner]] == [ids["rye-bread"]]
    assert [link.article_id for link in chosen[loser]] == [
        related_articles(ws, loser, exclude=items + [ids["rye-bread"]], limit=1)[0].article_id]


def test_every_item_gets_a_first_link_before_any_gets_a_second(workspace):
    ids = add_samples(workspace)
    ws = with_settings(workspace, min_score=0.0)
    items = [ids["tomato-seedlings"], ids["tomato-pruning"], ids["sourdough-starter"]]
    chosen = issue_related(ws, items, limit=3)
    # both tomato posts want the compost post (their only other match): it goes where it scores higher
    assert {item: [link.article_id for link in chosen[item]] for item in items} == {
        items[0]: [], items[1]: [ids["compost"]], items[2]: [ids["sourdough-loaf"], ids["rye-bread"]]}
    assert not [a for a, n in Counter(link.article_id for links in chosen.values() for link in links).items()
                if n > 1]


def test_pins_stay_with_the_item_that_pinned_them(workspace):
    ids = add_samples(workspace)
    items = [ids["sourdough-starter"], ids["sourdough-loaf"]]
    pin_related(workspace, ids["sourdough-loaf"], ids["compost"])
    pin_related(workspace, ids["sourdough-starter"], ids["compost"])
    chosen = issue_related(workspace, items)
    for item in items:
        assert chosen[item][0].article_id == ids["compost"] and chosen[item][0].pinned
    assert issue_related(workspace, []) == {}
    assert issue_related(workspace, items, limit=0) == {item: [] for item in items}


def test_the_sample_week_links_no_article_twice(workspace):
    import_sources(workspace, [ARTICLES_DIR])
    latest = max(a.published_at for a in all_articles(workspace))
    issue = build_issue(workspace, week_of(latest, workspace.settings.site.timezone))
    items = [item.article_id for item in issue.items]
    item_by_item = Counter(link.article_id for item in items
                           for link in related_articles(workspace, item, exclude=items))
    assert max(item_by_item.values()) > 1  # chosen item by item, the same links come back
    linked = Counter(link.article_id for item in issue.items for link in item.related)
    assert max(linked.values()) == 1
    assert all(item.related for item in issue.items)
    assert sum(linked.values()) >= len(item_by_item)  # none lost: every link once, more of them
