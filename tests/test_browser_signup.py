"""In Chromium: sign up, confirm from the emailed link, unsubscribe with the button; keyboard and phone."""

from __future__ import annotations

import time

import pytest
from browser_helpers import chromium, open_page, shot
from web_helpers import link_in, messages_to, path_of, sent_issue

from issues.web import create_app
from newsletter.web import BackgroundServer
from newsletter.workspace import Workspace
from subscribers import get_subscriber, make_token, subscribe
from subscribers.web import mail_worker


def _mail_to(ws: Workspace, address: str, limit: float = 30.0) -> list:
    """The messages to ``address`` once the web app's mail worker has written any (polls, bounded)."""
    deadline = time.monotonic() + limit
    while not (found := messages_to(ws, address)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


@pytest.fixture
def page(browser):
    with open_page(browser) as opened:
        yield opened


@pytest.fixture
def server(workspace: Workspace):
    app = create_app(workspace)
    with BackgroundServer(app) as running:
        running.app = app  # type: ignore[attr-defined]
        yield running


def test_sign_up_and_confirm_from_the_email(page, server, workspace: Workspace) -> None:
    page.goto(server.url + "/subscribe")
    shot(page, "subscribe")
    page.get_by_label("First name").fill("Maya <b>")
    page.get_by_label("Email address").fill("maya@example.com")
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    assert "maya@example.com" in page.inner_text("main")
    shot(page, "check-inbox")
    assert mail_worker(server.app).flush()
    assert get_subscriber(workspace, "maya@example.com").status == "pending"

    [mail] = _mail_to(workspace, "maya@example.com")  # sent by the queue worker after the answer
    page.goto(server.url + path_of(link_in(mail, "confirm")))
    button = page.get_by_role("button", name="Yes, send me the newsletter")
    button.wait_for()
    page.wait_for_load_state("networkidle")
    shot(page, "confirm")
    # a browser that opens the link and runs its scripts (as some mail scanners do) confirms nobody
    assert get_subscriber(workspace, "maya@example.com").status == "pending"
    button.press("Enter")  # keyboard works
    page.get_by_role("heading", name="You're in").wait_for()
    assert "Maya <b>" in page.inner_text("h1")
    shot(page, "confirmed")
    assert get_subscriber(workspace, "maya@example.com").status == "confirmed"

    page.goto(server.url + path_of(link_in(mail, "confirm")))
    page.get_by_role("heading", name="Already confirmed").wait_for()
    shot(page, "already-confirmed")
    assert page.csp_errors == []


def test_unsubscribe_with_the_button(page, server, workspace: Workspace) -> None:
    subscribe(workspace, "leo@example.com", confirmed=True, consent_text="Signed up at the club desk")
    reader = get_subscriber(workspace, "leo@example.com")
    page.goto(server.url + f"/unsubscribe/{make_token(workspace, 'unsubscribe', reader.id)}")
    button = page.get_by_role("button", name="Unsubscribe")
    button.wait_for()
    shot(page, "unsubscribe")
    assert get_subscriber(workspace, reader.id).status == "confirmed"  # opening the page changed nothing
    button.click()
    page.get_by_role("heading", name="You're unsubscribed").wait_for()
    shot(page, "unsubscribed")
    assert get_subscriber(workspace, reader.id).status == "unsubscribed"
    assert page.csp_errors == []


def test_a_forged_link_page_offers_a_new_confirmation(page, server) -> None:
    page.goto(server.url + "/confirm/forged.token.value")
    page.get_by_role("heading", name="Ask for a new confirmation email").wait_for()
    shot(page, "bad-confirm-link")
    page.get_by_label("Email address").fill("again@example.com")
    page.get_by_role("button", name="Send me a new link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()


def test_the_form_works_from_the_keyboard(page, server) -> None:
    page.goto(server.url + "/subscribe")
    focused = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert "signup-email" in focused and "signup-name" in focused and "Subscribe" in focused
    assert "signup-website" not in focused  # the honeypot is out of the tab order
    assert focused[0] == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_pages_fit_a_phone(browser, server, workspace: Workspace) -> None:
    issue_id = sent_issue(workspace)
    with open_page(browser, viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True) as phone:
        _fits_a_phone(phone, server, issue_id)


def _fits_a_phone(phone, server, issue_id: str) -> None:
    for path, name in (("/subscribe", "phone-subscribe"), ("/issues/", "phone-archive"),
                       (f"/issues/{issue_id}", "phone-issue"), ("/nowhere", "phone-404")):
        phone.goto(server.url + path)
        phone.wait_for_load_state("load")
        shot(phone, name)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} scrolls sideways on a phone ({width}px)"


def test_the_archive_in_the_browser(page, server, workspace: Workspace) -> None:
    issue_id = sent_issue(workspace)
    page.goto(server.url + "/issues/")
    shot(page, "archive")
    page.get_by_role("link", name="Hill repeats without the dread").first.click()
    page.wait_for_url(f"**/issues/{issue_id}")
    # the issue is the page's own text: its articles are headings a reader mode or a screen reader finds
    page.get_by_role("heading", name="Ten minutes of mobility after desk days").wait_for()
    assert page.locator("iframe").count() == 0
    page.get_by_role("link", name="the email as it was sent").click()
    page.wait_for_url(f"**/issues/{issue_id}/email")
    page.get_by_text("Ten minutes of mobility after desk days").first.wait_for()
    page.go_back()
    shot(page, "archive-issue")
    assert page.csp_errors == []


def _documented_snippet() -> str:
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "embed.md").read_text()
    return doc.split("```html\n", 1)[1].split("```", 1)[0]


def test_the_documented_snippet_is_what_the_server_hands_out(server) -> None:
    import urllib.request

    served = urllib.request.urlopen(server.url + "/subscribe/snippet").read().decode()
    assert served.strip() == _documented_snippet().strip()


def test_the_embedded_snippet_signs_up_from_the_blog(page, workspace: Workspace, monkeypatch) -> None:
    # The blog here is plain http (a form from https to this http server would stop at a warning).
    monkeypatch.setenv("NEWSLETTER_SITE_URL", "http://blog.example.com")
    app = create_app(Workspace(workspace.root))
    with BackgroundServer(app) as server:
        snippet = _documented_snippet().replace("https://news.example.com", server.url)
        blog_page = f"<!doctype html><html lang='en'><title>The blog</title><body><h1>A post</h1>{snippet}</body></html>"
        # served as the blog ([site] url, an allowed origin), so the browser's Origin header names it
        page.route("http://blog.example.com/posts/a-post", lambda route: route.fulfill(
            status=200, content_type="text/html", body=blog_page))
        page.goto("http://blog.example.com/posts/a-post")
        shot(page, "embedded-snippet", full_page=False)
        page.get_by_label("Email address").fill("from.the.blog@example.com")
        page.get_by_role("button", name="Subscribe").click()
        page.get_by_role("heading", name="Check your inbox").wait_for()
        assert mail_worker(app).flush()
    assert get_subscriber(workspace, "from.the.blog@example.com").status == "pending"
