"""related_articles: the rules (self, same issue, threshold, pins, blocks, ties, near-duplicates)."""

from __future__ import annotations

import pytest
from related_helpers import ARTICLES, add_article, add_samples, with_settings

from newsletter.errors import InvalidInput, NotFound
from newsletter.related import (
    RelatedLink,
    block_related,
    clear_related_edit,
    edits_for,
    on_articles_changed,
    pin_related,
    related_articles,
)


def ids_of(links: list[RelatedLink]) -> list[int]:
    return [link.article_id for link in links]


def test_workspace_without_articles_gives_nothing_and_creates_no_articles_table(workspace):
    on_articles_changed(workspace, [1, 2])
    assert related_articles(workspace, 1) == []
    assert "articles" not in workspace.db.table_names()


def test_topics_find_each_other_never_itself(workspace):
    ids = add_samples(workspace)
    for article_id in ids.values():
        links = related_articles(workspace, article_id, limit=5)
        assert article_id not in ids_of(links)
        assert len(set(ids_of(links))) == len(links)
    top = related_articles(workspace, ids["sourdough-loaf"], limit=2)
    assert set(ids_of(top)) == {ids["sourdough-starter"], ids["rye-bread"]}
    assert related_articles(workspace, ids["interval-running"], limit=1)[0].article_id == ids["long-run"]
    assert top[0].score >= top[1].score > 0


def test_reasons_name_shared_words_and_tags(workspace):
    ids = add_samples(workspace)
    link = related_articles(workspace, ids["sourdough-loaf"], limit=1)[0]
    text = " ".join(link.reasons)
    assert "starter" in text
    assert "sourdough (2 articles)" in text


def test_same_issue_items_are_excluded(workspace):
    ids = add_samples(workspace)
    issue = [ids["sourdough-loaf"], ids["sourdough-starter"], ids["compost"]]
    links = related_articles(workspace, ids["sourdough-loaf"], exclude=issue, limit=5)
    assert not set(ids_of(links)) & set(issue)
    assert ids["rye-bread"] in ids_of(links)


def test_threshold_leaves_out_weak_matches(workspace):
    ids = add_samples(workspace)
    loose = related_articles(with_settings(workspace, min_score=0.0), ids["compost"], limit=7)
    strict = with_settings(workspace, min_score=0.3)
    kept = related_articles(strict, ids["compost"], limit=7)
    assert len(kept) < len(loose)
    assert all(link.score >= 0.3 for link in kept)
    assert ids_of(kept) == [i for i in ids_of(loose) if i in ids_of(kept)]
    assert related_articles(with_settings(workspace, min_score=5.0), ids["compost"]) == []


def test_default_count_and_limit(workspace):
    ids = add_samples(workspace)
    assert len(related_articles(with_settings(workspace, min_score=0.0), ids["compost"])) == 3
    assert len(related_articles(with_settings(workspace, min_score=0.0, count=1), ids["compost"])) == 1
    assert related_articles(workspace, ids["compost"], limit=0) == []


def test_a_link_needs_a_distinctive_shared_term_not_only_common_words(workspace):
    ids = add_samples(workspace)
    links = related_articles(with_settings(workspace, min_score=0.0), ids["long-run"], limit=5)
    assert ids_of(links) == [ids["interval-running"]]  # the bread and garden posts share only common words
    assert any(r.startswith("distinctive: run") for r in links[0].reasons)
    common = "Every week we think about what works, what helps and what people say about it. "
    hobbies = ["Kayak paddles, dry bags, spray skirts, buoyancy aids, a bilge pump and a towline for the lake.",
               "Knitting needles, merino yarn, cable patterns, stitch markers, blocking mats and a cosy scarf.",
               "Chess openings, pawn structures, rook endgames, tactics puzzles, blitz clocks and tournament rules.",
               "Birdsong at dawn: warblers, thrushes, reed buntings, binoculars, field guides and a marsh hide."]
    posts = [add_article(workspace, f"hobby-{n}", f"Notes on {text.split()[0]}", common + text, [],
                         f"2026-10-2{n}T08:00:00+00:00") for n, text in enumerate(hobbies)]
    assert related_articles(with_settings(workspace, min_score=0.0), posts[0]) == []


def test_a_shared_specific_tag_is_evidence_on_its_own(workspace):
    ids = add_samples(workspace)
    one = add_article(workspace, "kayak", "Kayak paddles", "Paddles and dry bags for a calm lake.", ["boating"],
                      "2026-10-20T08:00:00+00:00")
    two = add_article(workspace, "yarn", "Knitting yarn", "Needles and yarn for a winter scarf.", ["boating"],
                      "2026-10-21T08:00:00+00:00")
    links = related_articles(with_settings(workspace, min_score=0.0), one)
    assert ids_of(links) == [two] and "tags: boating (2 articles)" in links[0].reasons
    assert ids["compost"] not in ids_of(links)


