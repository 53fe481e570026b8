"""Rendering an issue: every title and link in HTML and text, size, placeholders, and the frozen copy."""

from __future__ import annotations

import html
import re

import pytest
from issue_fixtures import import_folder, ten_article_week, write_article

from issues.build import IssueFrozen, build_issue, render_issue
from issues.send import freeze_issue
from newsletter.personalise import EMAIL, NAME, UNSUBSCRIBE_URL, personalise
from newsletter.render import MAX_LINE
from newsletter.workspace import Workspace

GMAIL_CLIP_BYTES = 102 * 1024


@pytest.fixture
def ten(workspace: Workspace):
    ten_article_week(workspace, older=8)
    return build_issue(workspace, "2026-W47")


def test_html_carries_every_title_link_and_related_link_under_102_kb(workspace: Workspace, ten) -> None:
    rendered = render_issue(workspace, ten.id)
    page = rendered.html
    assert len(page.encode("utf-8")) < GMAIL_CLIP_BYTES
    related = [link for item in ten.items for link in item.related]
    assert len(related) >= 5  # no article linked twice, and the older pieces are near-duplicates of each other
    for item in ten.items:
        assert html.escape(item.title, quote=False) in page
        assert f'href="{html.escape(item.url)}"' in page
        assert html.escape(item.excerpt, quote=False) in page
    for link in related:
        assert f'href="{html.escape(link.url)}"' in page
        assert html.escape(link.title, quote=False) in page
    for item in ten.items:
        if item.image:
            assert re.search(rf'<img alt="{re.escape(html.escape(item.image_alt))}"[^>]*src="{re.escape(item.image)}"', page)
    assert "<img" in page and not re.search(r"<img(?![^>]*\salt=)", page)  # every image has alt text
    assert html.escape(ten.preheader, quote=False) in " ".join(page.split())  # the hidden preheader
    assert f"<title>{html.escape(ten.subject, quote=False)}</title>" in page
    for token in (UNSUBSCRIBE_URL, EMAIL, NAME):
        assert token in page
    assert "123 Main St, Springfield" in page
    assert max(len(line) for line in page.split("\n")) <= MAX_LINE  # can go out as 8bit, SMTP allows 998


def test_text_part_carries_the_same_links(workspace: Workspace, ten) -> None:
    text = render_issue(workspace, ten.id).text
    for item in ten.items:
        assert item.title in text
        assert f"Read more: {item.url}" in text
        for link in item.related:
            assert link.title in text and link.url in text
    assert f"Unsubscribe with one click, any time: {UNSUBSCRIBE_URL}" in text
    assert "123 Main St, Springfield" in text
    assert "&amp;" not in text  # no HTML escaping in the text part


def test_rendered_issue_personalises_and_escapes_a_nasty_name(workspace: Workspace, ten) -> None:
    rendered = render_issue(workspace, ten.id)
    fields = {"unsubscribe_url": "https://news.example.com/unsubscribe/t0k?a=1&b=2",
              "email": "tom@example.com", "name": '<b>Tom & "Jerry"</b>'}
    page, text = personalise(rendered.html, rendered.text, fields)
    page_s, text_s = page.decode(), text.decode()
    assert "[[nl:" not in page_s and "[[nl:" not in text_s
    assert "Hi &lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;," in page_s
    assert "<b>Tom" not in page_s
    assert 'href="https://news.example.com/unsubscribe/t0k?a=1&amp;b=2"' in page_s
    assert 'Hi <b>Tom & "Jerry"</b>,' in text_s
    assert "https://news.example.com/unsubscribe/t0k?a=1&b=2" in text_s


def test_frozen_issue_keeps_its_render_after_template_and_article_edits(workspace: Workspace, ten, monkeypatch) -> None:
    frozen = freeze_issue(workspace, ten.id)
    assert freeze_issue(workspace, ten.id) == frozen  # idempotent
    # Edit an article and override the issue template: a draft would change, the frozen issue must not.
    write_article(workspace.articles_dir, "w47-0", "Edited after the send started", "2026-11-16T09:00:00-05:00")
    import_folder(workspace, workspace.articles_dir)
    folder = workspace.root / "tpl"
    folder.mkdir()
    (folder / "issue.txt.j2").write_text("Completely different {{ issue.id }}\n")
    monkeypatch.setenv("NEWSLETTER_PATHS_TEMPLATES", str(folder))
    ws = Workspace(workspace.root)
    with pytest.raises(IssueFrozen):
        build_issue(ws, ten.id)
    assert render_issue(ws, ten.id) == frozen
    assert "Edited after" not in frozen.html
    # A draft of another week does pick the override up.
    write_article(ws.articles_dir, "w44", "An earlier week", "2026-10-28T09:00:00-05:00")
    import_folder(ws, ws.articles_dir)
    build_issue(ws, "2026-W44")
    assert render_issue(ws, "2026-W44").text == "Completely different 2026-W44\n"


def test_draft_render_follows_the_latest_build(workspace: Workspace, ten) -> None:
    write_article(workspace.articles_dir, "w47-0", "Retitled before sending", "2026-11-16T09:00:00-05:00")
    import_folder(workspace, workspace.articles_dir)
    build_issue(workspace, ten.id)
    assert "Retitled before sending" in render_issue(workspace, ten.id).html


def test_a_one_article_issue_reads_as_one(workspace: Workspace, tmp_path) -> None:
    write_article(tmp_path, "hill-repeats", "Hill Repeats", "2026-11-17T09:00:00-05:00")
    import_folder(workspace, tmp_path)
    issue = build_issue(workspace, "2026-W47")
    assert issue.preheader == "One new article this week: Hill Repeats"
    rendered = render_issue(workspace, issue.id)
    intro = "Here is this week's new article, with a few related reads from the archive."
    assert intro in rendered.text
    assert intro in " ".join(re.sub(r"<[^>]+>", " ", rendered.html).split()).replace(" ,", ",")
    assert "articles" not in issue.preheader and "1 new" not in rendered.text
