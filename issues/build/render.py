"""Rendering an issue once: subject, preheader, HTML and text with the per-reader placeholders unfilled.

A frozen issue (sending or sent) always returns the copy stored when it was
frozen, so template or article edits never change what readers receive.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from newsletter.personalise import personalise, placeholders
from newsletter.workspace import Workspace

from .archive import Issue, get_issue
from .schema import issues_db

HTML_TEMPLATE = "issue.mjml.j2"
TEXT_TEMPLATE = "issue.txt.j2"


@dataclass(frozen=True)
class RenderedIssue:
    """An issue as every reader gets it, before their own fields are filled in."""

    issue_id: str
    subject: str
    preheader: str
    html: str
    text: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def site_context(ws: Workspace) -> dict[str, Any]:
    """The ``site`` entry of every issue template context: the [site] settings."""
    return dict(ws.settings.site)


def view_url(ws: Workspace, issue_id: str) -> str:
    """Where the public web copy of an issue lives (served by ``newsletter serve``)."""
    return f"{ws.settings.site.public_url.rstrip('/')}/issues/{issue_id}"


def utm_params(ws: Workspace, issue: Issue) -> dict[str, str]:
    """The campaign's ``utm_source`` / ``utm_medium`` / ``utm_campaign``, from the ``[issue]`` templates."""
    from newsletter.render import render_string

    context = {"site": site_context(ws), "issue": issue}
    params = {}
    for key in ("utm_source", "utm_medium", "utm_campaign"):
        value = render_string(ws.settings.issue[key], context, label=f"newsletter.toml [issue] {key}")
        params[key] = " ".join(value.split())
    return params


def issue_context(ws: Workspace, issue: Issue) -> dict[str, Any]:
    """What the issue templates see: ``site``, ``issue``, ``reader`` (placeholders), ``view_url`` and ``utm``."""
    return {
        "site": site_context(ws),
        "issue": issue,
        "reader": placeholders(),
        "view_url": view_url(ws, issue.id),
        "utm": utm_params(ws, issue),
    }


def render_issue_content(ws: Workspace, issue: Issue) -> RenderedIssue:
    """Render ``issue`` from the current templates, ignoring any stored copy.

    The template engine (Jinja2, MJML) is imported here: a frozen issue is read from its
    stored copy, so a resumed send never loads it.
    """
    from newsletter.render import render_html_email, render_text

    context = issue_context(ws, issue)
    html = render_html_email(ws, HTML_TEMPLATE, context)
    text = render_text(ws, TEXT_TEMPLATE, context)
    return RenderedIssue(issue.id, issue.subject, issue.preheader, html, text)


def stored_render(ws: Workspace, issue_id: str) -> RenderedIssue | None:
    """The copy stored when the issue was frozen, or None for a draft."""
    row = issues_db(ws).execute(
        "SELECT subject, preheader, html, text FROM issues WHERE id = ? AND frozen_at IS NOT NULL",
        [issue_id],
    ).fetchone()
    return RenderedIssue(issue_id, *row) if row else None


def render_issue(ws: Workspace, issue_id: str) -> RenderedIssue:
    """The issue's subject, preheader, HTML and text (placeholders unfilled); the stored copy once frozen."""
    issue = get_issue(ws, issue_id)
    return stored_render(ws, issue.id) or render_issue_content(ws, issue)


SAMPLE_READER = {"email": "reader@example.com", "name": "Sam Reader"}


def sample_fields(ws: Workspace) -> dict[str, str]:
    """Per-reader fields of the made-up reader used for previews and ``issue render``."""
    return {**SAMPLE_READER, "unsubscribe_url": f"{ws.settings.site.public_url.rstrip('/')}/unsubscribe/SAMPLE"}


def sample_message(ws: Workspace, rendered: RenderedIssue, fields: dict[str, str]) -> bytes:
    """The whole message for one reader, built exactly as a send builds it (headers, parts, DKIM)."""
    from newsletter.mail import sender_domain
    from newsletter.settings import check_mail_settings

    from issues.send import IssueMessage, Recipient

    check_mail_settings(ws.settings)
    template = IssueMessage(ws, rendered.subject, rendered.html, rendered.text, campaign=rendered.issue_id)
    reader = Recipient(fields["email"], fields.get("name"), fields["unsubscribe_url"],
                       f"unsubscribe@{sender_domain(ws)}", template.new_message_id())
    return template.build(reader)


def write_issue_files(ws: Workspace, issue_id: str, out_dir: Path | None = None) -> dict[str, Path]:
    """Write issue.html, issue.txt (filled for the sample reader) and issue.eml into ``out_dir``."""
    rendered = render_issue(ws, issue_id)
    folder = out_dir if out_dir is not None else ws.issues_dir / rendered.issue_id
    folder.mkdir(parents=True, exist_ok=True)
    fields = sample_fields(ws)
    html, text = personalise(rendered.html, rendered.text, fields)
    paths = {"html": folder / "issue.html", "text": folder / "issue.txt", "eml": folder / "issue.eml"}
    paths["html"].write_bytes(html)
    paths["text"].write_bytes(text)
    paths["eml"].write_bytes(sample_message(ws, rendered, fields))
    return paths
