"""Plain-text pages saved from a browser: title, headings, references, and no page chrome."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from newsletter.articles import get_article, import_sources
from newsletter.articles.importer import NO_URL_NOTE
from newsletter.articles.text_source import parse_text_page
from newsletter.errors import SourceError
from newsletter.samples import SAVED_PAGE

DATA = Path(__file__).parent / "data" / "articles"
TZ = "America/New_York"


def parse(text: str):
    return parse_text_page(text, site_name="Weekly Training Notes", timezone=TZ)


def test_sample_saved_page(workspace, tmp_path):
    saved = tmp_path / "saved-page.txt"
    shutil.copy(SAVED_PAGE, saved)
    stamp = datetime(2026, 11, 18, 21, 0, tzinfo=UTC).timestamp()
    os.utime(saved, (stamp, stamp))
    report = import_sources(workspace, [saved])
    entry = report.entries[0]
    assert entry.status == "added", entry
    assert entry.notes == ["kept 28 of 48 lines (20 dropped as page chrome)", NO_URL_NOTE,
                           "no date in the source; used the file's modification time 2026-11-18T21:00:00+00:00"]
    article = get_article(workspace, "why-calves-cramp-at-night-and-what-helps")
    assert article.title == "Why Calves Cramp at Night, and What Helps"
    assert article.url == "" and not article.has_url  # the page states none: no link is made up
    assert article.author == "Dana Whitfield"
    html = article.body_html
    assert html.startswith("<p>It usually arrives in the small hours.")
    for heading in ("What a cramp is", "Who gets them", "What helps in the moment", "What helps over weeks",
                    "Salt, water and magnesium", "The short version", "References"):
        assert f"<h2>{heading}</h2>" in html
    assert html.count("<h2>") == 7
    references = html.split("<h2>References</h2>", 1)[1].strip()
    assert references.startswith("<ol><li>Miller K. C.") and references.count("<li>") == 3
    assert references.endswith("</ol>")  # nothing after the references: the rest was chrome
    assert "<li>Keep the bedclothes loose" in html
    for chrome in ("Skip to main content", "Share on", "Copy link", "min read", "utm_", "[image:",
                   "Get the free weekly newsletter", "Your email address", "Subscribe", "About the author",
                   "Follow Dana", "Related articles", "Five Hydration Myths", "Privacy Policy", "©",
                   "px.example-ads.net", "Nutrition\n", "Weekly Training Notes"):
        assert chrome not in article.body_text, chrome
        assert chrome not in html, chrome


def test_saved_page_with_date_option(workspace):
    report = import_sources(workspace, [SAVED_PAGE], default_date=date(2026, 11, 18))
    assert report.entries[0].notes[-1] == "no date in the source; used --date 2026-11-18"
    article = get_article(workspace, "why-calves-cramp-at-night-and-what-helps")
    assert article.published_at == datetime(2026, 11, 18, 5, 0, tzinfo=UTC)


def test_compact_page_from_another_site():
    """One line per paragraph with no blank lines, another site's wording for the same chrome."""
    page, html = parse((DATA / "saved-page-compact.txt").read_text())
    assert page.title == "Iron for Endurance Athletes: Are You Running on Empty?"
    assert page.url.startswith("https://oldsite.example.org/nutrition/iron-for-endurance-athletes")
    assert page.author == "Jo Reyes"
    assert page.published_at == datetime(2026, 11, 12, 5, 0, tzinfo=UTC)
    assert [h.split("</h2>")[0] for h in html.split("<h2>")[1:]] == [
        "Who is at risk", "Signs to look for", "Food before supplements", "Sources"]
    assert "<ul><li>Ask for ferritin as well as haemoglobin.</li><li>Test in the morning" in html
    assert html.endswith("European Journal of Applied Physiology, 2019.</li></ol>")
    for chrome in ("Menu", "Sign up", "newsletter", "Email", "is a sports dietitian", "You may also like",
                   "Vegetarian Meal Ideas", "Advertisement", "© 2024"):
        assert chrome not in html, chrome


def test_compact_page_keeps_its_own_url(workspace):
    report = import_sources(workspace, [DATA / "saved-page-compact.txt"])
    assert report.counts["added"] == 1, report.entries
    article = get_article(workspace, "iron-for-endurance-athletes")
    assert article.url == "https://oldsite.example.org/nutrition/iron-for-endurance-athletes"
    assert article.published_at == datetime(2026, 11, 12, 5, 0, tzinfo=UTC)


