"""Link helpers shared by the mail templates and the issue builder: campaign (UTM) parameters, short labels."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_CLAUSE_BREAK = re.compile(r":\s|\s[–—-]\s|\?\s")


def with_utm(url: str, params: Mapping[str, str] | None = None, **more: str) -> str:
    """Add UTM parameters to ``url``, keeping its own query (minus old utm_ keys) and fragment.

    ``params`` holds full keys (``utm_source``); keyword arguments may drop the prefix (``source=``).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return url
    ours = {k: v for k, v in (params or {}).items() if v}
    ours.update({k if k.startswith("utm_") else f"utm_{k}": v for k, v in more.items() if v})
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours]
    query.extend(ours.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def short_title(title: str, limit: int = 48) -> str:
    """A title short enough for a button: its first clause when that says enough, else cut at a word.

    ``Magnesium and Muscle Cramps: What the Trials Say`` → ``Magnesium and Muscle Cramps``.
    """
    title = " ".join(title.split())
    match = _CLAUSE_BREAK.search(title)
    if match and len(title[: match.start()].split()) >= 2:
        title = title[: match.start()] + ("?" if match.group().startswith("?") else "")
    if len(title) <= limit:
        return title
    cut = title[:limit].rsplit(" ", 1)[0].rstrip(",;:–—-")
    return cut + "…"
