"""Rendering: Jinja2 templates (the editor's override folder first), then MJML → HTML for email.

Templates named ``*.mjml.j2`` / ``*.html.j2`` are autoescaped; every template uses
StrictUndefined.  Any failure (Jinja2 syntax, an unknown variable, invalid MJML)
becomes a :class:`TemplateError` naming the template file and line.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import mjml

from .errors import TemplateError
from .mjml_check import find_mjml_problem
from .templating import template_dirs

if TYPE_CHECKING:
    from .workspace import Workspace

AUTOESCAPE_EXTENSIONS = ("mjml.j2", "html.j2", "mjml", "html", "xml")

# SMTP allows 998 bytes a line; rendered HTML stays well under so it can go out as 8bit unchanged,
# leaving room for per-reader fields filled in later.
MAX_LINE = 800
_BLOCK_BREAK = re.compile(r">(?=<(?:/?(?:table|tbody|thead|tr|td|th|div|p|ul|ol|li|h[1-6]|head|body|style|meta|title)\b"
                          r"|!--\[if|!\[endif))")


def _display_dir(folder: Path) -> str:
    """How a template folder is named in messages: ``templates`` for the built-in one."""
    from .templating import builtin_templates_dir

    return "templates" if folder == builtin_templates_dir() else str(folder)


def template_filters() -> dict[str, Any]:
    """Filters every template may use, mail or page: ``urlquote``, ``utm``, ``short_title``."""
    from urllib.parse import quote

    from .links import short_title, with_utm

    return {"urlquote": lambda value: quote(str(value), safe=""), "utm": with_utm, "short_title": short_title}


@functools.lru_cache(maxsize=16)
def _environment(dirs: tuple[Path, ...]) -> jinja2.Environment:
    """One Jinja2 environment per template search path, kept for the process (compiled templates cached)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        autoescape=jinja2.select_autoescape(enabled_extensions=AUTOESCAPE_EXTENSIONS, default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        cache_size=400,
        auto_reload=True,
    )
    env.filters.update(template_filters())
    return env


@functools.lru_cache(maxsize=4)
def _string_environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=autoescape)
    env.filters.update(template_filters())
    return env


def environment(ws: Workspace | None) -> jinja2.Environment:
    """The Jinja2 environment for ``ws``: the override folder (if set) before the built-in templates."""
    return _environment(tuple(template_dirs(ws)))


def _template_label(env: jinja2.Environment, name: str, filename: str | None) -> str:
    """``templates/issue.mjml.j2`` for a built-in template, the full path for an override."""
    if filename:
        path = Path(filename)
        loader = env.loader
        if isinstance(loader, jinja2.FileSystemLoader):
            for folder in loader.searchpath:
                base = Path(folder)
                try:
                    return f"{_display_dir(base)}/{path.relative_to(base).as_posix()}"
                except ValueError:
                    continue
        return str(path)
    return name


def _template_frame(exc: BaseException) -> tuple[str | None, int | None]:
    """The innermost traceback frame that lies in a template file: (filename, line)."""
    found: tuple[str | None, int | None] = (None, None)
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2") or filename.endswith((".mjml", ".html", ".txt")):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _template_error(env: jinja2.Environment, name: str, exc: Exception) -> TemplateError:
    """Turn a Jinja2 exception into ``templates/issue.mjml.j2:42: 'foo' is undefined``."""
    if isinstance(exc, jinja2.TemplateNotFound):
        dirs = ", ".join(str(p) for p in getattr(env.loader, "searchpath", []))
        return TemplateError(f"template {exc.name!r} not found (looked in {dirs})")
    if isinstance(exc, jinja2.TemplateSyntaxError):
        label = _template_label(env, exc.name or name, exc.filename)
        return TemplateError(f"{label}:{exc.lineno}: {exc.message}")
    filename, line = _template_frame(exc)
    label = _template_label(env, name, filename)
    where = f"{label}:{line}" if line else label
    message = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
    return TemplateError(f"{where}: {message}")


def _render(ws: Workspace | None, name: str, context: Mapping[str, Any]) -> tuple[jinja2.Environment, str]:
    env = environment(ws)
    try:
        return env, env.get_template(name).render(context)
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        raise _template_error(env, name, exc).with_traceback(sys.exc_info()[2]) from None


