"""Where the article stands in a saved page, from the shape of its lines alone.

A page saved as text is the article's paragraphs with the site around it: menus,
teasers, share bars, comment threads, footers.  Article text comes in long lines that
read as sentences; the rest comes in runs of short lines.  Each line scores by its
length (prose gains, short lines cost more the longer their run), and the article is
the stretch of lines with the best total.  The headline is then the line above it that
reads like a title, whose words the body uses, best when its own byline or dateline
follows it; a line that is one item of a list (teasers with their dates or summaries,
captions, a menu) is not one.  No wording of any site is involved: only length,
punctuation, position and the repeating shape of lines.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from . import text_chrome as chrome

# Scripts written without spaces between words: about two characters make a word's worth.
UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\u1000-\u109f]")
SYLLABIC = re.compile(r"[\uac00-\ud7af]")  # Hangul: each letter a syllable, so words are short and endings long
SENTENCE_END = re.compile(r"[.!?。！？…][\"'”’»)\]]*$|[:;]$")
SENTENCE_INSIDE = re.compile(r"\w[.!?。！？][\"'”’»)]?\s+\S|[。！？]")
DATE_HINT = re.compile(r"\b(1[89]\d\d|20\d\d)\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b"
                       r"|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b"
                       r"|\b\d{1,2}\.? (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b\d{1,2}:\d\d\b|\b\d+\s*(min|mins|minutes|hours?|days?)\b"
                       r"|\b(ago|am|pm|gmt|utc|[ecmp][sd]t)\b", re.I)
BYLINE = re.compile(r"^(by|von|par|por|di|door|av|przez|от|автор)\b|^(written|words|posted|published) by\b", re.I)
CREDIT = re.compile(r"^[\w ]{0,20}\b(photo|photograph|image|picture|video|credit|foto|bild)s?\b[^:]{0,20}:", re.I)
CRUMB = re.compile(r"\s[>»›]\s")  # Home > Recipes > Soups: a breadcrumb trail
# "Anna Lee/Reuters", "Alex Wong | Getty Images": a person's name, then the agency
NAME_AGENCY = re.compile(r"^[A-Z][\w'’-]+(?: [A-Z][\w'’.-]*){1,2}\s*[/|]\s*[A-Z]")
STAMP = re.compile(r"\b(1[89]\d\d|20\d\d)\b|\b\d{1,2}:\d\d\b|\b\d+\s*(min|mins|minutes|hours?|days?|weeks?)\s+ago\b", re.I)
YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
FULL_STOP = re.compile(r"[^.][.。][\"'”’»)\]]*$")  # a sentence's end; a question may be a headline
BRACKETED = re.compile(r"^[(\[].*[)\]]$")
RUN_CAP = 8
BREAK_RUN = 6  # this many menu-like lines in a row end any article
COHERENCE_FLOOR = 0.5
HEADLINE_FLOOR, HEADLINE_LOOKBACK = 0.25, 12
BREAK_GAP, ON_TOPIC = 12, 0.5  # a continuation after a box: this near, this much on the body's topic
MEDIUM, MEDIUM_COST = 5, 0.5  # a line of a list or a heading: not prose, not a menu item  # a run of short lines costs 1, 2, 3 ... up to this per line


@dataclass
class Line:
    """One non-empty line of the page and what its shape says."""

    text: str
    units: float  # words, or two characters of a script written without spaces
    prose: bool
    repeated: bool  # the same text stands elsewhere on the page (menus, teasers, share bars)


def units(text: str) -> float:
    unspaced = len(UNSPACED.findall(text))
    if not unspaced:
        return float(len(text.split()))
    spaced = len(UNSPACED.sub(" ", text).split())
    return spaced + unspaced / 2


def is_prose(text: str, size: float) -> bool:
    """A line that reads as article text: long, or a sentence of some length."""
    if chrome.is_junk_line(text) or is_keyword_list(text):
        return False
    if size >= 20:
        return bool(re.search(r"[.!?;:,。！？、，]", text)) or bool(UNSPACED.search(text))
    return size >= 8 and bool(SENTENCE_END.search(text) or SENTENCE_INSIDE.search(text))


def is_dated(text: str) -> bool:
    """Whether a text names a day or a time (a year alone is not enough: titles name years)."""
    found = DATE_HINT.findall(text)
    return len(found) >= 2 or bool(DATE_HINT.search(YEAR.sub(" ", text)))


def is_keyword_list(text: str) -> bool:
    """``running, trail shoes, hills, recovery``: tags or keywords joined by commas, not a sentence."""
    parts = [p for p in re.split(r"\s*[,|/]\s*", text) if p.strip()]
    return len(parts) >= 4 and all(len(p.split()) <= 4 for p in parts) and not SENTENCE_END.search(text)


def read_lines(texts: list[str]) -> list[Line]:
    counts = Counter(t.strip().casefold() for t in texts)
    out = []
    for text in texts:
        size = units(text)
        out.append(Line(text, size, is_prose(text, size), counts[text.strip().casefold()] > 1))
    return out


def line_scores(lines: list[Line]) -> list[float]:
    """Prose gains its length; a short line costs its place in the run of short lines."""
    scores, run = [], 0
    for line in lines:
        if line.prose and not line.repeated:
            run = 0
            scores.append(line.units)
        elif line.units >= MEDIUM and not line.repeated:
            scores.append(-MEDIUM_COST)
        else:
            run += 1
            scores.append(-float(min(run, RUN_CAP)))
    return scores


def best_stretch(scores: list[float]) -> tuple[int, int]:
    """``(start, end)`` (end exclusive) of the stretch with the highest total."""
    best, best_at = float("-inf"), (0, 0)
    total, start = 0.0, 0
    for i, score in enumerate(scores):
        if total <= 0:
            total, start = 0.0, i
        total += score
        if total > best:
            best, best_at = total, (start, i + 1)
    return best_at


def is_menu_like(line: Line) -> bool:
    return (line.units < MEDIUM or line.repeated) and not line.prose


def is_stamp(line: Line) -> bool:
    """A short line with a date or a time: a dateline, a comment's or a teaser's time stamp.
    The article's text runs between such lines, never across one."""
    return line.units <= 10 and not line.prose and (bool(STAMP.search(line.text)) or is_byline(line))


