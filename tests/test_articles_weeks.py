"""ISO weeks in the site's time zone: boundaries, daylight saving, and the turn of the year (2026-W53)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsletter.articles import articles_in_week, import_sources
from newsletter.clock import last_complete_week, parse_week, week_bounds, week_of
from newsletter.errors import InvalidInput
from newsletter.workspace import Workspace


def test_parse_week_knows_which_years_have_53_weeks():
    assert parse_week("2026-W53") == (2026, 53)
    assert parse_week("2020-W53") == (2020, 53)
    with pytest.raises(InvalidInput, match="2025 has weeks 01 to 52, not 53"):
        parse_week("2025-W53")
    for bad in ("2026-47", "2026-W7", "W47", "2026-W00"):
        with pytest.raises(InvalidInput):
            parse_week(bad)


def test_week_53_spans_the_new_year():
    start, end = week_bounds("2026-W53", "America/New_York")
    assert start == datetime(2026, 12, 28, 5, 0, tzinfo=UTC)
    assert end == datetime(2027, 1, 4, 5, 0, tzinfo=UTC)
    assert week_bounds("2027-W01", "America/New_York")[0] == end
    assert week_of(datetime(2027, 1, 1, 12, 0, tzinfo=UTC), "America/New_York") == "2026-W53"
    # Sunday 3 January 2027, 22:00 in New York is already Monday in UTC and in Tokyo.
    late_sunday = datetime(2027, 1, 4, 3, 0, tzinfo=UTC)
    assert week_of(late_sunday, "America/New_York") == "2026-W53"
    assert week_of(late_sunday, "UTC") == "2027-W01"
    assert week_of(late_sunday, "Asia/Tokyo") == "2027-W01"


def test_bounds_follow_the_time_zone_and_daylight_saving():
    start, end = week_bounds("2027-W01", "Asia/Tokyo")
    assert start == datetime(2027, 1, 3, 15, 0, tzinfo=UTC)
    # Daylight saving time ends in New York on 1 November 2026: week 44 lasts 169 hours.
    start, end = week_bounds("2026-W44", "America/New_York")
    assert end - start == timedelta(hours=169)
    assert start == datetime(2026, 10, 26, 4, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)


def test_last_complete_week():
    monday_morning = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert last_complete_week("America/New_York", monday_morning) == "2026-W47"
    # 03:00 UTC on Monday is still Sunday evening in New York: week 47 has not ended there.
    assert last_complete_week("America/New_York", datetime(2026, 11, 23, 3, 0, tzinfo=UTC)) == "2026-W46"
    assert last_complete_week("Europe/Berlin", datetime(2026, 11, 23, 3, 0, tzinfo=UTC)) == "2026-W47"
    assert last_complete_week("America/New_York", datetime(2027, 1, 5, 12, 0, tzinfo=UTC)) == "2026-W53"


EDGES = {
    "sunday-before": "2026-12-27T23:30:00-05:00",
    "monday-midnight": "2026-12-28T00:00:00-05:00",
    "new-years-eve": "2026-12-31T23:59:00-05:00",
    "sunday-night": "2027-01-03T23:59:00-05:00",
    "next-monday": "2027-01-04T00:00:00-05:00",
}


@pytest.fixture
def edge_articles(workspace, tmp_path):
    for slug, when in EDGES.items():
        (tmp_path / f"{slug}.md").write_text(f"---\ntitle: {slug}\ndate: {when}\n---\nText.\n")
    report = import_sources(workspace, [tmp_path], allow_future=True)
    assert report.counts["added"] == len(EDGES), report.entries
    return workspace


def titles(ws: Workspace, week: str) -> list[str]:
    return [a.title for a in articles_in_week(ws, week)]


def test_articles_in_week_in_the_site_time_zone(edge_articles):
    ws = edge_articles
    assert ws.settings.site.timezone == "America/New_York"
    assert titles(ws, "2026-W52") == ["sunday-before"]
    assert titles(ws, "2026-W53") == ["monday-midnight", "new-years-eve", "sunday-night"]
    assert titles(ws, "2027-W01") == ["next-monday"]


def test_articles_in_week_when_the_site_is_in_tokyo(edge_articles):
    tokyo = Workspace(edge_articles.root, environ={"NEWSLETTER_SITE_TIMEZONE": "Asia/Tokyo"})
    try:
        # 23:30 on Sunday in New York is Monday afternoon in Tokyo, and so on.
        assert titles(tokyo, "2026-W52") == []
        assert titles(tokyo, "2026-W53") == ["sunday-before", "monday-midnight", "new-years-eve"]
        assert titles(tokyo, "2027-W01") == ["sunday-night", "next-monday"]
    finally:
        tokyo.close()


def test_last_complete_week_counts_local_days_across_a_clock_change():
    # New York springs forward on Sunday 14 March 2027, so the week before Monday 15 March is 167 hours:
    # 00:30 on that Monday minus seven days of seconds is still Sunday 7 March (week 9).
    just_after_midnight = datetime(2027, 3, 15, 4, 30, tzinfo=UTC)  # 00:30 EDT, Monday of 2027-W11
    assert last_complete_week("America/New_York", just_after_midnight) == "2027-W10"
    # And in the autumn (169 hours): the last minute of Sunday still counts as the running week.
    assert last_complete_week("America/New_York", datetime(2026, 11, 9, 4, 59, tzinfo=UTC)) == "2026-W44"


def test_week_names_are_read_as_people_type_them():
    from newsletter.clock import normalise_week

    assert normalise_week(" 2026-w47 ") == "2026-W47"
    assert week_bounds("2026-w47", "UTC") == week_bounds("2026-W47", "UTC")
    with pytest.raises(InvalidInput, match=r"^week 'last week' is not of the form YYYY-Www"):
        parse_week("last week")  # the message quotes what was typed, not an upper-cased copy
    with pytest.raises(InvalidInput, match="^week ''"):
        parse_week("")


def test_weeks_out_of_the_calendar_are_refused_not_crashed():
    for far in ("9999-W52", "0001-W01"):
        with pytest.raises(InvalidInput, match=f"week '{far}': the year must be between 1900 and 9998"):
            week_bounds(far, "Asia/Tokyo")
