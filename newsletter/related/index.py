"""Keep the related index in step with the articles table, one article at a time or all at once.

Every stored weight depends on its own article only; document frequencies are
counters updated on each add and remove.  So indexing articles one by one gives
exactly the index a rebuild gives, and adding one article touches only its own
rows and the counters of its terms.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..articles import INDEX_COLUMNS, existing_ids, index_rows
from ..clock import now_iso
from ..db import Database, write_transaction
from ..workspace import Workspace
from . import postings
from .schema import add_to_document_count, document_count, has_articles_table, related_db
from .text import Analyzer, TermVector, normalise_tag

log = logging.getLogger(__name__)

ARTICLE_COLUMNS = INDEX_COLUMNS  # what index_rows() gives: id, title, body_text, tags, published_at
_CHUNK = 500  # rows per read and per IN (...) list
_BULK = 1000  # from this many changed articles on, when the index is no bigger, rebuild instead
ANALYZER = Analyzer()


@dataclass(frozen=True)
class DocVector:
    """A stored article vector: term ids with unit body and title weights."""

    term_ids: np.ndarray  # int64
    body: np.ndarray  # float64
    title: np.ndarray  # float64

    def to_blob(self) -> bytes:
        return postings.pack(self.term_ids, self.body, self.title)

    @classmethod
    def from_blob(cls, blob: bytes) -> DocVector:
        return cls(*postings.unpack(blob))


def article_tags(raw: str | None) -> list[str]:
    try:
        tags = json.loads(raw or "[]")
    except ValueError:
        return []
    if not isinstance(tags, list):
        return []
    return sorted({normalise_tag(str(t)) for t in tags if str(t).strip()})


def fingerprint(title: str, body: str, tags: list[str], published: str) -> str:
    """What the index read of an article: unchanged fingerprint, nothing to reindex."""
    data = "\x00".join([title or "", body or "", "\x1f".join(tags), published or ""])
    return hashlib.blake2b(data.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _term_ids(db: Database, vector: TermVector) -> np.ndarray:
    """Ids of the vector's terms, adding unknown terms to ``related_terms``."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO related_terms (term, word, df) VALUES (?, ?, 0)",
        [(t, t) for t in vector.terms],
    )
    found: dict[str, int] = {}
    for start in range(0, len(vector.terms), _CHUNK):
        chunk = vector.terms[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(db.execute(f"SELECT term, id FROM related_terms WHERE term IN ({marks})", chunk))
    return np.array([found[t] for t in vector.terms], dtype=np.int64)


def _remove(db: Database, article_id: int) -> None:
    row = db.execute("SELECT vector, segment FROM related_docs WHERE article_id = ?", [article_id]).fetchone()
    if row is None:
        return
    ids = DocVector.from_blob(row[0]).term_ids.tolist()
    db.conn.executemany("UPDATE related_terms SET df = df - 1 WHERE id = ?", [(i,) for i in ids])
    if row[1] is None:
        db.conn.executemany(
            "DELETE FROM related_postings WHERE term_id = ? AND article_id = ?", [(i, article_id) for i in ids]
        )
    else:  # packed in a segment: mask it there
        db.execute("INSERT OR IGNORE INTO related_tombstones (article_id, segment) VALUES (?, ?)",
                   [article_id, row[1]])
    db.execute("DELETE FROM related_tags WHERE article_id = ?", [article_id])
    db.execute("DELETE FROM related_embeddings WHERE article_id = ?", [article_id])
    db.execute("DELETE FROM related_docs WHERE article_id = ?", [article_id])
    add_to_document_count(db, -1)


def _add(db: Database, row: tuple, stamp: str, tags: list[str]) -> None:
    article_id, title, body, _, published = row
    vector = ANALYZER.vector(title or "", body or "")
    ids = _term_ids(db, vector)
    doc = DocVector(ids, vector.body.astype(np.float64), vector.title.astype(np.float64))
    db.conn.executemany("UPDATE related_terms SET df = df + 1 WHERE id = ?", [(i,) for i in ids.tolist()])
    db.conn.executemany(
        "INSERT INTO related_postings (term_id, article_id, body, title) VALUES (?, ?, ?, ?)",
        zip(ids.tolist(), [article_id] * len(ids), _f32(doc.body), _f32(doc.title), strict=True),
    )
    db.conn.executemany(
        "INSERT INTO related_tags (tag, article_id) VALUES (?, ?)", [(t, article_id) for t in tags]
    )
    db.execute(
        "INSERT INTO related_docs (article_id, published_at, fingerprint, vector, indexed_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [article_id, published or "", stamp, doc.to_blob(), now_iso()],
    )
    add_to_document_count(db, 1)


def _f32(values: np.ndarray) -> list[float]:
    """Weights as stored: rounded to float32 so a rebuild and an update store the same numbers."""
    return values.astype(np.float32).astype(np.float64).tolist()


def index_articles(ws: Workspace, ids: Iterable[int]) -> int:
    """(Re)index these articles, drop the ones no longer in the archive; returns how many changed."""
    db = related_db(ws)
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return 0
    if len(wanted) > _BULK and len(wanted) >= document_count(db):
        from .rebuild import rebuild_index  # a first import of a big archive: one streaming pass is faster

        return rebuild_index(ws)
    changed = 0
    with write_transaction(db):
        rows = list(index_rows(db, wanted))
        seen = set()
        for row in rows:
            seen.add(row[0])
            tags = article_tags(row[3])
            stamp = fingerprint(row[1], row[2], tags, row[4])
            old = db.execute(
                "SELECT fingerprint FROM related_docs WHERE article_id = ?", [row[0]]
            ).fetchone()
            if old and old[0] == stamp:
                continue
            _remove(db, row[0])
            _add(db, row, stamp, tags)
            changed += 1
        for gone in set(wanted) - seen:
            if db.execute("SELECT 1 FROM related_docs WHERE article_id = ?", [gone]).fetchone():
                _remove(db, gone)
                changed += 1
        if postings.delta_size(db.conn) >= postings.SEGMENT_SIZE:
            postings.merge_delta(db.conn)
    if changed:
        refresh_embeddings(ws)
    return changed


def refresh_embeddings(ws: Workspace) -> int:
    """With ``[related] embeddings`` on, embed the articles that lack an up-to-date vector."""
    if not ws.settings.related.embeddings:
        return 0
    from .embeddings import complete, embed_missing, vector_name, workspace_embedder

    db = related_db(ws)
    settings = ws.settings.related
    if complete(db, vector_name(str(settings.embedding_model), settings.embedding_chunks)):
        return 0  # every article has its vector: no need to load the model (seconds)
    return embed_missing(db, workspace_embedder(ws), settings.embedding_chunks)


def on_articles_changed(ws: Workspace, ids: Iterable[int]) -> None:
    """Called by the importer after storing new or changed articles (and after deleting some)."""
    changed = index_articles(ws, ids)
    log.debug("related index: %d article(s) reindexed", changed)


def sync_index(ws: Workspace) -> int:
    """Index the articles the index does not have and drop the ones deleted; returns how many."""
    db = related_db(ws)
    if not has_articles_table(db):
        return 0
    articles = existing_ids(db)
    indexed = {r[0] for r in db.execute("SELECT article_id FROM related_docs")}
    changed = index_articles(ws, sorted(articles - indexed) + sorted(indexed - articles))  # missing, then gone
    if not changed:
        refresh_embeddings(ws)  # switched on since the last change
    return changed
