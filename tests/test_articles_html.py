"""HTML pages: the article without the page's navigation, ads, sign-up boxes and footer."""

from __future__ import annotations

from datetime import UTC, datetime

from newsletter.articles import get_article, import_sources
from newsletter.articles.importer import NO_URL_NOTE
from newsletter.samples import PAGE

CHROME = [
    "Skip to content", "Advertisement", "Sponsored", "Mega sale", "protein bars", "Get the free weekly newsletter",
    "Never miss a training note", "Subscribe", "You might also like", "Rest Days That Actually Work", "comments",
    "All rights reserved", "Privacy", "cookies", "dataLayer", "tracker", "Share", "is a physiotherapist who",
    "Home", "123 Main St",
]


def test_sample_page(workspace):
    report = import_sources(workspace, [PAGE])
    assert report.counts["added"] == 1, report.entries
    article = get_article(workspace, "foam-rolling-without-the-hype")
    assert article.title == "Foam Rolling Without the Hype"
    assert article.url == "https://blog.example.com/recovery/foam-rolling-without-the-hype"
    assert article.published_at == datetime(2026, 11, 19, 12, 30, tzinfo=UTC)
    assert article.author == "Marta Lindqvist"
    assert article.image == "https://blog.example.com/images/foam-roller-quads.jpg"
    assert article.image_alt == "A runner rolling the front of her thigh on a blue foam roller"
    assert article.summary.startswith("What a foam roller can and cannot do")
    assert {"recovery", "mobility"} <= set(article.tags)
    for wanted in ("Walk into any gym", "<h2>What is actually happening</h2>", "<h2>A ten-minute routine</h2>",
                   "Upper back:", "earns its place by the door"):
        assert wanted in article.body_html
    for junk in CHROME:
        assert junk not in article.body_html, junk
        assert junk not in article.body_text, junk
    assert "<script" not in article.body_html
    assert article.body_text.startswith("Walk into any gym")


def test_page_without_an_article(workspace, tmp_path):
    nav_only = tmp_path / "index.html"
    nav_only.write_text("<!DOCTYPE html><html><head><title>Home</title></head><body><nav><a href='/'>Home</a>"
                        "<a href='/about/'>About</a></nav><footer>© 2026</footer></body></html>")
    report = import_sources(workspace, [nav_only])
    assert report.counts["failed"] == 1
    assert report.failed[0].message == f"{nav_only}: no article text found in this page; is it an article page?"


def test_page_without_canonical_url_or_date(workspace, tmp_path):
    page = tmp_path / "page.html"
    paragraph = ("<p>Intervals are short, fast repeats with rest between them, and they build speed.</p>"
                 "<p>Start with six repeats of one minute at a hard effort, with two minutes of walking.</p>"
                 "<p>Add a repeat each week until you reach ten, then make each one a little longer.</p>")
    page.write_text(f"<html><head><title>Intervals for Beginners</title></head><body><article>"
                    f"<h1>Intervals for Beginners</h1>{paragraph}</article></body></html>")
    report = import_sources(workspace, [page], default_date=datetime(2026, 11, 16))
    assert report.counts["added"] == 1, report.entries
    article = get_article(workspace, "intervals-for-beginners")
    assert article.url == ""  # no canonical URL: none is made up, the report says so
    assert report.entries[0].notes == ["kept 4 of 5 lines (1 dropped as page chrome)", NO_URL_NOTE,
                                       "no date in the source; used --date 2026-11-16"]
    assert "Intervals for Beginners" not in article.body_text


def test_page_in_another_encoding(workspace, tmp_path):
    page = tmp_path / "cafe.html"
    body = ("<html><head><meta charset='iso-8859-1'><title>Caf\xe9 Runs</title>"
            "<meta property='article:published_time' content='2026-11-17T08:00:00+01:00'></head><body><article>"
            "<h1>Caf\xe9 Runs</h1><p>A caf\xe9 run ends at a caf\xe9, which is the whole point of going slowly.</p>"
            "<p>Pick a route of eight to twelve kilometres and a place with good cake at the end of it.</p>"
            "<p>Keep the group together: the pace is set by whoever is slowest, and nobody minds.</p>"
            "</article></body></html>")
    page.write_bytes(body.encode("latin-1"))
    report = import_sources(workspace, [page])
    assert report.counts["added"] == 1, report.entries
    article = get_article(workspace, "cafe-runs")
    assert article.title == "Café Runs" and "A café run ends at a café" in article.body_text
    assert article.published_at == datetime(2026, 11, 17, 7, 0, tzinfo=UTC)


def test_a_stated_date_that_cannot_be_read_is_not_replaced_by_a_guess(workspace, tmp_path):
    page = tmp_path / "hills.html"
    paragraphs = "".join(f"<p>{line}</p>" for line in (
        "Hill repeats build strength and speed at once, without the pounding of flat sprints.",
        "Find a slope that takes about a minute to run up at a hard but steady effort.",
        "Jog back down slowly, then go again; six repeats is plenty for the first week."))
    page.write_text("<html><head><title>Hill Repeats</title>"
                    "<meta property='article:published_time' content='2026-99-99'></head><body><article>"
                    f"<h1>Hill Repeats</h1>{paragraphs}</article></body></html>")
    report = import_sources(workspace, [page])
    assert [e.message for e in report.failed] == [
        f"{page}: the date '2026-99-99' cannot be read; fix it at the source, or pass --date YYYY-MM-DD to date it "
        "yourself"
    ]


def test_pictures_and_their_captions_are_not_the_text(workspace, tmp_path):
    page = tmp_path / "hills.html"
    first, *rest = (f"<p>{text}</p>" for text in (
        "Hill repeats build strength that flat running cannot, and they are kinder to the legs than sprints.",
        "Find a slope that takes about a minute to climb at a hard effort, and jog back down slowly.",
        "Start with four repeats and add one each week, stopping at eight before making them longer."))
    gallery = "<ul>" + "".join(  # a gallery: pictures with their captions as list items
        f"<li><figure><img src='/img/{name}.jpg' alt='{alt}'><figcaption>{caption}</figcaption></figure></li>"
        for name, alt, caption in (
            ("hill", "A runner on a steep road", "A runner climbing the old quarry road at dawn."),
            ("top", "The view from the top", "The view from the top of the quarry road after the sixth repeat."))
    ) + "</ul>"
    page.write_text("<html><head><title>Hill Repeats</title></head><body><article><h1>Hill Repeats</h1>"
                    f"{first}{gallery}{''.join(rest)}</article></body></html>")
    report = import_sources(workspace, [page], default_date=datetime(2026, 11, 16))
    assert report.counts["added"] == 1, report.entries
    article = get_article(workspace, "hill-repeats")
    assert article.image is not None and article.image.endswith("/img/hill.jpg")  # the page names none: its first
    assert "Find a slope" in article.body_text and "Start with four repeats" in article.body_text
    assert "quarry road" not in article.body_text
