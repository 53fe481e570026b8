"""Related articles: for each article, the others a reader would pick next.

The index lives in the workspace database and follows the articles table one
article at a time (the importer calls :func:`on_articles_changed`); the issue
build asks :func:`related_articles` for each item's links.
"""

from __future__ import annotations

from .edits import Edit, block_related, clear_related_edit, edits_for, pin_related
from .index import index_articles, on_articles_changed, sync_index
from .links import RelatedLink, all_related, related_articles
from .rebuild import rebuild_index

__all__ = [
    "Edit",
    "RelatedLink",
    "all_related",
    "block_related",
    "clear_related_edit",
    "edits_for",
    "index_articles",
    "on_articles_changed",
    "pin_related",
    "rebuild_index",
    "related_articles",
    "sync_index",
]