def is_byline(line: Line) -> bool:
    return line.units <= 8 and bool(BYLINE.match(line.text.strip()))


def segments(lines: list[Line]) -> list[tuple[int, int, bool]]:
    """The page cut at every run of ``BREAK_RUN`` or more menu-like lines (no article runs on
    through a menu, a share bar, a list of links) and at every time stamp; each piece says
    whether it follows a stamp (a new post or comment begins there)."""
    pieces: list[tuple[int, int, bool]] = []
    at, after_stamp, run_start = 0, False, None
    for i in range(len(lines) + 1):
        line = lines[i] if i < len(lines) else None
        if line is not None and is_menu_like(line) and not is_stamp(line):
            run_start = i if run_start is None else run_start
            continue
        stamp = line is not None and is_stamp(line)
        if run_start is not None and i - run_start >= BREAK_RUN or stamp or line is None:
            cut = run_start if run_start is not None else i
            if cut > at:
                pieces.append((at, cut, after_stamp))
            # a stamp in brackets dates a picture or a video inside the article, not a new post
            at, after_stamp = i + 1 if stamp else i, stamp and not BRACKETED.match(line.text.strip())
        run_start = None
    return pieces


def coherence(lines: list[Line]) -> float:
    """How much the prose lines talk about the same things: the average share of a line's
    words that other lines use too.  An article's paragraphs share words; teasers do not."""
    sets = [terms(line.text) for line in lines if line.prose]
    if len(sets) < 2:
        return 0.25
    counts: Counter[str] = Counter(t for found in sets for t in found)
    return sum(sum(counts[t] > 1 for t in found) / max(len(found), 1) for found in sets) / len(sets)


