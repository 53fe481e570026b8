"""Articles in: import from Markdown, feeds, HTML and saved text pages; the archive's read API."""

from .importer import import_sources
from .model import Article, canonical_url, slugify
from .report import ImportReport, ReportEntry
from .store import all_articles, articles_db, articles_in_week, get_article, get_articles

__all__ = [
    "Article",
    "ImportReport",
    "ReportEntry",
    "all_articles",
    "articles_db",
    "articles_in_week",
    "canonical_url",
    "get_article",
    "get_articles",
    "import_sources",
    "slugify",
]
