"""The related index's tables (component ``related``), kept beside the articles table.

- ``related_docs``: one row per indexed article: its publication time, a
  fingerprint of the indexed text, and its term vector (term ids and weights).
- ``related_terms``: every stem with its document frequency (``word`` repeats
  the stem; the words shown to people come from the article text).
- ``related_segments``: term -> packed arrays of articles and weights, written
  by a rebuild (see :mod:`.postings`); ``related_tombstones`` masks the
  articles changed since.
- ``related_postings``: the delta: term -> article rows for articles indexed
  one at a time; clustered by term so a query reads only its terms' rows.
- ``related_tags``: normalised tag -> articles (tag document frequency).
- ``related_edits``: an editor's pins and blocks (article, other, action).
- ``related_stats``: the number of indexed articles.
- ``related_embeddings``: optional sentence vectors (see :mod:`.embeddings`),
  each with the model and the fingerprint of the text it was made from.
"""

from __future__ import annotations

from ..db import Database, has_table
from ..workspace import Workspace

COMPONENT = "related"


def _create_index_tables(db: Database) -> None:
    db.execute(
        "CREATE TABLE related_docs (article_id INTEGER PRIMARY KEY, published_at TEXT NOT NULL DEFAULT '', "
        "fingerprint TEXT NOT NULL, vector BLOB NOT NULL, indexed_at TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE related_terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE, "
        "word TEXT NOT NULL, df INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute(
        "CREATE TABLE related_postings (term_id INTEGER NOT NULL, article_id INTEGER NOT NULL, "
        "body REAL NOT NULL, title REAL NOT NULL, PRIMARY KEY (term_id, article_id)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE related_tags (tag TEXT NOT NULL, article_id INTEGER NOT NULL, "
        "PRIMARY KEY (tag, article_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX related_tags_article ON related_tags (article_id)")


def _create_edits(db: Database) -> None:
    db.execute(
        "CREATE TABLE related_edits (article_id INTEGER NOT NULL, other_id INTEGER NOT NULL, "
        "action TEXT NOT NULL CHECK (action IN ('pin', 'block')), position INTEGER NOT NULL DEFAULT 0, "
        "created_at TEXT NOT NULL, PRIMARY KEY (article_id, other_id))"
    )


def _create_stats(db: Database) -> None:
    """A counter of indexed articles (``count(*)`` reads the whole table; queries need it often)."""
    db.execute("CREATE TABLE related_stats (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute("INSERT INTO related_stats (name, value) SELECT 'documents', count(*) FROM related_docs")


def _create_segments(db: Database) -> None:
    """Packed postings segments, tombstones for their outdated articles, and each article's segment."""
    db.execute(
        "CREATE TABLE related_segments (term_id INTEGER NOT NULL, segment INTEGER NOT NULL, "
        "postings BLOB NOT NULL, PRIMARY KEY (term_id, segment)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE related_tombstones (article_id INTEGER NOT NULL, segment INTEGER NOT NULL, "
        "PRIMARY KEY (article_id, segment)) WITHOUT ROWID"
    )
    db.execute("ALTER TABLE related_docs ADD COLUMN segment INTEGER")
    db.execute("CREATE INDEX related_docs_delta ON related_docs (article_id) WHERE segment IS NULL")


def _create_embeddings(db: Database) -> None:
    db.execute(
        "CREATE TABLE related_embeddings (article_id INTEGER PRIMARY KEY, model TEXT NOT NULL, "
        "fingerprint TEXT NOT NULL, vector BLOB NOT NULL)"
    )


def _index_embeddings_by_model(db: Database) -> None:
    """Counting a model's vectors reads this small index, not the vectors."""
    db.execute("CREATE INDEX related_embeddings_model ON related_embeddings (model)")


MIGRATIONS = [_create_index_tables, _create_edits, _create_stats, _create_segments, _create_embeddings,
              _index_embeddings_by_model]


def document_count(db: Database) -> int:
    """How many articles the index holds."""
    return db.conn.execute("SELECT value FROM related_stats WHERE name = 'documents'").fetchone()[0]


def add_to_document_count(db: Database, delta: int) -> None:
    db.conn.execute("UPDATE related_stats SET value = value + ? WHERE name = 'documents'", [delta])


def related_db(ws: Workspace) -> Database:
    """The workspace database with the related tables in place."""
    return ws.require_schema(COMPONENT, MIGRATIONS)


def has_articles_table(db: Database) -> bool:
    return has_table(db, "articles")