def find_body(lines: list[Line]) -> tuple[int, int]:
    """The article's lines ``[start, end)``; a page with no prose at all keeps everything."""
    if not any(line.prose for line in lines):
        return 0, len(lines)
    scores = line_scores(lines)
    pieces = segments(lines)
    shapes = page_shapes(lines)
    stretches = []
    for seg_start, seg_end, _ in pieces:
        start, end = best_stretch(scores[seg_start:seg_end])
        stretches.append((start + seg_start, end + seg_start))
    values = [sum(scores[a:b]) * (COHERENCE_FLOOR + coherence(lines[a:b]))
              * (HEADLINE_FLOOR + headline_strength(lines, a, b, shapes)) for a, b in stretches]
    chosen = max(range(len(stretches)), key=values.__getitem__)
    start, end = stretches[chosen]
    # the article goes on after a box of links or a share bar when the text after it is on its topic
    for k in range(chosen + 1, len(pieces)):
        if pieces[k][2] or pieces[k][0] - end > BREAK_GAP or not on_topic(lines, stretches[k], (start, end)):
            break
        end = max(end, stretches[k][1])
    return start, end


def on_topic(lines: list[Line], piece: tuple[int, int], body: tuple[int, int]) -> bool:
    """Whether most words of ``piece``'s prose are words of ``body``."""
    counts = _topic_counts(lines, *body)
    mine = _topic_counts(lines, *piece)
    return bool(mine) and sum(t in counts for t in mine) / len(mine) >= ON_TOPIC


def title_like(line: Line, sentence: bool = False) -> bool:
    """A line that could be a headline: 2 to 30 words, no final full stop, starts with a capital,
    not a byline, a credit, a date or a link.  With ``sentence`` a line that ends like a
    sentence is fine too (a headline written as one, when its byline or dateline follows)."""
    text = line.text.strip()
    if not (2 <= line.units <= 30) or len(text) > 250 or chrome.is_junk_line(text) or chrome.URL.search(text):
        return False
    if not sentence and text.endswith((".", ",", ";", ":", "…")) and not text.endswith(("...", "..")):
        return False
    if text.startswith(("@", "#", "(", "©")) or text.endswith((")", "]")) or CREDIT.match(text) \
            or NAME_AGENCY.match(text) or BYLINE.match(text) or CRUMB.search(text):
        return False
    if is_dated(text) and line.units <= 8 or len(DATE_HINT.findall(text)) >= 2 and line.units <= 14:
        return False
    first = text.lstrip("\"'“‘«¿¡[")[:1]
    return bool(first) and (first.isupper() or first.isdigit() or not first.isascii())


def terms(text: str) -> set[str]:
    """The words of a text that carry its topic, cut to five letters (a crude stem for any
    language: ``republicans`` and ``republican`` meet; two syllables of Hangul), and
    character pairs of scripts written without spaces."""
    lowered = text.casefold()
    found = set()
    for word in re.findall(r"\w{2,}", UNSPACED.sub(" ", lowered)):
        if SYLLABIC.match(word):
            found.add(word[:2])  # the stem's first two syllables; particles and endings follow
        elif len(word) >= 4:
            found.add(word[:5])
    chars = "".join(UNSPACED.findall(lowered))
    found.update(chars[i:i + 2] for i in range(len(chars) - 1))
    return found


def is_share_bar(text: str) -> bool:
    """``Share Tweet Email``: a row of buttons, mostly words of sharing and social sites."""
    found = re.findall(r"\w+", text.casefold())
    return bool(found) and sum(w in chrome.SHARE_WORDS for w in found) / len(found) >= 0.5


