"""The chunked tokeniser finds the same words as the regex run over each text on its own."""

from __future__ import annotations

from collections import Counter

import numpy as np

from newsletter.related.text import _WORD, Analyzer, _pieces

TRICKY = [
    ("Crème brûlée — the naïve café's way", "Don't over-whip: rock'n'roll, o'clock, 'tis the runner's ab'c'de."),
    ("ΟΔΥΣΣΕΥΣ and Straße", "İstanbul ΣΊΣΥΦΟΣ ﬁne K-ray x-ray well-known covid19 h2o 3d 2nd ² ½ ٣ Ⅻ"),
    ("日本語のテキスト 中文 한국어", "emoji 😀word 👍🏽thumbs zero\u200dwidth e\u0301te\u0301 cafe\u0301s"),
    ("", "nbsp\u00a0joined em\u2003space ideographic\u3000space line\u2028sep next\x85line ǅemal ꞵeta 𝐀𝐁 bold"),
    ("under_score snake_case", "tabs\tand\nnewlines\r\nquotes “curly” ‘single’ it’s and ‘’ \"straight\" ''double''"),
    ("lone \ud800 surrogate", "a b c d e f aa bb cc x'y xy'z xy'zz'w ''' 'ab' -ab- _ab_ 1ab2"),
    (None, None),
]


def _expected(analyzer: Analyzer, title: str | None, body: str | None) -> tuple[list[str], set[str], Counter]:
    title_words = analyzer.tokens(title or "")  # the regex over the whole text
    counts = Counter(title_words + analyzer.tokens(body or ""))
    return sorted(counts), set(title_words), counts


def test_words_match_the_regex_over_each_text_alone_or_in_a_chunk() -> None:
    analyzer = Analyzer()
    stems, vectors = analyzer.vectors(TRICKY)
    for (title, body), (positions, body_w, title_w) in zip(TRICKY, vectors, strict=True):
        terms, in_title, counts = _expected(analyzer, title, body)
        assert [stems[p] for p in positions.tolist()] == terms
        assert [terms[k] for k in np.flatnonzero(title_w).tolist()] == sorted(in_title)
        weights = np.log([counts[t] for t in terms]) + 1.0
        assert np.allclose(body_w, weights / np.linalg.norm(weights) if len(terms) else weights, rtol=1e-6)
        alone = analyzer.vector(title or "", body or "")
        assert alone.terms == terms
        assert alone.body.tobytes() == body_w.tobytes() and alone.title.tobytes() == title_w.tobytes()


def test_the_tricky_texts_reach_every_path_of_the_splitting() -> None:
    pieces = [p.decode("utf-8", "surrogatepass") for t, b in TRICKY for p in _pieces(f"{t or ''} {b or ''}")]
    words = [_WORD.findall(p) for p in pieces]
    assert any(len(w) > 1 for w in words)  # a piece of several words (an em dash, a no-break space, CJK)
    assert any(len(w) == 0 for w in words)  # a piece with no word: a lone letter, apostrophes alone
    assert {"rock'n", "don't", "naïve", "ǆemal"} <= {w for found in words for w in found}
