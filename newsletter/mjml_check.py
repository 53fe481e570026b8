"""A structural check of MJML that says *where* it is wrong.

mjml-python reports only "unexpected end of stream", and silently drops unknown
elements; this scanner finds the first unbalanced, unknown or malformed tag and
its line, in rendered MJML or (with Jinja2 tags blanked out) in a template source.
"""

from __future__ import annotations

import re

KNOWN_ELEMENTS = frozenset(
    """mjml mj-head mj-body mj-attributes mj-all mj-class mj-breakpoint mj-font mj-html-attributes
    mj-html-attribute mj-selector mj-preview mj-style mj-title mj-include mj-accordion
    mj-accordion-element mj-accordion-title mj-accordion-text mj-button mj-carousel mj-carousel-image
    mj-column mj-divider mj-group mj-hero mj-image mj-navbar mj-navbar-link mj-raw mj-section
    mj-social mj-social-element mj-spacer mj-table mj-text mj-wrapper""".split()
)

# Elements whose content is raw HTML, read up to their closing tag.
ENDING_ELEMENTS = frozenset(
    """mj-text mj-button mj-raw mj-table mj-navbar-link mj-accordion-title mj-accordion-text
    mj-social-element mj-style mj-title mj-preview""".split()
)

_CONTENT = frozenset(
    """mj-accordion mj-button mj-carousel mj-divider mj-image mj-navbar mj-raw mj-social mj-spacer mj-table
    mj-text""".split()
)
# Which elements may hold which (as MJML's own validator has it); mj-raw may go anywhere in the body.
CHILDREN = {
    "mjml": frozenset({"mj-head", "mj-body", "mj-raw", "mj-include"}),
    "mj-head": frozenset("""mj-attributes mj-breakpoint mj-font mj-html-attributes mj-preview mj-style mj-title
                         mj-raw mj-include""".split()),
    "mj-body": frozenset({"mj-section", "mj-wrapper", "mj-hero", "mj-raw", "mj-include"}),
    "mj-wrapper": frozenset({"mj-section", "mj-hero", "mj-raw", "mj-include"}),
    "mj-section": frozenset({"mj-column", "mj-group", "mj-raw", "mj-include"}),
    "mj-group": frozenset({"mj-column", "mj-raw", "mj-include"}),
    "mj-column": _CONTENT | {"mj-include"},
    "mj-hero": _CONTENT | {"mj-include"},
}

_ATTR = r"""(?:\s+[^\s=/>"']+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)"""
_TAG = re.compile(rf"<(/?)([A-Za-z][\w:.-]*)({_ATTR}*)\s*(/?)>")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)


def _line_at(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def _blank_jinja(source: str) -> str:
    """Replace Jinja2 tags by neutral text of the same line count, so lines still match."""

    def repl(match: re.Match[str]) -> str:
        text = match.group(0)
        filler = "x" if text.startswith("{{") else ""
        return filler + "\n" * text.count("\n")

    return _JINJA.sub(repl, source)


def _scan(source: str, *, fragment: bool) -> tuple[int, str] | None:
    """First structural fault as (line, message), or None when the MJML is well formed."""
    stack: list[tuple[str, int]] = []
    pos = 0
    length = len(source)
    seen_root = fragment
    while True:
        lt = source.find("<", pos)
        if lt < 0:
            break
        if source.startswith("<!--", lt):
            end = source.find("-->", lt + 4)
            if end < 0:
                return _line_at(source, lt), "comment '<!--' is never closed"
            pos = end + 3
            continue
        match = _TAG.match(source, lt)
        if match is None:
            snippet = source[lt : lt + 40].split("\n", 1)[0]
            return _line_at(source, lt), f"malformed tag {snippet!r} (an unclosed quote or '>'?)"
        closing, name, _, self_closing = match.groups()
        line = _line_at(source, lt)
        pos = match.end()
        in_attributes = any(open_name in ("mj-attributes", "mj-html-attributes") for open_name, _ in stack)
        if not name.startswith("mj") and not in_attributes:
            return line, f"<{closing}{name}> is HTML outside an mj-text, mj-button or mj-raw element"
        if name not in KNOWN_ELEMENTS and not in_attributes:
            return line, f"unknown MJML element <{name}>"
        if not seen_root:
            if name != "mjml" or closing:
                return line, f"the document must start with <mjml>, not <{closing}{name}>"
            seen_root = True
        if not closing and stack and not in_attributes:
            parent, parent_line = stack[-1]
            allowed = CHILDREN.get(parent)
            if allowed is not None and name not in allowed:
                return line, f"<{name}> cannot go inside <{parent}> (opened on line {parent_line})"
        if closing:
            if not stack:
                return line, f"</{name}> closes nothing"
            open_name, open_line = stack.pop()
            if open_name != name:
                return line, f"</{name}> found where <{open_name}> from line {open_line} should be closed"
            continue
        if self_closing:
            continue
        if name in ENDING_ELEMENTS and not in_attributes:
            close = re.compile(rf"</{re.escape(name)}\s*>").search(source, pos)
            stray = re.compile(r"</?mj-[\w-]+").search(source, pos, close.start() if close else length)
            if stray is not None:
                return _line_at(source, stray.start()), (
                    f"<{name}> from line {line} is not closed before {stray.group(0)}>"
                )
            if close is None:
                return line, f"<{name}> is never closed"
            pos = close.end()
            continue
        stack.append((name, line))
    if stack:
        open_name, open_line = stack[-1]
        return open_line, f"<{open_name}> is never closed"
    if not seen_root:
        return 1, "no <mjml> element"
    return None


def find_mjml_problem(source: str) -> tuple[int, str] | None:
    """Check rendered MJML: (line, message) of the first fault, or None."""
    source = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), source)
    return _scan(source, fragment=False)


def find_template_problem(source: str) -> tuple[int, str] | None:
    """Check an MJML template (or partial) with its Jinja2 tags blanked out."""
    source = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), _blank_jinja(source))
    return _scan(source, fragment=True)
