"""Reading source files safely (empty, binary, not UTF-8) and reading dates in any usual form."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from ..errors import SourceError

MONTHS = {name: number for number, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
     ("nov", "november"), ("dec", "december")], start=1) for name in names}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
WORDY_DATES = [
    re.compile(_MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})", re.I),
    re.compile(r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r",?\s+(?P<year>\d{4})", re.I),
]
ISO_DATE = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?")


def read_bytes(path: Path) -> bytes:
    """The file's bytes; an empty or binary file is a :class:`SourceError`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return check_content(data, str(path))


def check_content(data: bytes, origin: str) -> bytes:
    """Refuse an empty or binary document before any parser sees it."""
    if not data.strip():
        raise SourceError(f"{origin}: empty, nothing to import")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # what Windows editors call "Unicode"
        raise SourceError(f"{origin}: UTF-16 text; save the file as UTF-8")
    if b"\x00" in data[:8192]:
        raise SourceError(f"{origin}: this is a binary file, not an article (Markdown, feed, HTML or text)")
    return data


def decode(data: bytes, origin: str) -> str:
    """UTF-8 text (a BOM is dropped, line ends normalised); names the line of a bad byte."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(f"{origin}:{line}: not UTF-8 text; save the file as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path) -> str:
    return decode(read_bytes(path), str(path))


def parse_date(value: date | datetime | str, tz: str) -> datetime | None:
    """An aware UTC datetime from a date, a datetime or text (ISO 8601, ``November 18, 2026``,
    ``18 Nov 2026``); a date or naive time is read in the site's time zone ``tz``."""
    zone = ZoneInfo(tz)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=zone)
        return moment.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), zone).astimezone(UTC)
    text = value.strip()
    try:
        return parse_date(datetime.fromisoformat(text.replace("Z", "+00:00")), tz)
    except ValueError:
        pass
    for pattern in WORDY_DATES:
        m = pattern.fullmatch(text) or pattern.search(text)
        if m:
            try:
                return parse_date(date(int(m["year"]), MONTHS[m["month"].lower()], int(m["day"])), tz)
            except ValueError:
                return None
    m = ISO_DATE.search(text)
    if m:
        try:
            return parse_date(datetime.fromisoformat(m.group(0).replace("Z", "+00:00")), tz)
        except ValueError:
            return None
    return None
