"""Telling a saved page's chrome from its article: tracking junk, menus, sign-up pitches,
author bio boxes, "related articles" lists, share bars and footers.

The tests are about shape and wording that such chrome shares across sites (short
lines, button labels, sign-up vocabulary, opener headings), not about one page.
"""

from __future__ import annotations

import re

TERMINAL = tuple(".!?…:;,")
NOT_HEADING_END = tuple(".!…:;,")  # a question mark may end a heading; a full stop may not
BULLET = re.compile(r"^\s*(?:[-*•·‣◦–]\s+|(\d{1,3})[.)]\s+|\[(\d{1,3})\]\s*)")
URL = re.compile(r"https?://[^\s<>\"')\]]+")
TRACKING_HINTS = re.compile(
    r"utm_[a-z]+=|[?&](tid|cid|fbclid|gclid|mc_eid|_hsenc)=|/(pixel|beacon|collect|track(ing)?|t\.gif|p\.gif)\b"
    r"|\b(gtag|dataLayer|_gaq|fbq|_paq|ga)\s*\(|\bwindow\.|\bdocument\.|function\s*\(|;\s*$",
    re.I,
)
JUNK_LINES = [
    re.compile(p, re.I)
    for p in (
        r"^skip to (the )?(main )?(content|navigation|article)$",
        r"^(share( (on|this|via|article|post|story)\b.*)?|tweet|pin it|copy( the)? link|print( this)?( article| page)?"
        r"|email this|save( for later)?|listen( to this article)?)$",
        r"^(advertisement|advertising|sponsored( content)?|ad|promoted|adchoices|paid content)$",
        r"^\d+\s*(min(ute)?s?|mins?)\.?\s+read$",
        r"^(back to top|top|menu|search|close|open menu|toggle navigation|previous|next|older posts|newer posts)$",
        r"^\[(image|photo|picture|img|video|embed)(:[^\]]*)?\]$",
        r"^!\[[^\]]*\]\([^)]*\)$",
        r"^data:[a-z]+/",
        r"^(loading|advertisement continues below|continue reading below|story continues below)\.*$",
    )
]
PIXEL_HINTS = re.compile(r"[?&](tid|cid)=|/(pixel|beacon|collect|track(ing)?|t\.gif|p\.gif)\b", re.I)
PERSON = re.compile(r"^[A-Z][\w'’-]+( [A-Z][\w.'’-]*){1,3}$")
LEGAL = re.compile(r"^(©|\(c\)\s*\d{4}|copyright\s+(©\s*)?\d{4}).*|.*\ball rights reserved\.?$", re.I)
COOKIE_BANNER = re.compile(r"\b(we use cookies|this (web)?site uses cookies|cookie (settings|policy|preferences)|"
                           r"accept (all )?cookies|manage (cookies|cookie settings|preferences))\b", re.I)
COOKIE_CONTEXT = re.compile(r"\b(site|website|experience|browsing|accept|consent|privacy|analytics|settings|"
                            r"personali[sz]e|advertising|ads|traffic)\b", re.I)
NAV_SEPARATORS = re.compile(r"\s+(?:\||·|•|›|»)\s+|\s{3,}")
SIGNUP_SIGNALS = re.compile(
    r"\b(newsletter|subscribe|subscribers?|sign(ing)?[ -]?up|inbox|e-?mail address|your e-?mail|unsubscribe"
    r"|no spam|spam-free|join \d[\d,.]* |get (it|them) free|free weekly|weekly (email|digest)|opt[ -]?in)\b",
    re.I,
)
FORM_WORDS = re.compile(
    r"^(your )?(e-?mail( address)?|first name|name|subscribe( now)?|sign( me)? up|join( now| us)?|submit|send|"
    r"i agree.*|we respect your privacy.*|no spam.*)$", re.I)
BIO_OPENERS = re.compile(
    r"^(about the (author|writer)s?|about me|meet the author|written by\b.*|the author|author bio)$", re.I)
RELATED_OPENERS = re.compile(
    r"^(related( articles| posts| reading| stories| content)?|you (might|may) (also )?(like|enjoy)|more from\b.*|"
    r"read next|up next|what to read next|recommended( for you| reading| articles)?|popular( posts| articles| now)?|"
    r"more (articles|posts|stories)( like this)?|keep reading|trending( now)?|most read)\s*:?$", re.I)
