"""The mails in Chromium: every text meets WCAG AA contrast in light, dark and Outlook.com's forced dark,
at desktop and phone widths; screenshots of each land in test-output/mail/ (MAIL_SCREENSHOTS)."""

from __future__ import annotations

import pytest
from browser_helpers import chromium, open_page
from mail_checks import force_outlook_dark, low_contrast, save_shot
from mail_fixtures import twelve_article_issue

from issues.build import render_issue, sample_fields
from newsletter.personalise import personalise
from newsletter.samples import IMAGES_DIR
from newsletter.workspace import Workspace
from subscribers.mailer import render_with_link

COVER = (IMAGES_DIR / "easy-run-park.jpg").read_bytes()


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


def _show(page, html: str) -> None:
    """Load ``html`` as the mail client would, every remote image answered with a sample cover."""
    page.route("**/*", lambda route: route.fulfill(body=COVER, content_type="image/jpeg")
               if route.request.resource_type == "image" else route.abort())
    page.set_content(html, wait_until="load")


def _check(browser, html: str, name: str, *, width: int = 1024) -> None:
    for scheme in ("light", "dark"):
        with open_page(browser, viewport={"width": width, "height": 900}, color_scheme=scheme) as page:
            _show(page, html)
            assert low_contrast(page) == [], f"{name} {scheme}"
            save_shot(page, f"{name}-{scheme}")
    with open_page(browser, viewport={"width": width, "height": 900}, color_scheme="light") as page:
        _show(page, html)
        force_outlook_dark(page)
        assert low_contrast(page) == [], f"{name} forced dark"
        save_shot(page, f"{name}-outlook-forced-dark")


@pytest.fixture
def issue_html(workspace: Workspace) -> str:
    issue = twelve_article_issue(workspace)
    rendered = render_issue(workspace, issue.id)
    return personalise(rendered.html, rendered.text, sample_fields(workspace))[0].decode()


def test_the_issue_meets_aa_contrast_light_dark_and_forced_dark(browser, issue_html: str) -> None:
    _check(browser, issue_html, "issue")


def test_the_issue_at_phone_width_has_no_sideways_scroll(browser, issue_html: str) -> None:
    with open_page(browser, viewport={"width": 375, "height": 800}) as page:
        _show(page, issue_html)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.evaluate("getComputedStyle(document.querySelector('h1')).fontSize") == "30px"
        assert low_contrast(page) == []
        save_shot(page, "issue-375px")


def test_dark_mode_really_changes_the_palette(browser, issue_html: str) -> None:
    """Without the dark rules the dark shot would equal the light one; the card must turn dark."""
    colours = {}
    for scheme in ("light", "dark"):
        with open_page(browser, color_scheme=scheme) as page:
            _show(page, issue_html)
            colours[scheme] = page.evaluate(
                "[getComputedStyle(document.body).backgroundColor,"
                " getComputedStyle(document.querySelector('.dm-card td')).backgroundColor]")
    assert colours["light"] == ["rgb(242, 239, 233)", "rgb(255, 255, 255)"]
    assert colours["dark"] == ["rgb(22, 26, 27)", "rgb(34, 41, 43)"]


@pytest.mark.parametrize("stem, field", [("confirm", "confirm_url"), ("welcome", "unsubscribe_url")])
def test_confirmation_and_welcome_meet_aa_contrast(browser, workspace: Workspace, stem: str, field: str) -> None:
    context = {"site": dict(workspace.settings.site), "expiry_days": 7}
    _text, html = render_with_link(workspace, stem, context, field, "https://news.example.com/x/TOKEN")
    _check(browser, html, stem, width=700)
