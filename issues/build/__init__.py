"""build."""

from __future__ import annotations

from .archive import (
    Issue,
    articles_of_issues,
    get_issue,
    issue_fingerprint,
    issue_id_for_number,
    list_issues,
    mark_sent,
    resolve_issue_id,
    store_frozen,
)
from .assemble import EmptyWeek, IssueFrozen, build_issue
from .content_checks import check_before_send, issue_articles, issue_warnings, refuse_without_urls
from .excerpt import absolute_url, cut_at_sentence, excerpt_for, with_utm
from .render import HTML_TEMPLATE, RenderedIssue, SAMPLE_READER, issue_context, render_issue, render_issue_content, sample_fields, sample_message, site_context, stored_render, write_issue_files
from .schema import issues_db

__all__ = [
    "EmptyWeek", "HTML_TEMPLATE", "Issue", "IssueFrozen", "RenderedIssue", "SAMPLE_READER",
    "absolute_url", "articles_of_issues", "build_issue", "check_before_send", "cut_at_sentence", "excerpt_for", "get_issue",
    "issue_articles", "issue_context", "issue_fingerprint", "issue_id_for_number", "issue_warnings", "issues_db", "list_issues", "mark_sent",
    "refuse_without_urls", "render_issue", "render_issue_content", "resolve_issue_id", "sample_fields",
    "sample_message", "site_context", "store_frozen", "stored_render", "with_utm", "write_issue_files",
]