COMMENT_OPENERS = re.compile(r"^(\d+ )?(comments?|responses?|replies)( \(\d+\))?$|^leave a (comment|reply)$", re.I)
SOCIAL = re.compile(r"^(follow|find) .{0,40}\b(on|at)\b .{0,30}$|^(instagram|facebook|twitter|x|linkedin|youtube|"
                    r"strava|tiktok|mastodon|threads)$", re.I)
SHARE_WORDS = frozenset(
    "share shares shared sharing tweet email e mail print facebook twitter linkedin reddit pinterest whatsapp "
    "telegram messenger flipboard tumblr copy copied link url submit comment comments save via on x pin it "
    "this article story post page".split())
REFERENCES_HEADING = re.compile(r"^(references|sources|bibliography|works cited|citations|literature|"
                                r"notes and references|references and further reading)\s*:?$", re.I)
CITATION_HINT = re.compile(r"\b(1[89]\d\d|20\d\d)\b|https?://|\bdoi\b|\bet al\b|\bjournal\b|\bvol\.|\bpp?\.\s*\d",
                           re.I)


def words(line: str) -> int:
    return len(line.split())


def is_junk_line(line: str) -> bool:
    """Tracking junk and page furniture that never belongs in an article body."""
    text = line.strip()
    if not text:
        return False
    if words(text) <= 8 and any(p.match(text) for p in JUNK_LINES) or words(text) <= 25 and LEGAL.match(text):
        return True
    bare = URL.fullmatch(text)
    if TRACKING_HINTS.search(text) and (bare or words(text) <= 3 or not re.search(r"[a-z]{3,} [a-z]{3,}", text)):
        return True
    if re.fullmatch(r"[\w.-]+=[^\s&]*(&[\w.-]+=[^\s&]*)+", text):  # a bare query string
        return True
    if COOKIE_BANNER.search(text) and COOKIE_CONTEXT.search(text) and words(text) <= 40:
        return True
    if is_nav_line(text):
        return True
    symbols = sum(c in "{}[]<>=;$#@\\|^~`" for c in text)
    return symbols >= 3 and sum(c.isalpha() for c in text) / len(text) < 0.5


def is_nav_line(text: str) -> bool:
    """``Privacy Policy | Terms | Contact`` or ``Home › Recovery › Cramps``: a row of links."""
    if not NAV_SEPARATORS.search(text):
        return False
    parts = [p.strip() for p in NAV_SEPARATORS.split(text) if p.strip()]
    return len(parts) >= 2 and all(words(p) <= 4 and not p.endswith(".") for p in parts)


def is_menu_block(lines: list[str]) -> bool:
    """Three or more very short lines in a row, none a sentence: a menu, a tag cloud, a footer."""
    return len(lines) >= 3 and all(words(line) <= 3 and not line.rstrip().endswith(TERMINAL) for line in lines)


def is_signup(lines: list[str]) -> bool:
    """A newsletter sign-up pitch: short, and full of sign-up vocabulary."""
    text = " ".join(lines)
    found = {m.group(0).lower() for m in SIGNUP_SIGNALS.finditer(text + " ")}
    return words(text) <= 90 and len(found) >= 2


def is_form_leftover(lines: list[str]) -> bool:
    """What is left of a form: field labels and buttons."""
    return all(FORM_WORDS.match(line.strip()) or (words(line) <= 3 and SIGNUP_SIGNALS.search(line)) for line in lines)


def is_title_like(line: str) -> bool:
    """A short line that reads as a title or heading: no final punctuation, starts with a capital."""
    text = line.strip()
    return (0 < words(text) <= 14 and len(text) <= 110 and not text.endswith(NOT_HEADING_END)
            and (text[0].isupper() or text[0].isdigit() or text[0] in "\"'“‘¿¡") and not URL.search(text))


def is_heading_line(line: str) -> bool:
    """A heading: short, no final full stop (a question mark is fine), not a list item."""
    text = line.strip()
    return is_title_like(text) and words(text) <= 12 and not BULLET.match(text)


def is_prose(lines: list[str]) -> bool:
    """Ordinary article text: at least one full sentence of some length."""
    text = " ".join(lines)
    return words(text) >= 12 and bool(re.search(r"[a-z][.!?][\"'”’)]?(\s|$)", text))


def is_citation(line: str) -> bool:
    return bool(BULLET.match(line)) or bool(CITATION_HINT.search(line))
