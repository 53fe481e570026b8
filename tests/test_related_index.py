"""The stored index: incremental updates answer exactly as a rebuild; changes and deletions follow."""

from __future__ import annotations

from pathlib import Path

import pytest
from related_helpers import ARTICLES, add_article, add_samples, with_settings

from newsletter.related import (
    index_articles,
    on_articles_changed,
    rebuild_index,
    related_articles,
    sync_index,
)

SAMPLES = Path(__file__).resolve().parent.parent / "newsletter" / "samples" / "articles"


def every_list(ws) -> dict[int, list[tuple[int, float]]]:
    loose = with_settings(ws, min_score=0.0)
    ids = [r[0] for r in ws.db.execute("SELECT id FROM articles ORDER BY id")]
    return {i: [(link.article_id, link.score) for link in related_articles(loose, i, limit=5)] for i in ids}


def assert_same_lists(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert [i for i, _ in a[key]] == [i for i, _ in b[key]], key
        assert [s for _, s in a[key]] == pytest.approx([s for _, s in b[key]], rel=1e-9)


def test_incremental_updates_give_the_same_lists_as_a_rebuild(workspace):
    ids = add_samples(workspace)  # indexed one article at a time, as the importer does
    title, body, tags = ARTICLES["compost"]
    workspace.db.execute("UPDATE articles SET body_text = ?, tags = '[\"garden\", \"soil\"]' WHERE id = ?",
                         [body + " Worms move in when the compost cools.", ids["compost"]])
    on_articles_changed(workspace, [ids["compost"]])
    workspace.db.execute("DELETE FROM articles WHERE id = ?", [ids["rye-bread"]])
    on_articles_changed(workspace, [ids["rye-bread"]])
    add_article(workspace, "worms", "Worms in the compost heap", "Worms turn compost into soil for the garden.",
                ["soil"], "2026-10-30T08:00:00+00:00")
    incremental = every_list(workspace)
    assert ids["rye-bread"] not in incremental
    assert rebuild_index(workspace) == len(ids)  # 8 - 1 deleted + 1 added
    assert_same_lists(incremental, every_list(workspace))


def test_a_rebuild_in_several_segments_gives_the_lists_of_one_segment(workspace, monkeypatch):
    from newsletter.related import postings

    add_samples(workspace)
    rebuild_index(workspace)  # one segment: written directly
    whole = every_list(workspace)
    monkeypatch.setattr(postings, "SEGMENT_SIZE", 3)  # several: staged, then copied in key order
    rebuild_index(workspace)
    assert workspace.db.execute("SELECT count(DISTINCT segment) FROM related_segments").fetchone()[0] > 1
    assert_same_lists(whole, every_list(workspace))


def test_changes_after_a_rebuild_and_delta_merges_match_a_fresh_rebuild(workspace, monkeypatch):
    from newsletter.related import postings

    monkeypatch.setattr(postings, "SEGMENT_SIZE", 3)  # segments of 3 articles; the delta merges at 3
    ids = add_samples(workspace)
    rebuild_index(workspace)
    assert workspace.db.execute("SELECT count(DISTINCT segment) FROM related_segments").fetchone()[0] == 3
    for slug in ("compost", "long-run"):  # packed in segments: changed, so masked there and re-added
        workspace.db.execute("UPDATE articles SET body_text = body_text || ' Compost the peelings.' WHERE id = ?",
                             [ids[slug]])
        on_articles_changed(workspace, [ids[slug]])
    workspace.db.execute("DELETE FROM articles WHERE id = ?", [ids["sourdough-loaf"]])
    on_articles_changed(workspace, [ids["sourdough-loaf"]])
    assert workspace.db.execute("SELECT count(*) FROM related_tombstones").fetchone()[0] == 3
    assert workspace.db.execute("SELECT count(*) FROM related_postings").fetchone()[0] > 0  # 2 in the delta
    add_article(workspace, "bread-0", "Sourdough bread", "Starter, flour and a hot oven.", ["baking"],
                "2026-11-01T08:00:00+00:00")
    assert workspace.db.execute("SELECT count(*) FROM related_postings").fetchone()[0] == 0  # merged
    add_article(workspace, "bread-1", "Sourdough bread again", "Starter, flour and a cold oven.", [],
                "2026-11-02T08:00:00+00:00")
    incremental = every_list(workspace)
    rebuild_index(workspace)
    assert_same_lists(incremental, every_list(workspace))


def test_a_rebuild_with_worker_processes_equals_one_without(workspace):
    add_samples(workspace)
    assert rebuild_index(workspace, workers=0) == len(ARTICLES)
    alone = every_list(workspace)
    assert rebuild_index(workspace, workers=2) == len(ARTICLES)
    assert_same_lists(alone, every_list(workspace))


def test_a_rebuild_leaves_secure_delete_on_for_the_rest_of_the_connection(workspace):
    add_samples(workspace)
    rebuild_index(workspace)
    rebuild_index(workspace)  # the second one empties a full index first (without zeroing its pages)
    assert workspace.db.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_unchanged_articles_are_not_reindexed(workspace):
    ids = add_samples(workspace)
    assert index_articles(workspace, ids.values()) == 0
    workspace.db.execute("UPDATE articles SET title = 'Tomato seedlings on a windowsill' WHERE id = ?",
                         [ids["tomato-seedlings"]])
    assert index_articles(workspace, ids.values()) == 1


def test_adding_an_article_touches_only_its_own_rows(workspace):
    ids = add_samples(workspace)
    before = dict(workspace.db.execute("SELECT article_id, indexed_at || fingerprint FROM related_docs"))
    new = add_article(workspace, "rye-starter", "A rye starter", "Rye flour makes a lively starter.", [],
                      "2026-11-01T08:00:00+00:00")
    after = dict(workspace.db.execute("SELECT article_id, indexed_at || fingerprint FROM related_docs"))
    assert {k: v for k, v in after.items() if k != new} == before
    assert ids["rye-bread"] in [link.article_id for link in related_articles(workspace, new)]


def test_articles_stored_without_the_importers_call_are_picked_up(workspace):
    ids = add_samples(workspace, notify=False)
    assert related_articles(workspace, ids["long-run"], limit=1)[0].article_id == ids["interval-running"]
    assert sync_index(workspace) == 0  # everything indexed by the first query


def test_the_importer_keeps_the_index_current(workspace):
    from newsletter.articles import import_sources

    report = import_sources(workspace, [SAMPLES])
    assert report.changed_ids
    indexed = workspace.db.execute("SELECT count(*) FROM related_docs").fetchone()[0]
    assert indexed == len(report.changed_ids)
    article_id = report.changed_ids[0]
    assert related_articles(workspace, article_id)
    assert article_id not in [link.article_id for link in related_articles(workspace, article_id)]
