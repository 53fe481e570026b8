"""Suspicious article content in the preview and before a send; an article without a URL refused."""

from __future__ import annotations

import pytest

from issues.build import build_issue, check_before_send
from issues.preview import PreviewSession
from newsletter.articles import get_article, import_sources
from newsletter.articles.store import articles_db
from newsletter.errors import InvalidInput

WEEK = "2026-W42"
ARTICLE = """---
title: {title}
date: 2026-10-14
url: {url}
---

{body}
"""


def _write(ws, name: str, title: str, url: str, body: str) -> None:
    (ws.articles_dir / name).write_text(ARTICLE.format(title=title, url=url, body=body))


def test_preview_and_send_warn_on_suspicious_content(workspace):
    long_body = " ".join(["Strides are short relaxed accelerations at the end of an easy run."] * 12)
    _write(workspace, "one.md", "fbpx", "https://blog.example.com/strides", long_body)
    _write(workspace, "two.md", "WEEKLY TRAINING NOTES", "https://www.example.org/notes", long_body)
    _write(workspace, "three.md", "Weekly Training Notes", "https://blog.example.com/site-name", "Only a few words.")
    import_sources(workspace, [workspace.articles_dir])
    db = articles_db(workspace)
    db.execute("UPDATE articles SET source_words = 2000 WHERE slug = 'site-name'")  # as if cut from a big page
    db.conn.commit()
    build_issue(workspace, WEEK)

    report = PreviewSession(workspace, WEEK).report()
    messages = [w.message for w in report.warnings]
    assert any('"fbpx", one short word' in m for m in messages)
    assert any('"WEEKLY TRAINING NOTES", all capitals' in m for m in messages)
    assert any("site's name" in m for m in messages)
    assert any("kept 4 words of a 2000-word page" in m for m in messages)
    assert any("https://www.example.org/notes" in m and "placeholder" in m for m in messages)
    assert not any("blog.example.com/strides" in m for m in messages)  # the site's own address is not flagged
    sent = {w.message for w in check_before_send(workspace, report.issue)}  # the send says the same
    assert len(sent) == 6 and sent <= set(messages)  # two titles for the capitals that equal the site name


def test_an_article_that_lost_its_url_stops_preview_and_send(workspace):
    _write(workspace, "one.md", "Strides for Everyone", "https://blog.example.com/strides", "A short paragraph.")
    import_sources(workspace, [workspace.articles_dir])
    issue = build_issue(workspace, WEEK)
    article = get_article(workspace, "strides")
    db = articles_db(workspace)
    db.execute("UPDATE articles SET url = NULL WHERE id = ?", [article.id])  # as an old import could leave it
    db.conn.commit()
    with pytest.raises(InvalidInput, match=f"cannot send {WEEK}: 1 article has no public URL"):
        check_before_send(workspace, issue)
    with pytest.raises(InvalidInput, match=f"cannot preview {WEEK}"):
        PreviewSession(workspace, WEEK)
    with pytest.raises(InvalidInput, match=f"articles edit {article.id} --url"):
        build_issue(workspace, WEEK)


def test_placeholder_links_are_read_as_html_reads_them(workspace):
    """Entities in an href are decoded, a link's text is its words joined, a comment is not text, an <a>
    inside an open one ends it, and the site's own addresses and real domains are not flagged."""
    from issues.build.content_checks import anchors, placeholder_links

    html = ('<p><a href="https://www.example.com/a?x=1&amp;y=2">Read <b>this</b>\n  <!-- hidden --> now</a>'
            '<a href="https://blog.example.com/ok">own site</a><a href="https://news.real-site.org/">real</a>'
            '<a href="http://localhost:8080/x">one <a href="http://127.0.0.1/y">two</a></a>'
            '<a href="https://www.example.com/a?x=1&y=2">the same link again</a><a>no href</a></p>')
    assert anchors(html)[0] == ("https://www.example.com/a?x=1&y=2", "Read this now")
    assert anchors(html)[3:5] == [("http://localhost:8080/x", "one"), ("http://127.0.0.1/y", "two")]
    found = [w.message for w in placeholder_links(workspace, html)]
    assert len(found) == 3, found
    assert found[0].startswith("the link 'Read this now' goes to https://www.example.com/a?x=1&y=2")
    assert "'one' goes to http://localhost:8080/x" in found[1] and "'two' goes to http://127.0.0.1/y" in found[2]
