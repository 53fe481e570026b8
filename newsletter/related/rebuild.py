"""Build the related index from scratch: stream the archive once, write packed segments.

Memory stays bounded by the vocabulary and one segment's postings
(``SEGMENT_SIZE`` articles).  On a big archive the text analysis (the slow,
pure-Python part) runs in worker processes while this one writes.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

import numpy as np

from ..articles import article_count, index_rows
from ..clock import now_iso
from ..db import write_transaction
from ..workspace import Workspace
from . import postings
from .embeddings import prune as prune_embeddings
from .index import ANALYZER, DocVector, article_tags, fingerprint, refresh_embeddings
from .schema import has_articles_table, related_db

_READ_CHUNK = 500
_PARALLEL_FROM = 5_000  # articles; below this, starting workers (about a second each) costs more than it saves
_TABLES = ("related_segments", "related_tombstones", "related_postings", "related_docs", "related_tags",
           "related_terms")

# A chunk's distinct terms, and per article: the positions of its terms in that list, body and title weights.
Analysed = tuple[list[str], list[tuple[np.ndarray, np.ndarray, np.ndarray]]]


def _analyse(texts: list[tuple[str, str]]) -> Analysed:
    """Term vectors of (title, body) pairs; runs in a worker process on big archives.

    Each distinct term of the chunk is sent back once (not once per article): less to pickle,
    and fewer vocabulary lookups in the process that writes.
    """
    return ANALYZER.vectors(texts)


class _Vocabulary(dict):
    """Term -> id, assigned in the order terms are first seen, with each term's document frequency."""

    def __init__(self) -> None:
        super().__init__()
        self.df = np.zeros(1 << 16, dtype=np.int64)  # by term id - 1, grown as needed

    def __missing__(self, term: str) -> int:
        term_id = self[term] = len(self) + 1
        return term_id

    def term_ids(self, terms: list[str]) -> np.ndarray:
        """Ids of ``terms`` (new ones added); document frequencies are counted by :meth:`count`."""
        out = np.fromiter(map(self.__getitem__, terms), dtype=np.int32, count=len(terms))
        if len(self) > len(self.df):
            self.df = np.concatenate([self.df, np.zeros(max(len(self), len(self.df)), dtype=np.int64)])
        return out

    def count(self, ids: np.ndarray) -> None:
        """One more article holds each of these (distinct) term ids."""
        self.df[ids - 1] += 1


class _SegmentBatch:
    """The postings of one segment being built, as compact arrays (4 bytes per value)."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.articles = 0

    def add(self, article_id: int, term_ids: np.ndarray, body: np.ndarray, title: np.ndarray) -> None:
        self.parts.append((term_ids, np.full(len(term_ids), article_id, dtype=np.int32), body, title))
        self.articles += 1

    def write(self, conn: sqlite3.Connection, segment: int) -> None:
        if self.parts:
            postings.write_segment(conn, segment, *(np.concatenate(c) for c in zip(*self.parts, strict=True)))
        self.parts = []


def _analysed_chunks(source: Iterator[tuple], workers: int) -> Iterator[tuple[list[tuple], Analysed]]:
    """(rows, their term vectors) chunk by chunk, in order; at most a few chunks in flight."""
    chunk = min(_READ_CHUNK, postings.SEGMENT_SIZE)  # a chunk never spans two segments
    if workers < 2:
        while rows := list(islice(source, chunk)):
            yield rows, _analyse([(r[1], r[2]) for r in rows])
        return
    context = multiprocessing.get_context("spawn")  # never fork a process holding a database connection
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[tuple[list[tuple], Future]] = deque()
        while True:
            rows = list(islice(source, chunk))
            if rows:
                pending.append((rows, pool.submit(_analyse, [(r[1], r[2]) for r in rows])))
            if pending and (len(pending) > 2 * workers or not rows):
                done_rows, future = pending.popleft()
                yield done_rows, future.result()
            if not rows and not pending:
                return


def rebuild_index(ws: Workspace, *, workers: int | None = None) -> int:
    """Drop and rebuild the whole index from the articles table; returns the number indexed.

    ``workers``: processes for the text analysis (default: the CPU count on an
    archive of 5,000 articles or more, else none).
    """
    db = related_db(ws)
    conn = db.conn
    vocab = _Vocabulary()
    count = 0
    with write_transaction(db):
        for table in _TABLES:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("UPDATE related_stats SET value = 0 WHERE name = 'documents'")
        if not has_articles_table(db):
            return 0
        if workers is None:
            total = article_count(db)
            workers = (os.cpu_count() or 1) if total >= _PARALLEL_FROM else 0
        cursor = index_rows(db)  # streamed in id order
        stamp = now_iso()
        segment, batch = 1, _SegmentBatch()
        for rows, (terms, vectors) in _analysed_chunks(cursor, workers):
            docs: list[tuple] = []
            tag_rows: list[tuple] = []
            chunk_ids = vocab.term_ids(terms)
            for (article_id, title, body, raw_tags, published), (positions, body_w, title_w) in zip(
                rows, vectors, strict=True
            ):
                tags = article_tags(raw_tags)
                ids = chunk_ids[positions]
                vocab.count(ids)
                batch.add(article_id, ids, body_w, title_w)
                docs.append((article_id, published or "", fingerprint(title, body, tags, published),
                             DocVector(ids, body_w, title_w).to_blob(), stamp, segment))
                tag_rows.extend((t, article_id) for t in tags)
            conn.executemany("INSERT INTO related_docs (article_id, published_at, fingerprint, vector, indexed_at, "
                             "segment) VALUES (?, ?, ?, ?, ?, ?)", docs)
            conn.executemany("INSERT INTO related_tags (tag, article_id) VALUES (?, ?)", tag_rows)
            count += len(rows)
            if batch.articles >= postings.SEGMENT_SIZE:
                batch.write(conn, segment)
                segment, batch = segment + 1, _SegmentBatch()
        batch.write(conn, segment)
        conn.execute("UPDATE related_stats SET value = ? WHERE name = 'documents'", [count])
        conn.executemany(
            "INSERT INTO related_terms (id, term, word, df) VALUES (?, ?, ?, ?)",
            ((i, term, term, int(vocab.df[i - 1])) for term, i in vocab.items()),
        )
        prune_embeddings(db)
    refresh_embeddings(ws)  # stored vectors of unchanged articles stay: only new or changed text is embedded
    return count