def _topic_counts(lines: list[Line], start: int, end: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in lines[start:end]:
        if line.prose:
            counts.update(terms(line.text))
    return counts


def shape(line: Line) -> str:
    """One letter for a line's shape: a stamp or byline, prose, a title, anything else."""
    if line.units <= 10 and is_dated(line.text) or is_byline(line):
        return "S"
    if line.prose:
        return "P"
    return "T" if title_like(line) else "M"


def in_series(lines: list[Line], shapes: str, i: int) -> bool:
    """Whether line ``i`` is one item of a list: the shapes of the lines from it repeat with a
    period of one to four lines at least three times, each item about as long as the others
    (teasers with their dates or their summaries, a run of captions)."""
    for k in range(1, 5):
        unit = shapes[i:i + k]
        if len(unit) < k or unit[0] not in "TS":
            continue
        same = [0 <= j and shapes[j:j + k] == unit and 0.5 <= lines[j].units / lines[i].units <= 2
                for j in (i - 2 * k, i - k, i + k, i + 2 * k)]
        if same[0] and same[1] or same[1] and same[2] or same[2] and same[3]:
            return True
    return False


def dated(lines: list[Line], shapes: str, i: int) -> bool:
    """Whether a byline or a dateline of its own (not one of a list's) follows line ``i`` within
    three lines, with short lines or one longer line (a standfirst) between: what follows a
    headline."""
    longer = 0
    for j in range(i + 1, min(i + 4, len(lines))):
        if shapes[j] == "S":
            return not in_series(lines, shapes, j)
        longer += shapes[j] != "M" and lines[j].units > 3  # labels and buttons do not count
        if longer > 1:
            return False
    return False


def page_shapes(lines: list[Line]) -> str:
    return "".join(shape(line) for line in lines)


def title_candidates(lines: list[Line], start: int, end: int, lookback: int,
                     shapes: str) -> list[tuple[float, float, int, bool]]:
    """``(score, about, index, listed)`` of every line near the top of ``[start, end)`` that could
    be its headline: ``about`` is the share of its words the body uses, the score adds length,
    nearness and a byline or dateline after it; ``listed`` says it is one item of a list."""
    counts = _topic_counts(lines, start, end)
    found = []
    for i in range(max(start - lookback, 0), min(start + 1, len(lines))):
        line = lines[i]
        headed = i < start and dated(lines, shapes, i)
        if not title_like(line, sentence=headed and shapes[i + 1] == "S") or is_share_bar(line.text):
            continue
        after = lines[i + 1:i + 4]
        if i >= start and (SENTENCE_END.search(line.text) or not after or after[0].prose):
            continue  # the body's first line is its headline only when a byline or a date follows
        mine = terms(line.text)
        own = 1 if start <= i < end and line.prose else 0  # the body's own line says nothing
        about = sum(counts[t] > own for t in mine) / (len(mine) + 1)  # one word alone proves little
        # lines between that are menus, share bars or stamps push the headline away less
        distance = 1 + sum(0.25 if is_menu_like(x) else 1 for x in lines[i + 1:start]) if i < start else 2
        listed = not headed and in_series(lines, shapes, i)
        score = (3 * about + min(line.units, 10) / 10 - distance / 20 - (0.5 if line.prose else 0)
                 - (0.5 if FULL_STOP.search(line.text) else 0)
                 - (1 if line.units <= 3 and not headed else 0) + (0.6 if headed else 0) - (1 if listed else 0))
        found.append((score, about, i, listed))
    return found


def headline_strength(lines: list[Line], start: int, end: int, shapes: str) -> float:
    """How well a stretch is announced by a headline just above it (0 to 1)."""
    found = [about for _, about, i, listed in title_candidates(lines, start, end, HEADLINE_LOOKBACK, shapes)
             if lines[i].units >= 3 and not (i < start and lines[i].prose) and not listed]
    return max(found, default=0.0)


def find_title(lines: list[Line], start: int, end: int, lookback: int = 40) -> int | None:
    """The headline: the line above the body (or at its top) that reads like a title and whose
    words the body is about, nearer ones first."""
    found = title_candidates(lines, start, end, lookback, page_shapes(lines))
    return max(found)[2] if found else None
