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

from .edits import Edit, block_related, clear_related_edit, edits_for, pin_related
from .export import all_related
from .index import index_articles, on_articles_changed, sync_index
from .issue import issue_related
from .links import RelatedLink, related_articles
from .rebuild import rebuild_index

__all__ = [
    "Edit",
    "RelatedLink",
    "all_related",
    "block_related",
    "clear_related_edit",
    "edits_for",
    "index_articles",
    "issue_related",
    "on_articles_changed",
    "pin_related",
    "rebuild_index",
    "related_articles",
    "sync_index",
]
