"""Building an issue from a week's articles: items, links, excerpts, related reading, drafts and freezing."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from issue_fixtures import import_folder, ten_article_week, write_article

from issues.build import EmptyWeek, IssueFrozen, build_issue, get_issue, list_issues
from issues.send import freeze_issue
from newsletter.errors import InvalidInput
from newsletter.workspace import Workspace


def test_build_gathers_the_week_with_tracked_links_images_and_excerpts(workspace: Workspace) -> None:
    ten_article_week(workspace)
    issue = build_issue(workspace, "2026-W47")
    assert (issue.id, issue.number, issue.status) == ("2026-W47", 1, "draft")
    published = [item.published_at for item in issue.items]
    assert published == sorted(published)  # in the order they were published
    assert len(issue.items) == 10
    assert issue.subject == "Weekly Training Notes #1: Week 47 article 0: running notes & tips"
    assert issue.preheader.startswith("10 new articles this week")
    for item in issue.items:
        query = parse_qs(urlsplit(item.url).query)
        assert query["utm_source"] == ["newsletter"] and query["utm_medium"] == ["email"]
        assert query["utm_campaign"] == ["2026-W47"]
        assert item.excerpt.endswith(".") and len(item.excerpt.split()) <= 75
    with_image = issue.items[0]
    assert with_image.image == "https://blog.example.com/images/w47-0.jpg"
    assert with_image.image_alt == with_image.title  # no alt given: the title stands in
    assert issue.items[1].image == "" and issue.items[1].image_alt == ""


def test_read_more_link_keeps_the_article_query(workspace: Workspace) -> None:
    ten_article_week(workspace)
    [item] = [i for i in build_issue(workspace, "2026-W47").items if i.title.startswith("Week 47 article 3")]
    assert item.url == (
        "https://blog.example.com/posts/w47-3?series=legs&utm_source=newsletter&utm_medium=email"
        "&utm_campaign=2026-W47"
    )


def test_related_links_never_point_at_the_item_or_the_same_issue(workspace: Workspace) -> None:
    ten_article_week(workspace, older=8)
    issue = build_issue(workspace, "2026-W47")
    in_issue = {item.article_id for item in issue.items}
    total = 0
    for item in issue.items:
        assert len(item.related) <= 3
        for link in item.related:
            assert link.article_id != item.article_id
            assert link.article_id not in in_issue
            assert "utm_campaign=2026-W47" in link.url and link.title.startswith("Older piece")
        total += len(item.related)
    assert total > 0


def test_summary_is_the_excerpt_when_given(workspace: Workspace) -> None:
    write_article(workspace.articles_dir, "s", "With summary", "2026-11-18T09:00:00-05:00",
                  summary="A short  summary\nof the piece.", image="https://cdn.example.net/a.png",
                  image_alt="A runner on a hill")
    import_folder(workspace, workspace.articles_dir)
    item = build_issue(workspace, "2026-W47").items[0]
    assert item.excerpt == "A short summary of the piece."
    assert (item.image, item.image_alt) == ("https://cdn.example.net/a.png", "A runner on a hill")


def test_rebuild_updates_the_draft_and_keeps_its_number(workspace: Workspace) -> None:
    folder = ten_article_week(workspace)
    first = build_issue(workspace, "2026-W47")
    write_article(folder, "w47-0", "A new title for the first piece", "2026-11-16T09:00:00-05:00")
    write_article(folder, "w47-extra", "A late addition", "2026-11-22T20:00:00-05:00")
    import_folder(workspace, folder)
    again = build_issue(workspace, "2026-W47")
    assert again.number == first.number == 1
    assert again.items[0].title == "A new title for the first piece"
    assert again.items[-1].title == "A late addition" and len(again.items) == 11
    assert len(list_issues(workspace)) == 1


def test_numbers_follow_the_order_of_first_builds(workspace: Workspace) -> None:
    ten_article_week(workspace)
    assert build_issue(workspace, "2026-W47").number == 1
    assert build_issue(workspace, "2026-W45").number == 2
    assert build_issue(workspace, "2026-W47").number == 1
    assert [i.id for i in list_issues(workspace)] == ["2026-W47", "2026-W45"]


def test_a_week_without_articles_builds_nothing(workspace: Workspace) -> None:
    ten_article_week(workspace)
    with pytest.raises(EmptyWeek, match=r"no articles were published in 2026-W40 .*nothing was built"):
        build_issue(workspace, "2026-W40")
    assert list_issues(workspace) == []


def test_default_week_is_the_last_complete_one(workspace: Workspace, monkeypatch) -> None:
    ten_article_week(workspace)
    # Monday 23 Nov, 03:00 UTC is still Sunday 22 Nov in New York: W46 is the last complete week.
    monkeypatch.setattr("newsletter.clock.utcnow", lambda: datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    assert build_issue(workspace).id == "2026-W46"
    monkeypatch.setattr("newsletter.clock.utcnow", lambda: datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    assert build_issue(workspace).id == "2026-W47"


def test_frozen_issue_refuses_a_rebuild(workspace: Workspace) -> None:
    ten_article_week(workspace)
    build_issue(workspace, "2026-W47")
    freeze_issue(workspace, "2026-W47")
    assert get_issue(workspace, "2026-W47").status == "sending"
    with pytest.raises(IssueFrozen, match=r"issue 2026-W47 \(#1\) is frozen: it started sending at .* rebuilt"):
        build_issue(workspace, "2026-W47")


def test_subject_with_a_line_break_is_refused(workspace: Workspace, monkeypatch) -> None:
    ten_article_week(workspace)
    monkeypatch.setenv("NEWSLETTER_ISSUE_SUBJECT", "News{{ '\\n' }}Bcc: victim@example.com")
    ws = Workspace(workspace.root)
    with pytest.raises(InvalidInput, match=r"\[issue\] subject renders to text with a line break"):
        build_issue(ws, "2026-W47")
    assert list_issues(ws) == []


def test_bad_week_name_is_refused(workspace: Workspace) -> None:
    with pytest.raises(InvalidInput, match="not of the form YYYY-Www"):
        build_issue(workspace, "2026-47")


def test_a_build_racing_another_week_gets_the_right_number_in_its_subject(workspace: Workspace, monkeypatch) -> None:
    import issues.build.assemble as build_module

    ten_article_week(workspace)
    real = build_module.issue_related
    raced: list[str] = []

    def related_while_another_build_lands(ws, article_ids, **kwargs):
        if not raced:
            raced.append("W45")
            build_issue(ws, "2026-W45")  # as if another process built a week meanwhile
        return real(ws, article_ids, **kwargs)

    monkeypatch.setattr(build_module, "issue_related", related_while_another_build_lands)
    issue = build_issue(workspace, "2026-W47")
    assert raced and get_issue(workspace, "2026-W45").number == 1
    assert issue.number == 2 and issue.subject.startswith("Weekly Training Notes #2: ")
