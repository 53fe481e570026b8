"""Markdown files with YAML front matter (title, date, url, summary, tags, image, author)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import yaml

from ..errors import SourceError
from .model import Draft, SourceContext, normalise_tags
from .sanitise import markdown_to_html
from .textfile import parse_date

FENCE = re.compile(r"^(---|\.\.\.)\s*$")
JEKYLL_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-(.+)$")
ATX_TITLE = re.compile(r"^#\s+(.+?)\s*#*\s*$")
NO_IMAGE = {"false", "no", "off", "none", ""}  # `image: false` means no image (YAML words are kept as text)
ALIASES = {
    "title": ("title",),
    "date": ("date", "published", "published_at", "pubdate"),
    "url": ("url", "canonical_url", "canonical", "link", "permalink"),
    "summary": ("summary", "description", "excerpt"),
    "tags": ("tags", "keywords"),
    "image": ("image", "cover", "cover_image", "featured_image"),
    "image_alt": ("image_alt", "alt"),
    "author": ("author", "authors"),
    "slug": ("slug",),
    "draft": ("draft",),
}


# Front matter is a few short fields: bounds that no real post comes near and that keep a
# hostile file (an alias bomb, a 200,000-character title) from costing time, memory or storage.
MAX_FRONT_MATTER_CHARS = 64 * 1024
MAX_NESTING = 20
MAX_TAGS = 50
MAX_TAG_CHARS = 100
MAX_FIELD_CHARS = {"title": 500, "summary": 5000, "url": 2048, "image": 2048, "image_alt": 500,
                   "author": 500, "slug": 200}


class _Refused(yaml.MarkedYAMLError):
    """Front matter that is valid YAML but outside what we read (aliases, deep nesting)."""


class _FrontMatterLoader(yaml.SafeLoader):
    """YAML's safe loader, reading plain words as the author wrote them: ``title: No`` is "No", not
    False (nor ``3:45`` the number 225); an impossible date (``2026-13-45``) stays text, so the date
    check can name its line instead of the whole file failing with a bare ValueError.

    Aliases (``*name``) are refused outright: a few hundred bytes of nested aliases expand to
    gigabytes (the "billion laughs"), and no front matter needs them.  Nesting is bounded too.
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _Refused(problem="aliases (*name) are not allowed in front matter; write the value out",
                           problem_mark=self.peek_event().start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise _Refused(problem=f"values nested more than {MAX_NESTING} deep; flatten them",
                               problem_mark=self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


def _as_written(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)
for _kind in ("bool", "int", "float"):
    _FrontMatterLoader.add_constructor(f"tag:yaml.org,2002:{_kind}", _as_written)


def split_front_matter(text: str, origin: str) -> tuple[dict[str, Any], str, int]:
    """``(front matter, Markdown body, line number where the body starts)``."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text, 1
    for index in range(1, len(lines)):
        if FENCE.match(lines[index]):
            break
    else:
        raise SourceError(f"{origin}:1: front matter opened with '---' is never closed; add a '---' line after it")
    raw = "\n".join(lines[1:index])
    if len(raw) > MAX_FRONT_MATTER_CHARS:
        raise SourceError(f"{origin}:1: front matter is {len(raw):,} characters, more than the "
                          f"{MAX_FRONT_MATTER_CHARS:,} allowed; move long text into the body")
    try:
        data = yaml.load(raw, Loader=_FrontMatterLoader) if raw.strip() else {}  # a SafeLoader
    except _Refused as exc:
        line = exc.problem_mark.line + 2 if exc.problem_mark is not None else 1
        raise SourceError(f"{origin}:{line}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise SourceError(_yaml_problem(exc, origin)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SourceError(f"{origin}:2: front matter must be 'key: value' lines, not a {type(data).__name__}")
    return data, "\n".join(lines[index + 1:]), index + 2


def _yaml_problem(exc: yaml.YAMLError, origin: str) -> str:
    """``file:line: front matter is not valid YAML (...)``, the line in the file's own numbering.

    A quote or bracket left open is only noticed further down: point at the line where it
    was opened instead.
    """
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    opened = getattr(exc, "context_mark", None)
    context = getattr(exc, "context", None)
    if opened is not None and (mark is None or any(kind in (context or "") for kind in ("quoted", "flow"))):
        mark = opened
        if context:
            problem = f"{context.removeprefix('while ')} that is never closed: {problem}"
    line = mark.line + 2 if mark is not None else 1
    return f"{origin}:{line}: front matter is not valid YAML ({problem}); fix that line"


def _key_line(text: str, key: str) -> int:
    for number, line in enumerate(text.split("\n"), start=1):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return number
    return 1


def _pick(meta: dict[str, Any], field: str) -> tuple[str | None, Any]:
    lowered = {str(k).lower(): k for k in meta}
    for alias in ALIASES[field]:
        if alias in lowered:
            return lowered[alias], meta[lowered[alias]]
    return None, None


def _string(value: Any, where: str, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("name") or value.get("src") or value.get("url")
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if v)
    if isinstance(value, (dict, list)) or value is None:
        raise SourceError(f"{where}: '{field}' must be text")
    text = str(value).strip()
    _check_length(text, where, field)
    return text or None


def _check_length(text: str, where: str, field: str) -> None:
    limit = MAX_FIELD_CHARS.get(field.split()[0], MAX_FIELD_CHARS["summary"])
    if len(text) > limit:
        raise SourceError(f"{where}: '{field}' is {len(text):,} characters, more than the {limit:,} allowed; "
                          "shorten it")


def _tags(value: Any, where: str) -> list[str]:
    if value is not None and not isinstance(value, (str, list)):
        raise SourceError(f"{where}: 'tags' must be a list like [running, recovery]")
    tags = normalise_tags(value)
    if len(tags) > MAX_TAGS:
        raise SourceError(f"{where}: {len(tags):,} tags, more than the {MAX_TAGS} allowed; keep the telling ones")
    too_long = next((tag for tag in tags if len(tag) > MAX_TAG_CHARS), None)
    if too_long is not None:
        raise SourceError(f"{where}: the tag {too_long[:40]!r}... is longer than {MAX_TAG_CHARS} characters; "
                          "shorten it")
    return tags


def read_markdown(text: str, ctx: SourceContext) -> list[Draft]:
    """Read one Markdown file into a draft; errors name the file and the line at fault."""
    origin = ctx.origin
    site_timezone = ctx.timezone
    meta, body, _ = split_front_matter(text, origin)

    def where(field: str) -> str:
        key, _ = _pick(meta, field)
        return f"{origin}:{_key_line(text, key) if key else 1}"

    _, draft_flag = _pick(meta, "draft")
    if str(draft_flag).lower() in ("true", "yes", "on", "1"):
        return []
    title = _string(_pick(meta, "title")[1], where("title"), "title")
    if title is None:
        heading = next((m for m in (ATX_TITLE.match(line) for line in body.split("\n")) if m), None)
        if heading is None:
            raise SourceError(f"{origin}:1: no title; add 'title: ...' to the front matter")
        title = heading.group(1)
        _check_length(title, f"{origin}:1", "title")
    html = markdown_to_html(body)

    raw_date = _pick(meta, "date")[1]
    published: datetime | None = None
    notes: list[str] = []
    if raw_date is not None:
        if isinstance(raw_date, (date, datetime)):
            published = parse_date(raw_date, site_timezone)
        else:
            published = parse_date(str(raw_date), site_timezone)
            if published is None:
                raise SourceError(f"{where('date')}: date {raw_date!r} is not a date; write it as 2026-11-18 "
                                  "or 2026-11-18T07:30:00-05:00")
    jekyll = JEKYLL_DATE.match(ctx.name_hint)  # 2026-11-18-calf-cramps.md: a date and a slug
    name_hint = jekyll.group(4) if jekyll else ctx.name_hint
    if jekyll:
        if published is None:
            published = parse_date(date(*map(int, jekyll.group(1, 2, 3))), site_timezone)
            notes.append("date taken from the file name")

    image_value = _pick(meta, "image")[1]
    if isinstance(image_value, str) and image_value.strip().lower() in NO_IMAGE:
        image_value = None
    image_alt = _string(_pick(meta, "image_alt")[1], where("image_alt"), "image_alt")
    if isinstance(image_value, dict):
        image_alt = image_alt or _string(image_value.get("alt"), where("image"), "image alt")
    author_value = _pick(meta, "author")[1]
    if isinstance(author_value, list):
        author_value = ", ".join(_string(a, where("author"), "author") or "" for a in author_value)
    return [
        ctx.draft(
            "markdown",
            title,
            html,
            url=_string(_pick(meta, "url")[1], where("url"), "url"),
            slug=_string(_pick(meta, "slug")[1], where("slug"), "slug"),
            published_at=published,
            summary=_string(_pick(meta, "summary")[1], where("summary"), "summary"),
            tags=_tags(_pick(meta, "tags")[1], where("tags")),
            image=_string(image_value, where("image"), "image"),
            image_alt=image_alt,
            author=_string(author_value, where("author"), "author"),
            notes=notes,
            name_hint=name_hint,
            lines={name: int(where(name).rsplit(":", 1)[1]) for name in ("date", "url") if _pick(meta, name)[0]},
        )
    ]
