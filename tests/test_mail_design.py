"""What a reader's mail client gets, checked on the rendered output: structure for screen readers, valid
images, dark-mode declarations, a preheader without hidden tiny text, UTM on every blog link, the size
budget, the Date and Feedback-ID headers, and the service mails' look and wording."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup, Comment
from mail_fixtures import twelve_article_issue
from send_fixtures import add_readers, build_issue
from web_helpers import messages_to

from issues.build import render_issue, sample_fields, sample_message
from issues.preview import GMAIL_CLIP_BYTES
from issues.preview import sample_fields as preview_fields
from newsletter.personalise import personalise
from newsletter.workspace import Workspace
from subscribers import subscribe
from subscribers.mailer import render_with_link

GENERIC_LINK_TEXT = {"read more", "more", "click here", "here", "link", "read", "continue reading"}
BLOG_HOST = "blog.example.com"


@pytest.fixture
def twelve(workspace: Workspace):
    return twelve_article_issue(workspace)


@pytest.fixture
def issue_soup(workspace: Workspace, twelve) -> BeautifulSoup:
    rendered = render_issue(workspace, twelve.id)
    html = personalise(rendered.html, rendered.text, sample_fields(workspace))[0].decode()
    return BeautifulSoup(html, "html.parser")


def _service_mail(ws: Workspace, stem: str) -> tuple[str, BeautifulSoup]:
    field = "confirm_url" if stem == "confirm" else "unsubscribe_url"
    context = {"site": dict(ws.settings.site), "expiry_days": 7}
    text, html = render_with_link(ws, stem, context, field, "https://news.example.com/x/TOKEN")
    return text, BeautifulSoup(html, "html.parser")


def test_twelve_articles_stay_under_70_percent_of_gmails_clip(workspace: Workspace, twelve) -> None:
    assert len(twelve.items) == 12 and all(len(item.related) == 3 for item in twelve.items)
    assert all(item.image and item.author and len(item.tags) >= 3 for item in twelve.items)
    rendered = render_issue(workspace, twelve.id)
    filled = personalise(rendered.html, rendered.text, preview_fields(workspace))[0]
    assert len(filled) < 0.70 * GMAIL_CLIP_BYTES, f"{len(filled)} bytes, {len(filled) / GMAIL_CLIP_BYTES:.0%}"


def test_one_h1_and_a_heading_per_article(issue_soup: BeautifulSoup, twelve) -> None:
    assert [h.get_text(strip=True) for h in issue_soup.find_all("h1")] == ["Weekly Training Notes"]
    assert [h.get_text(strip=True) for h in issue_soup.find_all("h2")] == [item.title for item in twelve.items]


def test_every_link_names_where_it_goes(issue_soup: BeautifulSoup, twelve) -> None:
    names: dict[str, str] = {}
    for a in issue_soup.find_all("a"):
        if a.get("aria-hidden") == "true":  # the cover image: the title and the button already lead there
            assert a.get("tabindex") == "-1" and a.find_next("a", class_="dm-title")["href"] == a["href"]
            continue
        visible = " ".join(t for t in a.find_all(string=True) if not t.find_parent(attrs={"aria-hidden": "true"}))
        name = " ".join((visible + " " + " ".join(img.get("alt", "") for img in a.find_all("img"))).split())
        assert name and name.lower() not in GENERIC_LINK_TEXT, a
        assert names.setdefault(name, a["href"]) == a["href"], f"{name!r} points at two places"
    buttons = [a.get_text(" ", strip=True) for a in issue_soup.select("a.dm-btn")]
    assert len(buttons) == 12 and len(set(buttons)) == 12  # no six identical "Read more"
    assert buttons[0].startswith("Read “Article 0 of a heavy week”")


def test_images_have_alt_and_valid_sizes(issue_soup: BeautifulSoup) -> None:
    images = issue_soup.find_all("img")
    assert len(images) == 12
    for img in images:
        assert img.get("alt")
        for attribute in ("width", "height"):
            assert img.get(attribute) is None or img[attribute].isdigit(), img  # never height="auto"


def test_dark_mode_is_declared_for_apple_mail_and_outlook_com(issue_soup: BeautifulSoup) -> None:
    assert issue_soup.find("meta", attrs={"name": "color-scheme"})["content"] == "light dark"
    assert issue_soup.find("meta", attrs={"name": "supported-color-schemes"})["content"] == "light dark"
    css = " ".join(style.get_text() for style in issue_soup.find_all("style"))
    assert "color-scheme: light dark" in css and "@media (prefers-color-scheme: dark)" in css
    assert "[data-ogsc] .dm-title" in css and "[data-ogsb] .dm-card td" in css


def test_the_preheader_hides_without_tiny_or_invisible_text(issue_soup: BeautifulSoup, twelve) -> None:
    first = issue_soup.body.find("div").find("div")
    assert first.get_text().startswith(twelve.preheader)
    style = first["style"].replace(" ", "")
    assert "display:none" in style and "max-height:0" in style and "mso-hide:all" in style
    for element in issue_soup.body.find_all(style=True):
        rule = element["style"].replace(" ", "").lower()
        own_text = "".join(t for t in element.find_all(string=True, recursive=False)
                           if not isinstance(t, Comment)).strip()
        assert not (own_text and re.search(r"font-size:[01](px)?;", rule)), element  # hidden-text bait
        assert "color:#ffffff" not in rule or "background" in rule or element.find_parent(class_="dm-mast") \
            or element.find_parent(class_="dm-btn") or "dm-btn" in element.get("class", []) \
            or "dm-onmast" in element.get("class", []), element


def _blog_links(urls: list[str]) -> list[str]:
    return [url for url in urls if urlsplit(url).hostname == BLOG_HOST]


def test_every_blog_link_carries_the_campaign(workspace: Workspace, issue_soup: BeautifulSoup, twelve) -> None:
    html_links = _blog_links([a["href"] for a in issue_soup.find_all("a")])
    text = render_issue(workspace, twelve.id).text
    text_links = _blog_links(re.findall(r"https?://\S+", text))
    assert len(html_links) >= 12 * 3 + 12 * 3 + 1 and len(text_links) >= 12 * 4
    for url in html_links + text_links:
        query = parse_qs(urlsplit(url).query)
        assert query.get("utm_source") == ["newsletter"] and query.get("utm_medium") == ["email"], url
        assert query.get("utm_campaign") == [twelve.id], url
    masthead = issue_soup.find("h1").find("a")["href"]
    assert masthead.startswith("https://blog.example.com") and "utm_campaign=2026-W47" in masthead


def test_date_is_plus_0000_and_feedback_id_names_the_campaign(workspace: Workspace) -> None:
    issue_id = build_issue(workspace)
    message = message_from_bytes(sample_message(workspace, render_issue(workspace, issue_id),
                                                sample_fields(workspace)), policy=policy.default)
    assert re.search(r"^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$", str(message["Date"]))
    assert message["Feedback-ID"] == f"{issue_id.lower()}:weekly-training-notes:issue:example.com"


def test_service_mails_share_the_issue_look_and_headers(workspace: Workspace) -> None:
    for stem in ("confirm", "welcome"):
        _text, soup = _service_mail(workspace, stem)
        assert [h.get_text(strip=True) for h in soup.find_all("h1")] == ["Weekly Training Notes"]
        assert soup.find("meta", attrs={"name": "color-scheme"})["content"] == "light dark"
        assert soup.body["style"].replace(" ", "").count("background-color:#f2efe9") == 1  # the issue's paper
        assert soup.select(".dm-card") and soup.select(".dm-mast")
        assert not soup.find(string=re.compile("#1a73e8")) and "#1a73e8" not in str(soup)  # the old plain blue
        for img in soup.find_all("img"):
            assert img.get("height") != "auto"
    subscribe(workspace, "new.reader@example.org")
    [confirmation] = messages_to(workspace, "new.reader@example.org")
    assert re.search(r"\+0000$", str(confirmation["Date"]))
    assert confirmation["Feedback-ID"] == "weekly-training-notes:confirm:example.com"


def test_welcome_says_what_it_offers_once(workspace: Workspace) -> None:
    text, soup = _service_mail(workspace, "welcome")
    description = str(workspace.settings.site.description)
    body = soup.get_text(" ", strip=True)
    assert description not in body and description not in text  # said once, in other words
    assert body.count("related pieces worth reading next") == 1
    blog = soup.find("a", string="blog.example.com")["href"]
    assert "utm_campaign=welcome" in blog and "utm_campaign=welcome" in text


def test_issue_footer_is_true_for_readers_added_any_way(issue_soup: BeautifulSoup, workspace: Workspace,
                                                        twelve) -> None:
    footer = issue_soup.select_one(".footer").get_text(" ", strip=True)
    assert "is subscribed to it" in footer and "signed up at" not in footer
    assert "signed up at" not in render_issue(workspace, twelve.id).text


def test_preview_and_issue_render_greet_the_same_reader(workspace: Workspace) -> None:
    assert preview_fields(workspace)["name"] == sample_fields(workspace)["name"]
    assert preview_fields(workspace)["email"] == sample_fields(workspace)["email"]


def test_send_prompt_counts_one_reader_in_the_singular(workspace: Workspace, cli) -> None:
    build_issue(workspace)
    add_readers(workspace, 1)
    refused = cli("send", "2026-W47", input="n\n")
    assert "to 1 reader via maildir" in refused.output
