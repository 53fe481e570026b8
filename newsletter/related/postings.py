"""Postings storage: big read-only segments of packed arrays, plus a small row-per-posting delta.

A rebuild writes the archive as segments: per term, one row holding the
article ids and weights of up to ``SEGMENT_SIZE`` articles as packed arrays,
so a query reads a few blobs instead of thousands of rows.  Articles added or
changed later go to ``related_postings`` one row per term (cheap to write);
their old segment postings are masked by a tombstone.  When the delta holds
``SEGMENT_SIZE`` articles it is packed into a new segment.
"""

from __future__ import annotations

import sqlite3

import numpy as np

SEGMENT_SIZE = 5_000
_COLUMNS = 4  # term id, article id, body weight, title weight


def pack(ids: np.ndarray, body: np.ndarray, title: np.ndarray) -> bytes:
    """int32 ids, then float32 body and title weights, little-endian."""
    return ids.astype("<i4").tobytes() + body.astype("<f4").tobytes() + title.astype("<f4").tobytes()


def pack_many(ids: np.ndarray, body: np.ndarray, title: np.ndarray, bounds: np.ndarray) -> list[bytes]:
    """:func:`pack` of each run ``bounds[k]:bounds[k + 1]`` of the parallel arrays, laid out in one pass."""
    n = len(ids)
    words = np.empty(3 * n, dtype="<u4")
    sizes = np.diff(bounds)
    size = np.repeat(sizes, sizes)  # each posting's run length
    at = np.arange(n) + 2 * np.repeat(bounds[:-1], sizes)  # run start in words (3 x start) + offset in the run
    words[at] = np.asarray(ids).astype("<i4").view("<u4")
    words[at + size] = np.asarray(body).astype("<f4").view("<u4")
    words[at + 2 * size] = np.asarray(title).astype("<f4").view("<u4")
    raw = words.tobytes()
    return [raw[12 * a : 12 * b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]


def unpack(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(blob) // 12
    return (np.frombuffer(blob, "<i4", n, 0).astype(np.int64),
            np.frombuffer(blob, "<f4", n, 4 * n).astype(np.float64),
            np.frombuffer(blob, "<f4", n, 8 * n).astype(np.float64))


def write_segment(conn: sqlite3.Connection, segment: int, terms: np.ndarray, articles: np.ndarray,
                  body: np.ndarray, title: np.ndarray, *, table: str = "related_segments") -> None:
    """Store postings (parallel arrays, in article order) as one segment, one row per term (into ``table``,
    which has the columns of ``related_segments``)."""
    if not len(terms):
        return
    # Stable (articles stay in order within a term): sorting (term, position) keys is several times faster
    # than a stable argsort of the terms, and gives the same order.
    order = np.sort((terms.astype(np.int64) << 32) | np.arange(len(terms), dtype=np.int64)) & 0xFFFFFFFF
    terms, articles, body, title = terms[order], articles[order], body[order], title[order]
    starts = np.flatnonzero(np.r_[True, terms[1:] != terms[:-1]])
    blobs = pack_many(articles, body, title, np.r_[starts, len(terms)])
    conn.executemany(
        f"INSERT INTO {table} (term_id, segment, postings) VALUES (?, ?, ?)",
        zip(terms[starts].tolist(), [segment] * len(starts), blobs, strict=True),
    )


def next_segment(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(segment), 0) + 1 FROM related_docs").fetchone()[0]


def read_postings(conn: sqlite3.Connection, term_ids: list[int]) -> np.ndarray:
    """Every live posting of these terms as rows (term id, article id, body, title)."""
    marks = ",".join("?" * len(term_ids))
    rows = conn.execute(
        f"SELECT term_id, segment, postings FROM related_segments WHERE term_id IN ({marks})", term_ids
    ).fetchall()
    out = _decode(rows, conn.execute("SELECT segment, article_id FROM related_tombstones").fetchall())
    delta = conn.execute(
        f"SELECT term_id, article_id, body, title FROM related_postings WHERE term_id IN ({marks})", term_ids
    ).fetchall()
    if delta:
        out = np.concatenate([out, np.array(delta, dtype=np.float64)])
    return out


def _decode(rows: list[tuple[int, int, bytes]], tombstones: list[tuple[int, int]]) -> np.ndarray:
    """Unpack many segment rows at once (a query reads hundreds): one gather per column, no loop."""
    if not rows:
        return np.zeros((0, _COLUMNS))
    terms, segments, blobs = zip(*rows, strict=True)
    sizes = np.fromiter((len(b) // 12 for b in blobs), dtype=np.int64, count=len(blobs))
    words = np.frombuffer(b"".join(blobs), "<u4")
    starts = np.repeat(np.cumsum(3 * sizes) - 3 * sizes, sizes)  # each posting's blob, in 4-byte words
    position = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    size = np.repeat(sizes, sizes)
    ids = words[starts + position].view("<i4").astype(np.int64)
    out = np.empty((len(ids), _COLUMNS))
    out[:, 0] = np.repeat(np.array(terms, dtype=np.int64), sizes)
    out[:, 1] = ids
    out[:, 2] = words[starts + size + position].view("<f4")
    out[:, 3] = words[starts + 2 * size + position].view("<f4")
    if tombstones:  # postings of articles changed since their segment was written
        dead = np.array([(segment << 32) | article for segment, article in tombstones], dtype=np.int64)
        keys = (np.repeat(np.array(segments, dtype=np.int64), sizes) << 32) | ids
        out = out[~np.isin(keys, dead)]
    return out


def delta_size(conn: sqlite3.Connection) -> int:
    """How many articles have their postings in the row-per-posting delta."""
    return conn.execute("SELECT count(*) FROM related_docs WHERE segment IS NULL").fetchone()[0]


def merge_delta(conn: sqlite3.Connection) -> None:
    """Pack the delta's postings into a new segment (inside the caller's transaction)."""
    rows = conn.execute("SELECT term_id, article_id, body, title FROM related_postings "
                        "ORDER BY article_id, term_id").fetchall()
    if not rows:
        return
    segment = next_segment(conn)
    arr = np.array(rows, dtype=np.float64)
    write_segment(conn, segment, arr[:, 0].astype(np.int32), arr[:, 1].astype(np.int32), arr[:, 2], arr[:, 3])
    conn.execute("UPDATE related_docs SET segment = ? WHERE segment IS NULL", [segment])
    conn.execute("DELETE FROM related_postings")