def test_headings_only_when_they_lead_a_paragraph():
    text = (
        "Hill Sprints for Power\n\n"
        "Short hill sprints build power without the pounding of flat-out speed work on the track.\n\n"
        "How to do them\n"
        "Find a steep hill and sprint up it for eight to ten seconds, then walk back down.\n\n"
        "Do six.\n\n"
        "Is it worth it?\n\n"
        "Yes, for almost every runner who wants a stronger finish in races of any length.\n\n"
        "Keep going\n"
    )
    page, html = parse(text)
    assert page.title == "Hill Sprints for Power"
    assert parse("Hill Sprints | Weekly Training Notes\n\nText.\n")[0].title == "Hill Sprints"
    assert "<h2>How to do them</h2>" in html
    assert "<h2>Is it worth it?</h2>" in html  # a question mark is not a full stop
    assert "<p>Do six.</p>" in html  # it ends with a full stop: not a heading
    assert "<h2>Keep going</h2>" not in html  # leads nothing: not a heading


def test_hard_wrapped_paragraphs_are_joined():
    text = (
        "Cadence Without the Fuss\n\n"
        "Most runners who overstride land with the foot far ahead of the body, and\n"
        "the simplest fix is a slightly higher step rate, around five per cent more\n"
        "steps per minute than you take now, practised on easy runs for a few weeks.\n"
    )
    _, html = parse(text)
    assert html.count("<p>") == 1 and "and the simplest fix" in html


def test_links_in_text_are_escaped_and_linked():
    text = ("A Note on Sources\n\nThe trial data are at https://example.org/trial?id=1&x=2 and <b>not</b> "
            "anywhere else, as far as we know.\n")
    _, html = parse(text)
    assert '<a href="https://example.org/trial?id=1&amp;x=2">' in html
    assert "&lt;b&gt;not&lt;/b&gt;" in html


def test_text_without_a_title_is_refused(workspace, tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("Skip to content\nAdvertisement\nhttps://px.example.net/collect?tid=1\n")
    report = import_sources(workspace, [junk])
    assert report.failed[0].message.startswith(f"{junk}:1: no title")
    with pytest.raises(SourceError):
        parse("\n\n   \n")


ICE_BATHS = """\
Weekly Training Notes
Home › Recovery › Ice Baths
We use cookies to give you the best experience. Accept all | Manage settings

Ice Baths After Hard Sessions: Helpful or Harmful?
Written by Lee Park — Updated March 3, 2026

Plunging into cold water after training has become a ritual for many athletes, helped along by photos of
professionals grimacing in wheelie bins full of ice, and by the promise of faster recovery for everybody.

The short answer
Cold water reduces soreness the next day, but regular use straight after strength sessions can blunt the gains.

What the studies found
- Soreness the next day is slightly lower.
- Strength gains over months can be smaller.

Tags: recovery, cold water, Strength Training

About Lee
Lee Park coaches a masters running club and writes about recovery.

4 comments
Anna: great read, thank you!
Reply
"""


def test_third_layout_byline_tags_bio_and_comments():
    page, html = parse(ICE_BATHS)
    assert page.title == "Ice Baths After Hard Sessions: Helpful or Harmful?"
    assert page.author == "Lee Park"
    assert page.published_at == datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
    assert page.tags == ["recovery", "cold water", "strength training"]
    assert html.startswith("<p>Plunging into cold water after training has become a ritual for many athletes, "
                           "helped along by photos of professionals")
    assert "<h2>The short answer</h2>" in html and "<h2>What the studies found</h2>" in html
    assert html.endswith("<ul><li>Soreness the next day is slightly lower.</li>"
                         "<li>Strength gains over months can be smaller.</li></ul>")
    for chrome in ("cookies", "Home", "Tags", "About Lee", "coaches", "comments", "Anna", "Reply"):
        assert chrome not in html, chrome


def test_article_sentences_that_resemble_chrome_are_kept():
    text = (
        "Snacks for Long Days\n\n"
        "Share this with your running group before the next long run, because it saves arguments.\n\n"
        "We use cookies and dates as treats after long runs, and both are fine in moderation.\n\n"
        "Copyright aside, the recipe below is our own and you may print it for your club.\n"
    )
    _, html = parse(text)
    assert html.count("<p>") == 3


def test_a_page_saved_as_utf16_says_how_to_fix_it(workspace, tmp_path):
    saved = tmp_path / "notepad.txt"
    saved.write_bytes("Why Calves Cramp\n\nIt usually arrives at night.\n".encode("utf-16"))  # BOM first
    report = import_sources(workspace, [saved])
    assert [e.message for e in report.failed] == [f"{saved}: UTF-16 text; save the file as UTF-8"]
