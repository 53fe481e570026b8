"""The ``[schedule]`` and ``[welcome]`` settings, read and checked once: clear errors name the key at fault."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from newsletter.errors import ConfigError
from newsletter.workspace import Workspace
from subscribers import InvalidAddress, validate_address

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MODES = ("approve", "auto")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _list(value: Any, where: str) -> list[str]:
    """A TOML list of strings, or (from an environment variable) one string of comma-separated items."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, Sequence) or not all(isinstance(v, (str, int)) for v in value):
        raise ConfigError(f"{where} must be a list of strings, like [\"a\", \"b\"], not {value!r}")
    return [str(v).strip() for v in value if str(v).strip()]


def _int(value: Any, where: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{where} must be a whole number of at least {low}, not {value!r}")
    return value


@dataclass(frozen=True)
class Schedule:
    """When and how ``newsletter run`` builds, test-sends and sends the weekly issue."""

    sources: tuple[str, ...]
    send_weekday: int  # 0 = Monday
    send_hour: int
    send_minute: int
    mode: str
    editors: tuple[str, ...]
    draft_hours: int
    min_articles: int
    inbound: str
    timezone: str

    @property
    def send_day(self) -> str:
        return DAYS[self.send_weekday]

    @property
    def send_time(self) -> str:
        return f"{self.send_hour:02d}:{self.send_minute:02d}"


def read_schedule(ws: Workspace) -> Schedule:
    """``[schedule]`` checked: a known day, an HH:MM time, a known mode, a draft time inside the send's week."""
    s = ws.settings.schedule
    day = str(s.send_day).strip().lower()
    matches = [i for i, name in enumerate(DAYS) if len(day) >= 3 and name.startswith(day)]
    if len(matches) != 1:
        raise ConfigError(f"[schedule] send_day = {s.send_day!r} is not a day of the week; write e.g. \"tuesday\"")
    time_match = _TIME.match(str(s.send_time).strip())
    if not time_match:
        raise ConfigError(f"[schedule] send_time = {s.send_time!r} is not a time; write it as HH:MM, e.g. \"09:00\"")
    mode = str(s.mode).strip().lower()
    if mode not in MODES:
        raise ConfigError(f"[schedule] mode = {s.mode!r}; use \"approve\" (send once approved) or \"auto\"")
    hour, minute = int(time_match.group(1)), int(time_match.group(2))
    draft_hours = _int(s.draft_hours, "[schedule] draft_hours")
    if matches[0] * 24 * 60 + hour * 60 + minute < draft_hours * 60:
        raise ConfigError(
            f"[schedule] draft_hours = {draft_hours} before {DAYS[matches[0]]} {hour:02d}:{minute:02d} falls before "
            "the week being sent has ended (Monday 00:00); send later in the week or build the draft closer to the send"
        )
    editors = _list(s.editors, "[schedule] editors")
    for address in editors:
        try:
            validate_address(address)
        except InvalidAddress as exc:
            raise ConfigError(f"[schedule] editors: {exc}") from None
    return Schedule(
        sources=tuple(_list(s.sources, "[schedule] sources")), send_weekday=matches[0], send_hour=hour,
        send_minute=minute, mode=mode, editors=tuple(editors), draft_hours=draft_hours,
        min_articles=_int(s.min_articles, "[schedule] min_articles"), inbound=str(s.inbound).strip(),
        timezone=str(ws.settings.site.timezone),
    )


@dataclass(frozen=True)
class Welcome:
    """The welcome series: how many mails, on which days after confirming, which articles to start from."""

    days: tuple[int, ...]
    per_mail: int
    pins: tuple[str, ...]
    subject: str

    @property
    def mails(self) -> int:
        return len(self.days)


def read_welcome(ws: Workspace) -> Welcome:
    """``[welcome]`` checked: ``days`` gives one day per mail, in order."""
    w = ws.settings.welcome
    mails = _int(w.mails, "[welcome] mails")
    raw = str(w.days).split(",") if isinstance(w.days, str) else w.days
    if not isinstance(raw, (list, tuple)):
        raise ConfigError(f"[welcome] days must be a list of days, like [0, 3, 7], not {w.days!r}")
    days = [_int(int(d) if isinstance(d, str) and d.strip().isdigit() else d, "[welcome] days") for d in raw]
    if mails and len(days) < mails:
        raise ConfigError(f"[welcome] days = {list(days)} gives {len(days)} days for {mails} mails; "
                          "list one day (after confirming) per mail, e.g. [0, 3, 7]")
    days = days[:mails]
    if any(b < a for a, b in zip(days, days[1:], strict=False)):
        raise ConfigError(f"[welcome] days = {days} must not go down; e.g. [0, 3, 7]")
    return Welcome(days=tuple(days), per_mail=_int(w.per_mail, "[welcome] per_mail", 1),
                   pins=tuple(_list(w.articles, "[welcome] articles")), subject=str(w.subject))
