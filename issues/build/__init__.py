"""Building issues and the issue archive: a week's articles become an issue, rendered once.

Assembly (``assemble``), the issues table and its read API (``archive``, ``schema``),
excerpts and UTM links (``excerpt``), rendering for a reader (``render``), and the
content checks run before a preview or a send (``content_checks``).
"""

from __future__ import annotations

from newsletter.lazy import lazy_exports

# Where each name lives; a module is imported when one of its names is first read.
__getattr__ = lazy_exports(__name__, {
    "Issue": "archive",
    "articles_of_issues": "archive",
    "get_issue": "archive",
    "issue_fingerprint": "archive",
    "issue_id_for_number": "archive",
    "list_issues": "archive",
    "mark_sent": "archive",
    "resolve_issue_id": "archive",
    "store_frozen": "archive",
    "EmptyWeek": "assemble",
    "IssueFrozen": "assemble",
    "build_issue": "assemble",
    "check_before_send": "content_checks",
    "issue_articles": "content_checks",
    "issue_warnings": "content_checks",
    "refuse_without_urls": "content_checks",
    "absolute_url": "excerpt",
    "cut_at_sentence": "excerpt",
    "excerpt_for": "excerpt",
    "with_utm": "excerpt",
    "HTML_TEMPLATE": "render",
    "RenderedIssue": "render",
    "SAMPLE_READER": "render",
    "issue_context": "render",
    "render_issue": "render",
    "render_issue_content": "render",
    "sample_fields": "render",
    "sample_message": "render",
    "site_context": "render",
    "stored_render": "render",
    "write_issue_files": "render",
    "issues_db": "schema",
})

__all__ = [
    "EmptyWeek", "HTML_TEMPLATE", "Issue", "IssueFrozen", "RenderedIssue", "SAMPLE_READER",
    "absolute_url", "articles_of_issues", "build_issue", "check_before_send", "cut_at_sentence",
    "excerpt_for", "get_issue", "issue_articles", "issue_context", "issue_fingerprint",
    "issue_id_for_number", "issue_warnings", "issues_db", "list_issues", "mark_sent",
    "refuse_without_urls", "render_issue", "render_issue_content", "resolve_issue_id", "sample_fields",
    "sample_message", "site_context", "store_frozen", "stored_render", "with_utm", "write_issue_files",
]
