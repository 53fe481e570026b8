"""Build the related index from scratch: stream the archive once, write postings in term order.

Memory stays bounded by the vocabulary and one chunk of articles; postings go
to a temporary table first and are copied in term order, so SQLite appends to
the clustered table instead of inserting at random places.
"""

from __future__ import annotations

import numpy as np

from ..clock import now_iso
from ..workspace import Workspace
from .index import _ARTICLE_COLUMNS, DocVector, _analyzer, _f32, _fingerprint, _tags
from .schema import has_articles_table, related_db

_READ_CHUNK = 1000


def rebuild_index(ws: Workspace) -> int:
    """Drop and rebuild the whole index from the articles table; returns the number indexed."""
    db = related_db(ws)
    conn = db.conn
    vocab: dict[str, int] = {}
    words: list[str] = []
    df: list[int] = []
    count = 0
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        for table in ("related_postings", "related_docs", "related_tags", "related_terms"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("UPDATE related_stats SET value = 0 WHERE name = 'documents'")
        if not has_articles_table(db):
            return 0
        conn.execute("DROP TABLE IF EXISTS temp.related_stage")
        conn.execute("CREATE TEMP TABLE related_stage (term_id INTEGER, article_id INTEGER, body REAL, title REAL)")
        cursor = conn.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles ORDER BY id")
        stamp = now_iso()
        while rows := cursor.fetchmany(_READ_CHUNK):
            postings: list[tuple] = []
            docs: list[tuple] = []
            tag_rows: list[tuple] = []
            for row in rows:
                article_id, title, body, raw_tags, published = row
                tags = _tags(raw_tags)
                vector = _analyzer.vector(title or "", body or "")
                ids = []
                for term in vector.terms:
                    term_id = vocab.get(term)
                    if term_id is None:
                        term_id = vocab[term] = len(words) + 1
                        words.append(vector.words.get(term, term))
                        df.append(0)
                    df[term_id - 1] += 1
                    ids.append(term_id)
                doc = DocVector(np.array(ids, dtype=np.int64), vector.body, vector.title)
                postings.extend(zip(ids, [article_id] * len(ids), _f32(doc.body), _f32(doc.title), strict=True))
                docs.append((article_id, published or "", _fingerprint(title, body, tags, published),
                             doc.to_blob(), stamp))
                tag_rows.extend((t, article_id) for t in tags)
            conn.executemany("INSERT INTO temp.related_stage VALUES (?, ?, ?, ?)", postings)
            conn.executemany("INSERT INTO related_docs VALUES (?, ?, ?, ?, ?)", docs)
            conn.executemany("INSERT INTO related_tags (tag, article_id) VALUES (?, ?)", tag_rows)
            count += len(rows)
        conn.execute(
            "INSERT INTO related_postings (term_id, article_id, body, title) "
            "SELECT term_id, article_id, body, title FROM temp.related_stage ORDER BY term_id, article_id"
        )
        conn.execute("DROP TABLE temp.related_stage")
        conn.execute("UPDATE related_stats SET value = ? WHERE name = 'documents'", [count])
        conn.executemany(
            "INSERT INTO related_terms (id, term, word, df) VALUES (?, ?, ?, ?)",
            ((i, term, words[i - 1], df[i - 1]) for term, i in vocab.items()),
        )
    return count