def render_text(ws: Workspace | None, name: str, context: Mapping[str, Any]) -> str:
    """Render a plain-text (or any non-MJML) template from the workspace's template path."""
    return _render(ws, name, context)[1]


_MRML_POSITION = re.compile(r"\s*at position (\d+):(\d+)")


def _mrml_message(source: str, exc: Exception) -> str:
    """mjml-python's message with its character position turned into a line and a snippet."""
    message = str(exc)
    match = _MRML_POSITION.search(message)
    if match is None:
        return f"invalid MJML: {message}"
    start = int(match.group(1))
    line = source.count("\n", 0, start) + 1
    snippet = source[start : start + 30].split("\n", 1)[0]
    return f"rendered MJML line {line}: {message[: match.start()]} near {snippet!r}"


def mjml_to_html(source: str, label: str = "<mjml>") -> str:
    """Convert MJML to email HTML; invalid MJML raises :class:`TemplateError` naming ``label`` and line."""
    problem = find_mjml_problem(source)
    if problem is not None:
        line, message = problem
        raise TemplateError(f"{label}: rendered MJML line {line}: {message}")
    try:
        return wrap_html_lines(_valid_img_attributes(mjml.mjml2html(source, disable_comments=True)))
    except (ValueError, RuntimeError) as exc:
        raise TemplateError(f"{label}: {_mrml_message(source, exc)}") from None


_IMG_HEIGHT_AUTO = re.compile(r'(<img\b[^>]*?)\s+height="auto"', re.IGNORECASE)


def _valid_img_attributes(html: str) -> str:
    """Drop MJML's ``height="auto"`` from images: not a valid attribute value (the inline style keeps it)."""
    return _IMG_HEIGHT_AUTO.sub(r"\1", html)


def _split_long_line(line: str, limit: int) -> list[str]:
    """Break a long line at spaces outside quoted attribute values (same meaning in HTML)."""
    pieces: list[str] = []
    start, last_space, quote, in_tag = 0, -1, "", False
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char == "<":
            in_tag = True
        elif char == ">":
            in_tag = False
        elif in_tag and char in "\"'":
            quote = char
        elif char == " ":
            last_space = i
        if i - start >= limit and last_space > start:
            pieces.append(line[start:last_space])
            start = last_space + 1
            last_space = -1
    pieces.append(line[start:])
    return pieces


def wrap_html_lines(html: str, limit: int = MAX_LINE) -> str:
    """Put block-level tags on their own lines and split what is still too long, without changing the page."""
    html = _BLOCK_BREAK.sub(">\n", html)
    if all(len(line) <= limit for line in html.split("\n")):
        return html
    lines: list[str] = []
    for line in html.split("\n"):
        lines.extend(_split_long_line(line, limit) if len(line) > limit else [line])
    return "\n".join(lines)


def _locate_in_sources(env: jinja2.Environment, name: str) -> tuple[str, int, str] | None:
    """Find a structural MJML fault in ``name`` or the templates it includes, by template line."""
    from jinja2 import meta

    from .mjml_check import find_template_problem

    seen: set[str] = set()
    queue = [name]
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.add(current)
        try:
            source, filename, _ = env.loader.get_source(env, current)  # type: ignore[union-attr]
            parsed = env.parse(source)
        except jinja2.TemplateError:
            continue
        problem = find_template_problem(source)
        if problem is not None:
            return _template_label(env, current, filename), problem[0], problem[1]
        queue.extend(ref for ref in meta.find_referenced_templates(parsed) if isinstance(ref, str))
    return None


def render_html_email(ws: Workspace | None, name: str, context: Mapping[str, Any]) -> str:
    """Render an MJML template with Jinja2, then to responsive email HTML with mjml-python."""
    env, source = _render(ws, name, context)
    try:
        return mjml_to_html(source, _template_label(env, name, env.get_template(name).filename))
    except TemplateError as exc:
        located = _locate_in_sources(env, name)
        if located is not None:
            label, line, message = located
            raise TemplateError(f"{label}:{line}: invalid MJML: {message}") from None
        raise exc from None


def render_string(
    source: str, context: Mapping[str, Any], *, label: str = "<string>", autoescape: bool = False
) -> str:
    """Render a one-off template string (a subject line from the settings, say)."""
    env = _string_environment(autoescape)
    try:
        return env.from_string(source).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{label}: {exc.message} (line {exc.lineno})") from None
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        message = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
        raise TemplateError(f"{label}: {message}") from None
