"""The public archive: sent issues only, neutral placeholders, the issue as the page's own HTML, the Atom feed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from web_helpers import draft_issue, sent_issue

from issues.web import create_app
from newsletter.workspace import Workspace

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def client(workspace: Workspace):
    return create_app(workspace).test_client()


def test_drafts_are_not_public(client, workspace: Workspace) -> None:
    issue_id = draft_issue(workspace)
    assert client.get(f"/issues/{issue_id}").status_code == 404
    assert client.get(f"/issues/{issue_id}/email").status_code == 404
    assert client.get(f"/issues/{issue_id}.txt").status_code == 404
    listing = client.get("/issues/").get_data(as_text=True)
    assert issue_id not in listing and "No issue has been sent yet" in listing
    feed = ET.fromstring(client.get("/issues/feed.xml").data)
    assert feed.findall(f"{ATOM}entry") == []


def test_a_sent_issue_is_listed_and_shown(client, workspace: Workspace) -> None:
    issue_id = sent_issue(workspace)
    listing = client.get("/issues/").get_data(as_text=True)
    assert f'href="/issues/{issue_id}"' in listing and "Hill repeats without the dread" in listing
    page = client.get(f"/issues/{issue_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/issues/{issue_id}/email"' in html and "<iframe" not in html  # the page holds the text itself
    assert "Hill repeats without the dread" in html
    home = client.get("/").get_data(as_text=True)
    assert f'href="/issues/{issue_id}"' in home and 'name="email"' in home


def test_the_web_copy_has_no_personal_data(client, workspace: Workspace) -> None:
    from subscribers import subscribe

    subscribe(workspace, "private.person@example.com", name="Private")
    issue_id = sent_issue(workspace)
    email = client.get(f"/issues/{issue_id}/email")
    text = client.get(f"/issues/{issue_id}.txt").get_data(as_text=True)
    feed = client.get("/issues/feed.xml").get_data(as_text=True)
    for body in (email.get_data(as_text=True), text, feed):
        assert "[[nl:" not in body
        assert "private.person" not in body and "Private" not in body
    for body in (email.get_data(as_text=True), text):
        assert "/unsubscribe/" in body  # the neutral link: the page explaining how to unsubscribe
    assert "/unsubscribe/" not in feed  # the feed carries the articles, not the mail's footer
    assert "https://news.example.com/unsubscribe/" in text
    csp = email.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "script-src" not in csp and "default-src 'none'" in csp
    assert email.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert '<base target="_top">' in email.get_data(as_text=True)


def test_the_feed_is_atom(client, workspace: Workspace) -> None:
    issue_id = sent_issue(workspace)
    response = client.get("/issues/feed.xml")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.tag == f"{ATOM}feed"
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}id").text == f"https://news.example.com/issues/{issue_id}"
    assert entry.find(f"{ATOM}title").text.startswith("Weekly Training Notes #1")
    assert entry.find(f"{ATOM}link").get("href") == f"https://news.example.com/issues/{issue_id}"
    content = entry.find(f"{ATOM}content")
    assert content.get("type") == "html" and "Hill repeats without the dread" in content.text
    assert entry.find(f"{ATOM}updated").text.startswith("20")


def test_issue_ids_are_not_a_path_into_anything(client, workspace: Workspace) -> None:
    sent_issue(workspace)
    for bad in ("../newsletter.toml", "2026-W99", "latest%00", "<script>"):
        response = client.get(f"/issues/{bad}")
        assert response.status_code == 404
        assert "<script>" not in response.get_data(as_text=True)


def test_the_issue_page_is_the_issues_own_accessible_html(client, workspace: Workspace) -> None:
    from bs4 import BeautifulSoup

    from issues.build import get_issue

    issue = get_issue(workspace, sent_issue(workspace))
    response = client.get(f"/issues/{issue.id}")
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert [h.get_text(strip=True) for h in soup.find_all("h1")] == [issue.subject]
    headings = [h.get_text(strip=True) for h in soup.select("article h2")]
    assert headings == [item.title for item in issue.items]  # every article, in order, as a heading
    for item in issue.items:
        assert soup.find("a", href=item.url, string=item.title) is not None
        assert item.excerpt in soup.get_text(" ", strip=True)
        for link in item.related:
            assert soup.find("a", href=link.url, string=link.title) is not None
    for img in soup.find_all("img"):
        assert img.get("alt") and img.get("height") != "auto"
    names = [a.get_text(" ", strip=True).lower() for a in soup.find_all("a")]
    assert not {"read more", "read more →", "click here", "here"} & set(names)
    assert soup.find("meta", attrs={"name": "description"})["content"] == issue.preheader
    assert "img-src 'self' data: https:" in response.headers["Content-Security-Policy"]


def test_the_feed_carries_clean_content_not_the_email(client, workspace: Workspace) -> None:
    from issues.build import get_issue

    issue = get_issue(workspace, sent_issue(workspace))
    [entry] = ET.fromstring(client.get("/issues/feed.xml").data).findall(f"{ATOM}entry")
    content = entry.find(f"{ATOM}content").text
    for item in issue.items:
        assert item.title.replace("&", "&amp;") in content and f'href="{item.url.replace("&", "&amp;")}"' in content
    for email_only in ("[if mso", "&zwnj;", "display:none", "View this issue in your browser", "unsubscribe",
                       "<table", "<style", issue.preheader):
        assert email_only not in content, email_only
    assert len(content) < 4000 * len(issue.items)


def test_favicon_and_media_are_served(client, workspace: Workspace) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"  # a real ICO file
    assert client.get("/static/favicon.svg").status_code == 200
    assert 'rel="icon"' in client.get("/issues/").get_data(as_text=True)
    media = workspace.path(workspace.settings.paths.media) / "samples"
    media.mkdir(parents=True)
    (media / "cover.jpg").write_bytes(b"\xff\xd8\xff jpeg")
    served = client.get("/media/samples/cover.jpg")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert client.get("/media/../newsletter.toml").status_code == 404
    assert client.get("/media/samples/missing.jpg").status_code == 404
