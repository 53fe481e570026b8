"""Markdown import: the sample articles, re-import, edits, and every kind of bad file."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from newsletter.articles import all_articles, get_article, import_sources
from newsletter.errors import NotFound
from newsletter.samples import ARTICLES_DIR


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
---
title: Tempo Runs Explained
date: 2026-11-12T07:00:00-05:00
url: https://blog.example.com/training/tempo-runs/
summary: Comfortably hard for twenty minutes.
tags: [Training, running, training]
image: /images/tempo.jpg
image_alt: A runner on a track
author: Sam Okafor
---

# Tempo Runs Explained

A tempo run is **comfortably hard**. See [our plan](/plans/tempo/).

<script>alert("x")</script>
<p onclick="steal()">Twenty minutes is plenty.</p>
"""


@pytest.fixture
def changed_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Record what the importer tells the related index."""
    import newsletter.related

    calls: list[list[int]] = []
    real = newsletter.related.on_articles_changed

    def record(ws, ids):
        calls.append(sorted(ids))
        return real(ws, ids)

    monkeypatch.setattr(newsletter.related, "on_articles_changed", record)
    return calls


def test_samples_import_with_their_metadata(workspace, changed_calls):
    report = import_sources(workspace, [ARTICLES_DIR])
    assert report.counts == {"added": 18, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    articles = all_articles(workspace)
    assert len(articles) == 18
    assert changed_calls == [sorted(a.id for a in articles)]
    cramp = get_article(workspace, "https://blog.example.com/cramps/why-calves-cramp-on-long-runs/")
    assert cramp.slug == "why-calves-cramp-on-long-runs"
    assert cramp.url == "https://blog.example.com/cramps/why-calves-cramp-on-long-runs"
    assert cramp.published_at == datetime(2026, 11, 3, 12, 30, tzinfo=UTC)
    assert cramp.tags == ["cramps", "running", "calves", "long run", "hydration"]
    assert cramp.image == "https://blog.example.com/images/calf-cramp-roadside.jpg"
    assert cramp.image_alt.startswith("A runner at the roadside")
    assert cramp.author == "Dana Whitfield"
    assert "<ol>" in cramp.body_html and "<h2>What to change</h2>" in cramp.body_html
    assert "1. Train for the distance you race." in cramp.body_text
    # A date without a time is midnight in the site's time zone; a naive time is site time too.
    sleep = get_article(workspace, "sleep-the-best-recovery-tool")
    assert sleep.published_at == datetime(2026, 11, 6, 5, 0, tzinfo=UTC)
    protein = get_article(workspace, "protein-after-training")
    assert protein.published_at == datetime(2026, 11, 4, 11, 45, tzinfo=UTC)
    assert protein.summary is None and "<table>" in protein.body_html
    assert "\n200 g Greek yogurt | about 20 g\n" in protein.body_text
    assert sum(1 for a in articles if a.summary) >= 10
    assert sum(1 for a in articles if a.image and a.image_alt) >= 14


def test_reimport_changes_nothing_and_an_edit_updates(workspace, tmp_path, changed_calls):
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES_DIR, folder)
    import_sources(workspace, [folder])
    before = {a.url: a for a in all_articles(workspace)}

    again = import_sources(workspace, [folder])
    assert again.counts["unchanged"] == 18 and again.counts["added"] == again.counts["updated"] == 0
    assert {a.url: a for a in all_articles(workspace)} == before
    assert len(changed_calls) == 1  # nothing changed, so the related index was not bothered

    path = folder / "deload-weeks.md"
    path.write_text(path.read_text().replace("Deload Weeks: Training Less", "Deload Weeks: Train Less"))
    edited = import_sources(workspace, [folder])
    assert edited.counts == {"added": 0, "updated": 1, "unchanged": 17, "skipped": 0, "failed": 0}
    article = get_article(workspace, "deload-weeks")
    old = before[article.url]
    assert article.title == "Deload Weeks: Train Less to Get Stronger"
    assert (article.id, article.slug, article.imported_at) == (old.id, old.slug, old.imported_at)
    assert article.content_hash != old.content_hash
    assert changed_calls[-1] == [article.id]


def test_body_is_sanitised_and_links_absolute(workspace, tmp_path):
    write(tmp_path / "tempo.md", GOOD)
    report = import_sources(workspace, [tmp_path / "tempo.md"])
    assert report.counts["added"] == 1, report.entries
    article = get_article(workspace, "tempo-runs")
    assert "<script" not in article.body_html and "onclick" not in article.body_html
    assert "Tempo Runs Explained</h" not in article.body_html  # the repeated title heading is gone
    assert 'href="https://blog.example.com/plans/tempo/"' in article.body_html
    assert article.image == "https://blog.example.com/images/tempo.jpg"
    assert article.tags == ["training", "running"]
    assert "A tempo run is comfortably hard. See our plan.\n\nTwenty minutes is plenty." in article.body_text
    assert "https://" not in article.body_text  # link targets stay in the HTML


def test_no_url_gets_a_stable_slug_url_and_title_from_heading(workspace, tmp_path):
    write(tmp_path / "2026-11-10-hill-repeats.md", "# Hill Repeats\n\nRun up, walk down.\n")
    report = import_sources(workspace, [tmp_path])
    entry = report.entries[0]
    assert entry.status == "added", entry
    assert entry.notes == ["date taken from the file name"]
    article = get_article(workspace, "hill-repeats")
    assert article.url == "https://blog.example.com/hill-repeats"
    assert article.title == "Hill Repeats"
    assert article.published_at == datetime(2026, 11, 10, 5, 0, tzinfo=UTC)


def test_one_bad_file_does_not_stop_the_folder(workspace, tmp_path):
    folder = tmp_path / "articles"
    write(folder / "good.md", GOOD)
    write(folder / "bad-yaml.md", "---\ntitle: Fine\ntags: [a, b\ndate: 2026-11-01\n---\nBody\n")
    write(folder / "no-title.md", "---\ndate: 2026-11-01\n---\nJust text, no heading.\n")
    write(folder / "empty.md", "")
    write(folder / "binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write(folder / "latin1.md", "---\ntitle: Caf\xe9\n---\nbody\n".encode("latin-1"))
    write(folder / "unclosed.md", "---\ntitle: Open\n\nNo closing fence.\n")
    write(folder / "notes.txt", "not Markdown, so not part of a folder import")
    write(folder / ".hidden.md", "---\ntitle: Hidden\n---\n")
    write(folder / "draft.md", "---\ntitle: Not yet\ndraft: true\n---\nWork in progress.\n")
    report = import_sources(workspace, [folder])
    assert report.counts["added"] == 1
    failed = {Path(e.origin).name: e.message for e in report.failed}
    assert set(failed) == {"bad-yaml.md", "no-title.md", "empty.md", "binary.md", "latin1.md", "unclosed.md"}
    # The bracket opened on line 3 is what to fix, though the parser only notices it on line 4.
    assert failed["bad-yaml.md"].startswith(f"{folder / 'bad-yaml.md'}:3: front matter is not valid YAML "
                                            "(parsing a flow sequence that is never closed: ")
    assert "no title" in failed["no-title.md"]
    assert "empty" in failed["empty.md"]
    assert "binary" in failed["binary.md"]
    assert failed["latin1.md"].endswith(":2: not UTF-8 text; save the file as UTF-8")
    assert "never closed" in failed["unclosed.md"]
    assert [a.title for a in all_articles(workspace)] == ["Tempo Runs Explained"]


def test_front_matter_that_is_not_a_mapping_or_bad_date(workspace, tmp_path):
    write(tmp_path / "list.md", "---\n- one\n- two\n---\nbody\n")
    write(tmp_path / "date.md", "---\ntitle: Bad date\n\ndate: next tuesday\n---\nbody\n")
    write(tmp_path / "ftp.md", "---\ntitle: FTP\nurl: ftp://files.example.com/x\n---\nbody\n")
    report = import_sources(workspace, [tmp_path / "list.md", tmp_path / "date.md", tmp_path / "ftp.md"])
    messages = [e.message for e in report.failed]
    assert messages[2] == f"{tmp_path / 'ftp.md'}:3: url 'ftp://files.example.com/x' is not an http(s) address"
    assert "key: value" in messages[0]
    assert messages[1].startswith(f"{tmp_path / 'date.md'}:4: date 'next tuesday' is not a date")


def test_missing_date_uses_option_then_mtime(workspace, tmp_path):
    path = write(tmp_path / "undated.md", "---\ntitle: Undated\n---\nSome text.\n")
    stamp = datetime(2026, 11, 18, 15, 0, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    report = import_sources(workspace, [path])
    assert report.entries[0].notes == [
        "no date in the source; used the file's modification time 2026-11-18T15:00:00+00:00"]
    assert get_article(workspace, "undated").published_at == datetime(2026, 11, 18, 15, 0, tzinfo=UTC)

    later = datetime(2026, 11, 21, 9, 0, tzinfo=UTC).timestamp()
    os.utime(path, (later, later))  # touched, not edited: the stored date stands
    report = import_sources(workspace, [path])
    assert (report.entries[0].status, report.entries[0].notes) == (
        "unchanged", ["no date in the source; kept the stored date"])

    path.write_text("---\ntitle: Undated\n---\nSome edited text.\n")
    report = import_sources(workspace, [path], default_date=date(2026, 11, 20))
    assert report.entries[0].status == "updated"
    assert report.entries[0].notes == ["no date in the source; used --date 2026-11-20"]
    assert get_article(workspace, "undated").published_at == datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


def test_future_date_is_refused_unless_allowed(workspace, tmp_path):
    path = write(tmp_path / "later.md", "---\ntitle: Later\ndate: 2099-01-05\n---\nNot yet.\n")
    report = import_sources(workspace, [path])
    assert report.counts["failed"] == 1
    assert report.failed[0].message.startswith(f"{path}:3: dated 2099-01-05, which is in the future")
    assert "--allow-future" in report.failed[0].message
    report = import_sources(workspace, [path], allow_future=True)
    assert report.counts["added"] == 1
    assert report.entries[0].notes == ["dated in the future (2099-01-05)"]


def test_two_files_claiming_one_url_are_an_error_naming_both(workspace, tmp_path):
    write(tmp_path / "a.md", GOOD)
    write(tmp_path / "b.md", GOOD.replace("Tempo Runs Explained", "Tempo Runs, Again"))
    report = import_sources(workspace, [tmp_path])
    assert report.counts["added"] == 1 and report.counts["failed"] == 1
    failed = report.failed[0]
    assert failed.message == (
        f"{tmp_path / 'b.md'}:4: has the same URL https://blog.example.com/training/tempo-runs as "
        f"{tmp_path / 'a.md'}, which was imported instead; nothing of it was stored: give one of them its own 'url:' / --url (or remove the copy)")
    assert [a.title for a in all_articles(workspace)] == ["Tempo Runs Explained"]


def test_the_same_file_twice_is_only_a_duplicate(workspace, tmp_path):
    write(tmp_path / "a.md", GOOD)
    report = import_sources(workspace, [tmp_path / "a.md", tmp_path / "a.md"])
    assert report.counts["added"] == 1 and report.counts["skipped"] == 1 and not report.failed
    skipped = next(e for e in report.entries if e.status == "skipped")
    assert skipped.message == ("duplicate URL https://blog.example.com/training/tempo-runs; "
                               f"kept the one from {tmp_path / 'a.md'}")


def test_slugs_stay_unique_across_different_urls(workspace, tmp_path):
    write(tmp_path / "a.md", "---\ntitle: A\nurl: https://blog.example.com/a/cramps\n---\nx\n")
    write(tmp_path / "b.md", "---\ntitle: B\nurl: https://blog.example.com/b/cramps\n---\ny\n")
    import_sources(workspace, [tmp_path], default_date=date(2026, 11, 2))
    assert sorted(a.slug for a in all_articles(workspace)) == ["cramps", "cramps-2"]


def test_get_article_by_id_url_slug_and_not_found(workspace):
    import_sources(workspace, [ARTICLES_DIR])
    article = get_article(workspace, "deload-weeks")
    assert get_article(workspace, article.id) == article
    assert get_article(workspace, str(article.id)) == article
    assert get_article(workspace, article.url + "/?utm_source=x") == article
    with pytest.raises(NotFound, match="no article with id, URL or slug 'nope'"):
        get_article(workspace, "nope")


def test_a_reader_crashing_is_one_failure_in_order(workspace, tmp_path, monkeypatch):
    import newsletter.articles.importer as importer

    def explode(data, ctx):
        raise RuntimeError("parser bug")

    monkeypatch.setitem(importer.READERS, "text", explode)
    write(tmp_path / "a.md", GOOD)
    write(tmp_path / "b.txt", "Some Title\n\nSome text.\n")
    write(tmp_path / "c.md", GOOD.replace("tempo-runs", "tempo-runs-2"))
    report = import_sources(workspace, [tmp_path / "a.md", tmp_path / "b.txt", tmp_path / "c.md"])
    assert [(Path(e.origin).name, e.status) for e in report.entries] == [
        ("a.md", "added"), ("b.txt", "failed"), ("c.md", "added")]
    assert report.failed[0].message == f"{tmp_path / 'b.txt'}: cannot be read (RuntimeError: parser bug)"


def test_an_unclosed_quote_is_reported_on_the_line_that_opens_it(workspace, tmp_path):
    write(tmp_path / "quote.md", '---\ntitle: "Hill Repeats\ndate: 2026-11-10\nauthor: Dana\n---\nBody\n')
    write(tmp_path / "indent.md", "---\ntitle: Fine\n  oops: indented\n---\nBody\n")
    report = import_sources(workspace, [tmp_path / "quote.md", tmp_path / "indent.md"])
    quote, indent = (e.message for e in report.failed)
    assert quote == (f"{tmp_path / 'quote.md'}:2: front matter is not valid YAML (scanning a quoted scalar that is "
                     "never closed: found unexpected end of stream); fix that line")
    assert indent == (f"{tmp_path / 'indent.md'}:3: front matter is not valid YAML "
                      "(mapping values are not allowed here); fix that line")


def test_an_impossible_date_names_its_line(workspace, tmp_path):
    write(tmp_path / "month13.md", "---\ntitle: Thirteenth month\ndate: 2026-13-45\n---\nBody\n")
    report = import_sources(workspace, [tmp_path / "month13.md"])
    assert [e.message for e in report.failed] == [
        f"{tmp_path / 'month13.md'}:3: date '2026-13-45' is not a date; write it as 2026-11-18 or "
        "2026-11-18T07:30:00-05:00"
    ]


def test_plain_words_in_front_matter_stay_as_written(workspace, tmp_path):
    write(tmp_path / "no.md", "---\ntitle: No\ndate: 2026-11-17\nauthor: Yes\nsummary: 3:45\nimage: false\n---\nBody\n")
    write(tmp_path / "later.md", "---\ntitle: Later\ndate: 2026-11-17\ndraft: yes\n---\nWork in progress.\n")
    report = import_sources(workspace, [tmp_path])
    assert report.counts["added"] == 1 and not report.failed
    article = all_articles(workspace)[0]
    assert (article.title, article.author, article.summary, article.image) == ("No", "Yes", "3:45", None)
