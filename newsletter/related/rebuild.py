"""Build the related index from scratch: stream the archive once, write packed segments.

Memory stays bounded by the vocabulary and one segment's postings
(``SEGMENT_SIZE`` articles); each segment is sorted by term in numpy and
written as one row per term.
"""

from __future__ import annotations

import numpy as np

from ..clock import now_iso
from ..workspace import Workspace
from . import postings
from .index import _ARTICLE_COLUMNS, DocVector, _analyzer, _fingerprint, _tags
from .schema import has_articles_table, related_db

_READ_CHUNK = 1000
_TABLES = ("related_segments", "related_tombstones", "related_postings", "related_docs", "related_tags",
           "related_terms")


class _Vocabulary:
    """Term ids and document frequencies, assigned in the order terms are first seen."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.words: list[str] = []
        self.df: list[int] = []

    def term_ids(self, terms: list[str], words: dict[str, str]) -> list[int]:
        out = []
        for term in terms:
            term_id = self.ids.get(term)
            if term_id is None:
                term_id = self.ids[term] = len(self.words) + 1
                self.words.append(words.get(term, term))
                self.df.append(0)
            self.df[term_id - 1] += 1
            out.append(term_id)
        return out


class _SegmentBatch:
    """The postings of one segment being built, as compact arrays (4 bytes per value)."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.articles = 0

    def add(self, article_id: int, term_ids: np.ndarray, body: np.ndarray, title: np.ndarray) -> None:
        self.parts.append((term_ids, np.full(len(term_ids), article_id, dtype=np.int32), body, title))
        self.articles += 1

    def write(self, conn, segment: int) -> None:
        if self.parts:
            postings.write_segment(conn, segment, *(np.concatenate(column) for column in zip(*self.parts, strict=True)))
        self.parts = []


def rebuild_index(ws: Workspace) -> int:
    """Drop and rebuild the whole index from the articles table; returns the number indexed."""
    db = related_db(ws)
    conn = db.conn
    vocab = _Vocabulary()
    count = 0
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        for table in _TABLES:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("UPDATE related_stats SET value = 0 WHERE name = 'documents'")
        if not has_articles_table(db):
            return 0
        cursor = conn.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles ORDER BY id")
        stamp = now_iso()
        segment, batch = 1, _SegmentBatch()
        size = postings.SEGMENT_SIZE
        while rows := cursor.fetchmany(min(_READ_CHUNK, size)):
            docs: list[tuple] = []
            tag_rows: list[tuple] = []
            for row in rows:
                article_id, title, body, raw_tags, published = row
                tags = _tags(raw_tags)
                vector = _analyzer.vector(title or "", body or "")
                ids = np.array(vocab.term_ids(vector.terms, vector.words), dtype=np.int32)
                batch.add(article_id, ids, vector.body, vector.title)
                docs.append((article_id, published or "", _fingerprint(title, body, tags, published),
                             DocVector(ids, vector.body, vector.title).to_blob(), stamp, segment))
                tag_rows.extend((t, article_id) for t in tags)
            conn.executemany("INSERT INTO related_docs (article_id, published_at, fingerprint, vector, indexed_at, "
                             "segment) VALUES (?, ?, ?, ?, ?, ?)", docs)
            conn.executemany("INSERT INTO related_tags (tag, article_id) VALUES (?, ?)", tag_rows)
            count += len(rows)
            if batch.articles >= size:
                batch.write(conn, segment)
                segment, batch = segment + 1, _SegmentBatch()
        batch.write(conn, segment)
        conn.execute("UPDATE related_stats SET value = ? WHERE name = 'documents'", [count])
        conn.executemany(
            "INSERT INTO related_terms (id, term, word, df) VALUES (?, ?, ?, ?)",
            ((i, term, vocab.words[i - 1], vocab.df[i - 1]) for term, i in vocab.ids.items()),
        )
    return count
