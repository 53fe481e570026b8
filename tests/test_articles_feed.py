"""Feeds (RSS 2.0, Atom) from files and from a real HTTP server, good and broken."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsletter.articles import all_articles, get_article, import_sources
from newsletter.articles.fetch import fetch
from newsletter.errors import SourceError
from newsletter.samples import ARTICLES_DIR, FEED, PAGE

DATA = Path(__file__).parent / "data" / "articles"


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, str, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        status, content_type, body = self.routes.get(self.path, (404, "text/plain", b"not here"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Last-Modified", "Wed, 18 Nov 2026 10:00:00 GMT")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[tuple[str, dict]]:
    """A real HTTP server on loopback serving whatever the test puts in ``routes``."""
    routes: dict[str, tuple[int, str, bytes]] = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", routes
    server.shutdown()
    server.server_close()


def test_sample_rss_feed(workspace):
    report = import_sources(workspace, [FEED])
    assert report.counts["added"] == 4, report.entries
    winter = get_article(workspace, "winter-running-layers")
    assert winter.url == "https://blog.example.com/running/winter-running-layers"  # utm_* dropped
    assert winter.published_at == datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
    assert winter.author == "Sam Okafor"
    assert winter.tags == ["running", "winter", "gear"]
    assert winter.image == "https://blog.example.com/images/winter-run-snow.jpg"
    assert winter.image_alt == "A runner in a bright jacket on a snowy path at dawn"
    assert winter.summary.startswith("Dress for the second kilometre")
    assert "<h2>Three layers</h2>" in winter.body_html
    assert 'src="https://blog.example.com/images/winter-layers-flatlay.jpg"' in winter.body_html
    shin = get_article(workspace, "shin-splints-return-plan")
    assert shin.summary is None and shin.body_text.startswith("Shin splints show up")
    entry = next(e for e in report.entries if e.title == "Winter Running: How to Dress in Layers")
    assert entry.origin == f"{FEED}:15"


def test_feed_overlapping_markdown_keeps_the_markdown_version(workspace):
    together = import_sources(workspace, [ARTICLES_DIR, FEED])
    assert together.counts == {"added": 19, "updated": 0, "unchanged": 0, "skipped": 3, "failed": 0}
    shin = get_article(workspace, "shin-splints-return-plan")
    assert shin.source.startswith("markdown:") and "Week 1." in shin.body_text
    later = import_sources(workspace, [FEED])
    assert later.counts == {"added": 0, "updated": 0, "unchanged": 1, "skipped": 3, "failed": 0}
    assert all("kept the version imported from markdown:" in e.message
               for e in later.entries if e.status == "skipped")
    assert get_article(workspace, "shin-splints-return-plan").content_hash == shin.content_hash


def test_atom_feed_resolves_links_and_sanitises(workspace):
    report = import_sources(workspace, [DATA / "atom.xml"])
    assert report.counts["added"] == 1 and report.counts["failed"] == 1
    assert "no title" in report.failed[0].message
    tempo = get_article(workspace, "tempo-runs-explained")
    assert tempo.url == "https://blog.example.com/training/tempo-runs-explained"
    assert tempo.tags == ["training", "running"]
    assert tempo.image == "https://blog.example.com/images/tempo.jpg"
    assert tempo.image_alt == "A runner on a track at dusk"
    assert "<script" not in tempo.body_html and "onclick" not in tempo.body_html
    assert tempo.summary.startswith("Comfortably hard")


def test_feed_that_is_not_xml(workspace, tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text('<?xml version="1.0"?>\n<rss version="2.0">\n<channel>\n<item><title>A & B</title>\n</rss>\n')
    words = tmp_path / "feed.rss"
    words.write_text("just some words, not a feed at all\n")
    not_a_feed = tmp_path / "other.xml"
    not_a_feed.write_text('<?xml version="1.0"?>\n<catalog><book>Running</book></catalog>\n')
    report = import_sources(workspace, [broken, words, not_a_feed])
    messages = [e.message for e in report.failed]
    assert messages[0].startswith(f"{broken}:4: the feed is not well-formed XML")
    assert messages[0].endswith("; fix that line, or ask the feed's publisher to")
    assert messages[1].startswith(f"{words}:") and "not well-formed XML" in messages[1]
    assert messages[2] == (f"{not_a_feed}:1: not an RSS or Atom feed (no <rss> or <feed> element); "
                           "give the address of the site's RSS 2.0 or Atom feed")
    assert all_articles(workspace) == []


def test_feed_and_page_over_http(workspace, http_server):
    base, routes = http_server
    routes["/feed.xml"] = (200, "application/rss+xml", FEED.read_bytes())
    routes["/recovery/foam/"] = (200, "text/html; charset=utf-8", PAGE.read_bytes())
    report = import_sources(workspace, [f"{base}/feed.xml", f"{base}/recovery/foam/"])
    assert report.counts["added"] == 5, report.entries
    foam = get_article(workspace, "foam-rolling-without-the-hype")
    assert foam.url == "https://blog.example.com/recovery/foam-rolling-without-the-hype"  # its canonical link


def test_http_errors_are_reported(workspace, http_server):
    base, routes = http_server
    routes["/empty.xml"] = (200, "application/rss+xml", b"  \n")
    routes["/logo.png"] = (200, "image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    routes["/broken.xml"] = (503, "text/plain", b"down for maintenance")
    report = import_sources(workspace, [f"{base}/missing.xml", "http://127.0.0.1:9/feed.xml",
                                        f"{base}/empty.xml", f"{base}/logo.png", f"{base}/broken.xml",
                                        "ftp://files.example.com/feed.xml"])
    messages = [e.message for e in report.failed]
    assert messages[0] == f"{base}/missing.xml: the server answered 404 Not Found; check the address"
    assert messages[4].startswith(f"{base}/broken.xml: the server answered 503 ")
    assert messages[4].endswith("; the site has a problem; try again later")
    assert messages[5] == ("ftp://files.example.com/feed.xml: ftp: addresses cannot be imported; "
                           "give an http(s) address or a file")
    assert messages[1].startswith("http://127.0.0.1:9/feed.xml: cannot fetch")
    assert messages[2] == f"{base}/empty.xml: empty, nothing to import"
    assert messages[3].startswith(f"{base}/logo.png: this is a binary file")


def test_fetch_times_out(http_server):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection but never answers
    try:
        with pytest.raises(SourceError, match="no answer within 0.3 s|cannot fetch"):
            fetch(f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml", timeout=0.3)
    finally:
        listener.close()


def test_fetch_reads_last_modified(http_server):
    base, routes = http_server
    routes["/x"] = (200, "text/plain", b"hello")
    fetched = fetch(f"{base}/x")
    assert fetched.data == b"hello"
    assert fetched.last_modified == datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def test_feed_without_items(workspace, tmp_path):
    empty = tmp_path / "empty-feed.xml"
    empty.write_text('<?xml version="1.0"?>\n<rss version="2.0"><channel><title>T</title></channel></rss>\n')
    report = import_sources(workspace, [empty])
    assert report.failed[0].message == f"{empty}: the feed has no items"


def test_kind_is_sniffed_when_the_name_does_not_tell(workspace, tmp_path):
    from newsletter.articles.importer import sniff_kind

    assert sniff_kind(b"---\ntitle: x\n---\n") == "markdown"
    assert sniff_kind(FEED.read_bytes()) == "feed"
    assert sniff_kind(PAGE.read_bytes()) == "html"
    assert sniff_kind(b"A Title\n\nSome text.\n") == "text"
    assert sniff_kind(b"<html>", ".md") == "markdown"  # a suffix decides first
    assert sniff_kind(b"x", "", "application/atom+xml") == "feed"
    (tmp_path / "feed-without-suffix").write_bytes(FEED.read_bytes())
    assert import_sources(workspace, [tmp_path / "feed-without-suffix"]).counts["added"] == 4


def test_an_item_date_that_cannot_be_read_is_an_error_unless_dated_by_hand(workspace, tmp_path):
    feed = tmp_path / "odd-dates.xml"
    feed.write_text('<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Blog</title>\n'
                    "<item><title>Hill Repeats</title><link>https://blog.example.com/hills</link>\n"
                    "<pubDate>Mon, 45 Foo 2026 99:99:99</pubDate><description>Up and down.</description></item>\n"
                    "</channel></rss>\n")
    report = import_sources(workspace, [feed])
    assert [e.message for e in report.failed] == [
        f"{feed}:3: the date 'Mon, 45 Foo 2026 99:99:99' cannot be read; fix it at the source, "
        "or pass --date YYYY-MM-DD to date it yourself"
    ]
    assert all_articles(workspace) == []
    dated = import_sources(workspace, [feed], default_date=date(2026, 11, 17))
    assert dated.counts["added"] == 1
    assert dated.entries[0].notes == ["its date 'Mon, 45 Foo 2026 99:99:99' cannot be read; used --date 2026-11-17"]