def test_pins_come_first_and_blocks_never_show(workspace):
    ids = add_samples(workspace)
    loaf = ids["sourdough-loaf"]
    pin_related(workspace, loaf, ids["long-run"])  # unrelated, scores under the threshold
    block_related(workspace, loaf, ids["sourdough-starter"])  # the best match
    links = related_articles(workspace, loaf, limit=3)
    assert links[0].article_id == ids["long-run"]
    assert "pinned by the editor" in links[0].reasons
    assert ids["sourdough-starter"] not in ids_of(links)
    assert ids["rye-bread"] in ids_of(links)
    assert [(e.other_id, e.action) for e in edits_for(workspace, loaf)] == [
        (ids["long-run"], "pin"), (ids["sourdough-starter"], "block")]
    # same issue beats a pin; clearing the edits restores the ranking
    assert ids["long-run"] not in ids_of(related_articles(workspace, loaf, exclude=[ids["long-run"]]))
    assert clear_related_edit(workspace, loaf, ids["long-run"])
    assert clear_related_edit(workspace, loaf, ids["sourdough-starter"])
    assert not clear_related_edit(workspace, loaf, ids["sourdough-starter"])
    assert related_articles(workspace, loaf, limit=1)[0].article_id == ids["sourdough-starter"]


def test_pin_refuses_self_and_unknown_articles(workspace):
    ids = add_samples(workspace)
    with pytest.raises(InvalidInput):
        pin_related(workspace, ids["compost"], ids["compost"])
    with pytest.raises(NotFound):
        block_related(workspace, ids["compost"], 9999)


def test_ties_go_to_the_more_recent_article(workspace):
    title, body, tags = ARTICLES["tomato-pruning"]
    query = add_article(workspace, "q", "Tomato plants", body, [], "2026-09-01T00:00:00+00:00")
    older = add_article(workspace, "older", title, body, tags, "2026-09-02T00:00:00+00:00")
    newer = add_article(workspace, "newer", title, body, tags, "2026-09-03T00:00:00+00:00")
    add_article(workspace, "other", *ARTICLES["compost"][:2], [], "2026-09-04T00:00:00+00:00")
    links = related_articles(with_settings(workspace, near_duplicate=1.0), query, limit=2)
    assert ids_of(links) == [newer, older]
    assert links[0].score == pytest.approx(links[1].score)


def test_near_duplicates_are_not_shown_side_by_side(workspace):
    ids = add_samples(workspace)
    title, body, tags = ARTICLES["sourdough-starter"]
    copy = add_article(workspace, "starter-again", title + " (updated)", body + " Keep it in the fridge.", tags,
                       "2026-10-20T08:00:00+00:00")
    shown = ids_of(related_articles(workspace, ids["sourdough-loaf"], limit=3))
    assert len({copy, ids["sourdough-starter"]} & set(shown)) == 1
    both = ids_of(related_articles(with_settings(workspace, near_duplicate=1.0), ids["sourdough-loaf"], limit=3))
    assert {copy, ids["sourdough-starter"]} <= set(both)


def test_only_older_articles_when_include_newer_is_off(workspace):
    ids = add_samples(workspace)
    ws = with_settings(workspace, include_newer=False, min_score=0.0)
    assert related_articles(ws, ids["sourdough-starter"]) == []  # the oldest article
    links = related_articles(ws, ids["rye-bread"], limit=5)
    assert set(ids_of(links)) <= {ids["sourdough-starter"], ids["sourdough-loaf"]}
    assert links


def test_a_specific_shared_tag_outweighs_a_common_one(workspace):
    body = "Notes from the week."
    query = add_article(workspace, "q", "Week notes", body, ["common", "rare"], "2026-01-01T00:00:00+00:00")
    rare = add_article(workspace, "r", "Other notes", body, ["rare"], "2026-01-02T00:00:00+00:00")
    commons = [add_article(workspace, f"c{i}", f"Notes {i}", body, ["common"], f"2026-01-{3 + i:02d}T00:00:00+00:00")
               for i in range(4)]
    for i in range(8):
        add_article(workspace, f"x{i}", f"Misc {i}", "Something else entirely.", [], "2025-12-01T00:00:00+00:00")
    links = related_articles(with_settings(workspace, min_score=0.0, near_duplicate=1.0), query, limit=5)
    assert links[0].article_id == rare
    assert set(ids_of(links[1:])) <= set(commons)
    assert links[0].score > links[1].score


def test_articles_without_text_match_on_tags_alone(workspace):
    ids = add_samples(workspace)
    bare = add_article(workspace, "photo-post", "", "", ["sourdough"], "2026-10-25T08:00:00+00:00")
    links = related_articles(with_settings(workspace, min_score=0.0), bare, limit=5)
    assert set(ids_of(links)) == {ids["sourdough-starter"], ids["sourdough-loaf"]}
    assert links[0].reasons == ["tags: sourdough (3 articles)"]
    from newsletter.related.ranking import tag_strength

    assert links[0].score == pytest.approx(0.5 * tag_strength(3, 9))  # default tag_weight 0.5, no text
