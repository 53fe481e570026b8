"""Per-reader placeholders: filled after rendering, HTML-escaped in the HTML part, raw in the text part."""

from __future__ import annotations

import html

import pytest

from newsletter.personalise import EMAIL, NAME, UNSUBSCRIBE_URL, PersonalisedTemplate, personalise

NASTY_NAME = '<b>Tom & "Jerry"</b>'
FIELDS = {
    "unsubscribe_url": "https://news.example.com/unsubscribe/abc?x=1&y='2'",
    "email": "tom+news@example.com",
    "name": NASTY_NAME,
}


def test_html_part_gets_escaped_values_text_part_raw_values() -> None:
    page = f'<p>Hi {NAME},</p><a href="{UNSUBSCRIBE_URL}" title=\'{NAME}\'>x</a><p>{EMAIL}</p>'
    text = f"Hi {NAME},\nUnsubscribe: {UNSUBSCRIBE_URL}\nSent to {EMAIL}\n"
    html_out, text_out = personalise(page, text, FIELDS)
    assert html_out.decode() == (
        "<p>Hi &lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;,</p>"
        '<a href="https://news.example.com/unsubscribe/abc?x=1&amp;y=&#x27;2&#x27;" '
        "title='&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;'>x</a><p>tom+news@example.com</p>"
    )
    assert text_out.decode() == (
        f"Hi {NASTY_NAME},\nUnsubscribe: {FIELDS['unsubscribe_url']}\nSent to tom+news@example.com\n"
    )
    # The escaped HTML unescapes back to exactly what the reader typed.
    assert html.unescape(html_out.decode()).count(NASTY_NAME) == 2


def test_template_fills_many_readers_independently_and_accepts_bytes() -> None:
    template = PersonalisedTemplate(f"<p>{NAME} {NAME}</p>".encode(), f"{EMAIL}".encode())
    assert template.fields == {"name", "email"}
    first = template.fill({"name": "Ana", "email": "ana@example.com"})
    second = template.fill({"name": "Ben", "email": "ben@example.com"})
    assert first == (b"<p>Ana Ana</p>", b"ana@example.com")
    assert second == (b"<p>Ben Ben</p>", b"ben@example.com")


def test_blank_name_reads_as_a_greeting_fallback_and_no_placeholder_survives() -> None:
    html_out, text_out = personalise(f"Hi {NAME}, {UNSUBSCRIBE_URL}", f"Hi {NAME}", {"unsubscribe_url": "u"})
    assert html_out == b"Hi there, u"
    assert text_out == b"Hi there"
    assert b"[[nl:" not in html_out + text_out


def test_text_without_placeholders_is_returned_unchanged() -> None:
    assert personalise("<p>plain</p>", "plain", FIELDS) == (b"<p>plain</p>", b"plain")


@pytest.mark.parametrize("value", ["ünïcödé Zoë", "日本語"])
def test_non_ascii_values_are_utf8(value: str) -> None:
    html_out, text_out = personalise(f"<p>{NAME}</p>", NAME, {"name": value})
    assert html_out.decode("utf-8") == f"<p>{value}</p>"
    assert text_out.decode("utf-8") == value
