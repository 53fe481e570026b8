"""Fetching a feed or page over http(s): a timeout, a size limit, one clear error."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ..errors import SourceError

USER_AGENT = "newsletter-pipeline/0.1 (+article import)"
MAX_BYTES = 20 * 1024 * 1024
TIMEOUT_SECONDS = 20.0


@dataclass
class Fetched:
    """The body of a fetched URL with what the server said about it."""

    url: str
    data: bytes
    content_type: str
    last_modified: datetime | None


def fetch(url: str, *, timeout: float = TIMEOUT_SECONDS, max_bytes: int = MAX_BYTES) -> Fetched:
    """GET ``url`` (following redirects); any failure is a :class:`SourceError` naming the URL."""
    request = urllib.request.Request(url, headers={
        "User-Agent": USER_AGENT,
        "Accept": "application/rss+xml, application/atom+xml, application/xml, text/xml, text/html;q=0.9, */*;q=0.5",
    })
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only)
            data = response.read(max_bytes + 1)
            final_url = response.geturl()
            content_type = response.headers.get_content_type()
            modified = response.headers.get("Last-Modified")
    except urllib.error.HTTPError as exc:
        advice = "the site has a problem; try again later" if exc.code >= 500 else "check the address"
        raise SourceError(f"{url}: the server answered {exc.code} {exc.reason}; {advice}") from None
    except urllib.error.URLError as exc:
        raise SourceError(f"{url}: cannot fetch ({exc.reason}); check the address and the network") from None
    except TimeoutError:
        raise SourceError(f"{url}: no answer within {timeout:g} s; try again later") from None
    except OSError as exc:
        raise SourceError(f"{url}: cannot fetch ({exc})") from None
    if len(data) > max_bytes:
        raise SourceError(f"{url}: larger than {max_bytes // (1024 * 1024)} MB; that is not an article or feed")
    last_modified = None
    if modified:
        try:
            last_modified = parsedate_to_datetime(modified).astimezone(UTC)
        except (TypeError, ValueError):
            last_modified = None
    return Fetched(final_url, data, content_type, last_modified)
