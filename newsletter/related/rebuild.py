"""Build the related index from scratch: stream the archive once, write packed segments.

Memory stays bounded by the vocabulary and one segment's postings
(``SEGMENT_SIZE`` articles).  On a big archive the reading and analysis of the
text (the slow, pure-Python part) run in worker processes while this one writes.
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

from .. import db as dbmod
from ..articles import article_count, existing_ids, index_rows
from ..clock import now_iso
from ..db import Database, write_transaction
from ..workspace import Workspace
from . import postings
from .embeddings import prune as prune_embeddings
from .index import ANALYZER, article_tags, fingerprint, refresh_embeddings
from .schema import has_articles_table, related_db

_READ_CHUNK = 500
_PARALLEL_FROM = 5_000  # articles; below this, starting workers (about a second each) costs more than it saves
_STAGED = "temp.related_segments_staged"
_TABLES = ("related_segments", "related_tombstones", "related_postings", "related_docs", "related_tags",
           "related_terms")

# A chunk's distinct terms; per article: the positions of its terms in that list, body and title weights;
# and per article its tags and fingerprint.
Analysed = tuple[list[str], list[tuple[np.ndarray, np.ndarray, np.ndarray]], list[list[str]], list[str]]


def _analyse(rows: list[tuple]) -> Analysed:
    """Term vectors, tags and fingerprints of index rows; runs in a worker process on big archives.

    Each distinct term of the chunk is sent back once (not once per article): less to pickle,
    and fewer vocabulary lookups in the process that writes.
    """
    terms, vectors = ANALYZER.vectors([(r[1], r[2]) for r in rows])
    tags = [article_tags(r[3]) for r in rows]
    stamps = [fingerprint(r[1], r[2], held, r[4]) for r, held in zip(rows, tags, strict=True)]
    return terms, vectors, tags, stamps


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
        """One more article holds each of these term ids (each article's ids distinct, many articles at once)."""
        self.df += np.bincount(ids - 1, minlength=len(self.df))


class _SegmentBatch:
    """The postings of one segment being built, as compact arrays (4 bytes per value)."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.articles = 0

    def add(self, article_ids: list[int], sizes: np.ndarray, term_ids: np.ndarray, body: np.ndarray,
            title: np.ndarray) -> None:
        """A chunk's postings: each article's ``sizes[k]`` terms, one after the other."""
        self.parts.append((term_ids, np.repeat(np.array(article_ids, dtype=np.int32), sizes), body, title))
        self.articles += len(article_ids)

    def write(self, conn: sqlite3.Connection, segment: int) -> None:
        if self.parts:
            postings.write_segment(conn, segment, *(np.concatenate(c) for c in zip(*self.parts, strict=True)),
                                   table=self.table)
        self.parts = []


def _stage_segments(conn: sqlite3.Connection) -> None:
    """A temporary table the segments are written to as they are made: appended, not inserted in key order.

    ``related_segments`` is keyed by (term, segment), so each new segment's rows would land between
    the earlier ones all over the table; on a big archive the pages written, spilled and read back
    made the transaction's log many times the index's size.  Copied in key order at the end, each
    page of ``related_segments`` is written once.
    """
    conn.execute(f"DROP TABLE IF EXISTS {_STAGED}")
    conn.execute(f"CREATE TEMP TABLE {_STAGED.split('.')[1]} (term_id INTEGER NOT NULL, segment INTEGER NOT NULL, "
                 "postings BLOB NOT NULL)")


def _copy_staged(conn: sqlite3.Connection) -> None:
    conn.execute(f"CREATE INDEX {_STAGED}_order ON {_STAGED.split('.')[1]} (term_id, segment)")
    conn.execute(f"INSERT INTO related_segments (term_id, segment, postings) "
                 f"SELECT term_id, segment, postings FROM {_STAGED} ORDER BY term_id, segment")
    conn.execute(f"DROP TABLE {_STAGED}")


def _read_and_analyse(database: str, ids: list[int]) -> tuple[list[tuple[int, str]], Analysed]:
    """A worker's task: read these articles through its own connection and analyse them.

    The text never passes through the process that writes (no reading, pickling and piping of
    every article there); that process holds the write lock, so the articles cannot change meanwhile.
    """
    if _worker_db.get("path") != database:
        _worker_db.update(path=database, db=dbmod.connect(database))
    rows = sorted(index_rows(_worker_db["db"], ids))
    return [(r[0], r[4]) for r in rows], _analyse(rows)


_worker_db: dict = {}  # a worker process's own connection, for the life of one rebuild


def _analysed_chunks(db: Database, database: str,
                     workers: int) -> Iterator[tuple[list[tuple[int, str]], Analysed]]:
    """(article id and publication time, their analysis) chunk by chunk, in id order; a few chunks in flight."""
    chunk = min(_READ_CHUNK, postings.SEGMENT_SIZE)  # a chunk never spans two segments
    if workers < 2:
        source = index_rows(db)  # streamed in id order
        while rows := list(islice(source, chunk)):
            yield [(r[0], r[4]) for r in rows], _analyse(rows)
        return
    ids = sorted(existing_ids(db))
    context = multiprocessing.get_context("spawn")  # never fork a process holding a database connection
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future] = deque()
        for start in range(0, len(ids), chunk):
            pending.append(pool.submit(_read_and_analyse, database, ids[start : start + chunk]))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _wipe(conn: sqlite3.Connection) -> None:
    """Empty the index tables.  They hold only what published articles say, no reader's data, so
    their freed pages are not overwritten with zeros (``secure_delete`` stays on for everything else):
    on a big archive that was writing the whole old index once more."""
    conn.execute("PRAGMA secure_delete = FAST")
    try:
        for table in _TABLES:
            conn.execute(f"DELETE FROM {table}")
    finally:
        conn.execute("PRAGMA secure_delete = ON")


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
        _wipe(conn)
        conn.execute("UPDATE related_stats SET value = 0 WHERE name = 'documents'")
        if not has_articles_table(db):
            return 0
        total = article_count(db)
        if workers is None:
            workers = (os.cpu_count() or 1) if total >= _PARALLEL_FROM else 0
        staged = total > postings.SEGMENT_SIZE  # one segment is written in key order anyway
        if staged:
            _stage_segments(conn)
        stamp_time = now_iso()
        table = _STAGED if staged else "related_segments"
        segment, batch = 1, _SegmentBatch(table)
        for rows, (terms, vectors, tags, stamps) in _analysed_chunks(db, str(ws.database_path), workers):
            chunk_ids = vocab.term_ids(terms)
            sizes = np.array([len(positions) for positions, _, _ in vectors], dtype=np.int64)
            ids = chunk_ids[np.concatenate([positions for positions, _, _ in vectors])]
            body = np.concatenate([v[1] for v in vectors])
            title = np.concatenate([v[2] for v in vectors])
            batch.add([row[0] for row in rows], sizes, ids, body, title)
            vocab.count(ids)
            blobs = postings.pack_many(ids, body, title, np.r_[0, np.cumsum(sizes)])
            docs = [(row[0], row[1] or "", stamp, blob, stamp_time, segment)
                    for row, stamp, blob in zip(rows, stamps, blobs, strict=True)]
            tag_rows = [(t, row[0]) for row, own in zip(rows, tags, strict=True) for t in own]
            conn.executemany("INSERT INTO related_docs (article_id, published_at, fingerprint, vector, indexed_at, "
                             "segment) VALUES (?, ?, ?, ?, ?, ?)", docs)
            conn.executemany("INSERT INTO related_tags (tag, article_id) VALUES (?, ?)", tag_rows)
            count += len(rows)
            if batch.articles >= postings.SEGMENT_SIZE:
                batch.write(conn, segment)
                segment, batch = segment + 1, _SegmentBatch(table)
        batch.write(conn, segment)
        if staged:
            _copy_staged(conn)
        conn.execute("UPDATE related_stats SET value = ? WHERE name = 'documents'", [count])
        conn.executemany(
            "INSERT INTO related_terms (id, term, word, df) VALUES (?, ?, ?, ?)",
            ((i, term, term, int(vocab.df[i - 1])) for term, i in vocab.items()),
        )
        prune_embeddings(db)
    refresh_embeddings(ws)  # stored vectors of unchanged articles stay: only new or changed text is embedded
    return count
