"""Excerpts cut at a sentence boundary and UTM-tagged links."""

from __future__ import annotations

from issues.build import absolute_url, cut_at_sentence, excerpt_for, with_utm

UTM = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "2026-W47"}


def sentences(n: int, words: int = 10) -> str:
    return " ".join(" ".join(["word"] * (words - 1)) + f" s{i}." for i in range(n))


def test_cut_picks_the_sentence_boundary_nearest_the_target() -> None:
    text = sentences(8)  # 80 words in sentences of 10
    assert len(cut_at_sentence(text, 50).split()) == 50
    assert cut_at_sentence(text, 44).endswith("s3.")  # 40 is nearer than 50
    assert cut_at_sentence(text, 46).endswith("s4.")


def test_short_text_is_kept_whole_and_headings_are_skipped() -> None:
    assert cut_at_sentence("Warm up\n\nEase in first. Then run.", 50) == "Ease in first. Then run."


def test_excerpt_stops_at_the_next_heading_once_long_enough() -> None:
    text = f"Intro\n\n{sentences(3)}\n\nThe evening before\n\nThere is no need for pasta. {sentences(4)}"
    assert cut_at_sentence(text, 50) == sentences(3)
    short = "Intro\n\nOne short line first.\n\nA heading\n\n" + sentences(4)
    assert cut_at_sentence(short, 40).startswith("One short line first. word")


def test_abbreviations_are_not_sentence_ends() -> None:
    text = "Eat well, e.g. oats and eggs, before a long run and after it as well. " + sentences(6)
    cut = cut_at_sentence(text, 12)
    assert cut.endswith("as well.")


def test_one_huge_sentence_is_cut_at_a_word_with_an_ellipsis() -> None:
    text = " ".join(f"w{i}" for i in range(200)) + "."
    cut = cut_at_sentence(text, 50)
    assert cut.endswith("w49…") and len(cut.split()) == 50


def test_summary_wins_over_the_body() -> None:
    assert excerpt_for("  Given   summary. ", sentences(9), 50) == "Given summary."
    assert excerpt_for(None, sentences(2), 50) == sentences(2)
    assert excerpt_for(sentences(9), "", 50) == sentences(9)  # up to twice the length: kept whole
    assert excerpt_for(sentences(11), "", 50) == sentences(5)  # a feed's whole text as "summary": cut


def test_utm_keeps_query_and_fragment_and_replaces_old_utm() -> None:
    url = with_utm("https://blog.example.com/p?a=1&utm_source=old&b=x%20y#part-2", UTM)
    assert url == ("https://blog.example.com/p?a=1&b=x+y&utm_source=newsletter&utm_medium=email"
                   "&utm_campaign=2026-W47#part-2")
    assert with_utm("mailto:x@example.com", UTM) == "mailto:x@example.com"
    assert with_utm("https://b.example/p", {**UTM, "utm_medium": ""}) == (
        "https://b.example/p?utm_source=newsletter&utm_campaign=2026-W47"
    )


def test_absolute_url() -> None:
    assert absolute_url("/img/a.jpg", "https://blog.example.com/posts/x") == "https://blog.example.com/img/a.jpg"
    assert absolute_url("a.jpg", "https://blog.example.com/posts/x") == "https://blog.example.com/posts/a.jpg"
    assert absolute_url("https://cdn.example/a.jpg", "https://blog.example.com") == "https://cdn.example/a.jpg"
    assert absolute_url("", "https://blog.example.com") == ""
