"""Per-reader fields in a rendered issue: placeholders filled after rendering, never re-rendered.

The issue is rendered once with the literal tokens ``[[nl:unsubscribe_url]]``,
``[[nl:email]]`` and ``[[nl:name]]``; :class:`PersonalisedTemplate` splits the
HTML and text once into literal segments and field slots, so filling one reader
is a join (microseconds).  HTML slots get HTML-escaped values (safe in text and
in quoted attributes), text slots the raw values.
"""

from __future__ import annotations

import functools
import html as htmllib
import re
from collections.abc import Iterable, Mapping

FIELDS = ("unsubscribe_url", "email", "name")
PLACEHOLDERS = {field: f"[[nl:{field}]]" for field in FIELDS}
UNSUBSCRIBE_URL, EMAIL, NAME = (PLACEHOLDERS[f] for f in FIELDS)

# What a blank field reads as ("Hi there," when a reader gave no name).
FALLBACKS = {"name": "there"}

_TOKEN = re.compile(rb"\[\[nl:(" + b"|".join(f.encode() for f in FIELDS) + rb")\]\]")


def placeholders() -> dict[str, str]:
    """The template context entry ``reader``: each field's placeholder token."""
    return dict(PLACEHOLDERS)


class Segments:
    """A byte string cut once at its placeholders: literal parts and, between them, field names.

    Public so a MIME byte template (headers too) can be cut the same way and filled with a join.
    """

    __slots__ = ("literals", "slots")

    def __init__(self, data: bytes) -> None:
        parts = _TOKEN.split(data)
        self.literals: list[bytes] = parts[0::2]
        self.slots: list[str] = [p.decode("ascii") for p in parts[1::2]]

    def fill(self, values: Mapping[str, bytes]) -> bytes:
        literals, slots = self.literals, self.slots
        if not slots:
            return literals[0]
        out = [literals[0]]
        append = out.append
        for i, slot in enumerate(slots, 1):
            append(values[slot])
            append(literals[i])
        return b"".join(out)


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


class PersonalisedTemplate:
    """A rendered HTML part and text part, ready to be filled per reader.

    >>> t = PersonalisedTemplate("<a href='[[nl:unsubscribe_url]]'>x</a>", "[[nl:unsubscribe_url]]")
    >>> t.fill({"unsubscribe_url": "https://x/u?a=1&b=2", "email": "a@b", "name": ""})[0]
    b"<a href='https://x/u?a=1&amp;b=2'>x</a>"
    """

    __slots__ = ("_html", "_text", "fields")

    def __init__(self, html: str | bytes, text: str | bytes) -> None:
        self._html = Segments(_as_bytes(html))
        self._text = Segments(_as_bytes(text))
        self.fields = frozenset(self._html.slots) | frozenset(self._text.slots)

    def fill(self, fields: Mapping[str, str | None]) -> tuple[bytes, bytes]:
        """Return (html_bytes, text_bytes) for one reader; missing or blank fields use the fallbacks."""
        raw, escaped = field_values(fields, self.fields)
        return self._html.fill(escaped), self._text.fill(raw)


def field_values(
    fields: Mapping[str, str | None], names: Iterable[str] = FIELDS
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """One reader's fields as UTF-8 bytes: (raw for text, HTML-escaped for HTML); blanks use the fallbacks."""
    raw: dict[str, bytes] = {}
    escaped: dict[str, bytes] = {}
    for name in names:
        value = fields.get(name) or FALLBACKS.get(name, "")
        raw[name] = value.encode("utf-8")
        escaped[name] = htmllib.escape(value, quote=True).encode("utf-8")
    return raw, escaped


@functools.lru_cache(maxsize=8)
def _template(html: str | bytes, text: str | bytes) -> PersonalisedTemplate:
    return PersonalisedTemplate(html, text)


def personalise(
    html: str | bytes, text: str | bytes, fields: Mapping[str, str | None]
) -> tuple[bytes, bytes]:
    """Fill one reader's fields into a rendered issue: (html_bytes, text_bytes).

    The split is cached for the last few issues, so calling this per reader stays cheap;
    hot loops should hold a :class:`PersonalisedTemplate` themselves.
    """
    return _template(html, text).fill(fields)
