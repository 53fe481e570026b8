"""Related articles: for each article, the others a reader would pick next.

The index lives in the workspace database and follows the articles table one
article at a time (the importer calls :func:`on_articles_changed`); the issue
build asks :func:`issue_related` for the items' links (no article linked twice in one issue).

Method (chosen by measurement, see ``bench/related_quality.py``): Snowball-
stemmed words without stop words; per article a unit log-tf vector of title +
body and a unit vector of the title's words; similarity = sum over shared
words of idf^2 x (body.body + title.body + body.title), relative to the
article's match with itself; plus ``[related] tag_weight`` x a noisy-or of
shared tags weighted by rarity.  Scores are computed at query time from
per-article weights and document-frequency counters, so an incremental update
answers exactly as a rebuild.  Optionally (``[related] embeddings``, with
``pip install '.[embeddings]'``) a MiniLM sentence vector per article is
blended in (:mod:`.embeddings`): +2 points strict, +4 all-tags on the recipes.
"""

from __future__ import annotations

from ..lazy import lazy_exports

# Where each name lives; a module is imported when one of its names is first read.
__getattr__ = lazy_exports(__name__, {
    "Edit": "edits",
    "block_related": "edits",
    "clear_related_edit": "edits",
    "edits_for": "edits",
    "pin_related": "edits",
    "all_related": "export",
    "index_articles": "index",
    "on_articles_changed": "index",
    "sync_index": "index",
    "issue_related": "issue",
    "RelatedLink": "links",
    "related_articles": "links",
    "rebuild_index": "rebuild",
})

__all__ = [
    "Edit", "RelatedLink", "all_related", "block_related", "clear_related_edit", "edits_for",
    "index_articles", "issue_related", "on_articles_changed", "pin_related", "rebuild_index",
    "related_articles", "sync_index",
]
