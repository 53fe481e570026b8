"""Articles in: import from Markdown, feeds, HTML and saved text pages; the archive's read API.

Rules the importer keeps (``newsletter articles import --help`` says the same):

- One article per canonical URL (absolute, lowercase host, no fragment, no ``utm_*`` or
  other click-tracking parameters, no trailing slash).  A Markdown file without a URL gets
  ``[site] url`` + ``/`` + its file name.  An HTML or saved text page takes the URL it states
  (``<link rel=canonical>``, ``og:url``, a URL line) or ``--url``; without one it is stored
  with no public URL, and no issue takes it until it has one (``articles edit ARTICLE --url``).
  Slugs transliterate other scripts, else fall back to a hash.  An article keeps its slug.
- An import updates an article only from the same source (the same file, or the same URL
  stated by the source); a URL made from a name that another source's article already has
  is an error naming both, and nothing is overwritten.
- Re-importing unchanged content changes nothing (``content_hash``); an edit updates the
  row and ``updated_at``.  Sources rank Markdown > HTML page = feed > saved text: a lower
  one never overwrites an article imported from a higher one (reported as skipped).
  Two sources with one URL in a single import: the higher-ranked, else the first, wins.
- No date in the source: ``--date``, else the file's modification time (or a fetched
  page's Last-Modified), else the import time; the report says which was used.
- A date after today (site time zone) is refused unless ``allow_future`` / ``--allow-future``:
  usually a typo, and an issue must not link to a post that is not online yet.
"""

from __future__ import annotations

from ..lazy import lazy_exports

# Where each name lives; a module is imported when one of its names is first read.
__getattr__ = lazy_exports(__name__, {
    "import_sources": "importer",
    "Article": "model",
    "canonical_url": "model",
    "slugify": "model",
    "ImportReport": "report",
    "ReportEntry": "report",
    "all_articles": "store",
    "articles_db": "store",
    "articles_in_week": "store",
    "articles_without_url": "store",
    "article_count": "store",
    "article_texts": "store",
    "existing_ids": "store",
    "index_rows": "store",
    "INDEX_COLUMNS": "store",
    "get_article": "store",
    "get_articles": "store",
    "set_url": "store",
})

__all__ = [
    "INDEX_COLUMNS", "article_count", "article_texts", "existing_ids", "index_rows",
    "Article", "ImportReport", "ReportEntry", "all_articles", "articles_db", "articles_in_week",
    "articles_without_url", "canonical_url", "get_article", "get_articles", "import_sources", "set_url",
    "slugify",
]
