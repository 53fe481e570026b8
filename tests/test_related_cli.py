"""``newsletter articles related``: scores and reasons, JSON, --all, pins and blocks."""

from __future__ import annotations

import json

from related_helpers import add_samples

from newsletter.errors import NotFound


def test_shows_scores_and_reasons(cli):
    add_samples(cli.ws)
    result = cli("articles", "related", "sourdough-loaf")
    assert result.exit_code == 0, result.output
    assert "Your first sourdough loaf" in result.output
    assert "Keeping a sourdough starter alive" in result.output
    assert "words: " in result.output and "tags: sourdough (2 articles)" in result.output


def test_json_for_one_article(cli):
    ids = add_samples(cli.ws)
    result = cli("articles", "related", str(ids["long-run"]), "--json", "--limit", "1")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["article"]["id"] == ids["long-run"]
    assert [link["article_id"] for link in data["related"]] == [ids["interval-running"]]
    assert data["related"][0]["score"] > 0 and data["related"][0]["reasons"]


def test_all_as_one_json_document(cli):
    ids = add_samples(cli.ws)
    result = cli("articles", "related", "--all", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    lists = {item["article_id"]: item["related"] for item in data["articles"]}
    assert set(lists) == set(ids.values())
    assert all(item["article_id"] != key for key, links in lists.items() for item in links)


def test_pin_and_block_from_the_command_line(cli):
    ids = add_samples(cli.ws)
    result = cli("articles", "related", "sourdough-loaf", "--pin", "compost", "--block", "sourdough-starter",
                 "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    shown = [link["article_id"] for link in data["related"]]
    assert shown[0] == ids["compost"] and ids["sourdough-starter"] not in shown
    assert {(e["other_id"], e["action"]) for e in data["edits"]} == {
        (ids["compost"], "pin"), (ids["sourdough-starter"], "block")}
    cleared = json.loads(cli("articles", "related", "sourdough-loaf", "--clear", "compost",
                             "--clear", "sourdough-starter", "--json").output)
    assert cleared["edits"] == [] and cleared["related"][0]["article_id"] == ids["sourdough-starter"]


def test_unknown_article_is_a_newsletter_error_naming_it(cli):
    add_samples(cli.ws)
    result = cli("articles", "related", "no-such-post")
    assert result.exit_code == 1
    assert isinstance(result.exception, NotFound)
    assert "no-such-post" in str(result.exception)


def test_all_refuses_an_article_and_no_argument_is_a_usage_error(cli):
    add_samples(cli.ws)
    assert cli("articles", "related", "compost", "--all").exit_code == 1
    assert cli("articles", "related").exit_code == 2


def test_rebuild(cli):
    add_samples(cli.ws, notify=False)
    result = cli("articles", "related", "--rebuild")
    assert result.exit_code == 0, result.output
    assert "8 articles" in result.output


def test_all_in_worker_processes_equals_one_at_a_time(workspace, monkeypatch):
    """The parallel export (big archives) gives each article the very list it gets on its own, in order."""
    from newsletter.related import all_related, export, related_articles

    monkeypatch.setattr(export, "_RUN", 3)  # several tasks, so their order matters
    ids = add_samples(workspace)
    one_by_one = {i: [(link.article_id, link.score, link.reasons) for link in related_articles(workspace, i)]
                  for i in sorted(ids.values())}
    for workers in (0, 2):
        exported = [(i, [(link.article_id, link.score, link.reasons) for link in links])
                    for i, links in all_related(workspace, workers=workers)]
        assert exported == list(one_by_one.items()), workers
    assert any(one_by_one.values())
