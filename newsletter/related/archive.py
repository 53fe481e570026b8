"""The stored index as ranking reads it: vectors, document frequencies, postings, tags, dates, pins.

One :class:`Archive` serves one ranking session (the archive does not change
while it ranks): everything read from SQLite is kept.  Ranking one article reads
only what it needs; :meth:`Archive.load_all` reads the whole index at once, as
compact matrices, for ranking every article (``articles related --all``).
Either way the values are the stored float32 weights, so both answer alike.
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ..db import Database
from .index import DocVector
from .postings import read_postings
from .schema import document_count

if TYPE_CHECKING:
    from .evidence import PairSpread

_CHUNK = 500


def idf2(df: np.ndarray, n: int) -> np.ndarray:
    """Smoothed idf squared, for near-duplicate checks (every term counts, even one only this article has)."""
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0) ** 2


class Archive:
    """Cached reads of the related index for one ranking session."""

    def __init__(self, db: Database, *, size: int | None = None, columns: int | None = None) -> None:
        self.db = db
        self.size = document_count(db) if size is None else size  # articles indexed: N in every idf
        self.columns = columns if columns is not None else \
            (db.conn.execute("SELECT max(article_id) FROM related_docs").fetchone()[0] or 0) + 1
        self._df: dict[int, int] = {}
        self._df_all: np.ndarray | None = None
        self._vectors: dict[int, DocVector] = {}
        self._published: dict[int, str] = {}
        self._tags: dict[int, list[str]] = {}
        self._members: dict[str, np.ndarray] = {}
        self._edits: dict[int, list[tuple[int, str]]] = {}
        self._rare: dict[int, int] = {}
        self._rare_all: np.ndarray | None = None
        self._norms: dict[int, float] = {}
        self._stems: dict[int, str] = {}
        self._docs: tuple[sp.csr_matrix, np.ndarray] | None = None  # article rows: body, and title aligned
        self._postings: tuple[sp.csr_matrix, sp.csr_matrix] | None = None  # term rows: body, title (float64)
        self._slots = np.full(1 << 16, -1, dtype=np.int64)  # see positions()
        self._spreads: dict[str, PairSpread] = {}
        self.loaded = False

    def pair_spread(self, model: str) -> PairSpread:
        """How pairs of articles score with embedding ``model``: sampled once per session."""
        if model not in self._spreads:
            from .embeddings import pair_cosines
            from .evidence import PairSpread

            self._spreads[model] = PairSpread.of(pair_cosines(self.db, model), self.size)
        return self._spreads[model]

    # -- reading everything at once -------------------------------------------------------------

    def load_all(self) -> Archive:
        """Read the whole index into memory (about 20 bytes per posting): for ranking every article."""
        conn = self.db.conn
        terms = conn.execute("SELECT id, df FROM related_terms").fetchall()
        top = max((t for t, _ in terms), default=0) + 1
        self._df_all = np.zeros(top + 1, dtype=np.float64)  # one zero past the last id: see df()
        if terms:
            arr = np.array(terms, dtype=np.int64)
            self._df_all[arr[:, 0]] = arr[:, 1]
        term_ids, body, title, counts = self._read_vectors(conn)
        indptr = np.r_[0, np.cumsum(counts)]
        shape = (self.columns, max(top, int(term_ids.max(initial=0)) + 1))
        docs = sp.csr_matrix((body, term_ids, indptr), shape=shape)
        self._slots = np.full(shape[1], -1, dtype=np.int64)  # every term id of the index fits: see positions()
        titled = title != 0
        rows_of = np.repeat(np.arange(self.columns), counts)
        titles = sp.csr_matrix((title[titled], (rows_of[titled], term_ids[titled])), shape=shape)
        self._docs = (docs, title)
        df = self._df_all.take(term_ids, mode="clip")
        rare = (df >= 2) & (df <= math.sqrt(self.size))
        self._rare_all = np.bincount(rows_of[rare], minlength=self.columns)
        self._postings = (docs.T.tocsr().astype(np.float64), titles.T.tocsr().astype(np.float64))
        for tag, article_id in conn.execute("SELECT tag, article_id FROM related_tags ORDER BY article_id, tag"):
            self._tags.setdefault(article_id, []).append(tag)
        self._members = _members(self._tags)
        for article_id, other, action in conn.execute(
                "SELECT article_id, other_id, action FROM related_edits ORDER BY article_id, position"):
            self._edits.setdefault(article_id, []).append((other, action))
        self.loaded = True
        return self

    def _read_vectors(self, conn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every stored vector, concatenated in article order (term ids, body, title), and each article's
        term count.  Copied blob by blob into arrays sized up front: the blobs are never all held at once."""
        total = conn.execute("SELECT coalesce(sum(length(vector)), 0) / 12 FROM related_docs").fetchone()[0]
        arrays = [np.empty(total, "<i4"), np.empty(total, "<f4"), np.empty(total, "<f4")]
        counts = np.zeros(self.columns, dtype=np.int64)
        at = 0
        for article_id, published, blob in conn.execute(
                "SELECT article_id, published_at, vector FROM related_docs ORDER BY article_id"):
            n = len(blob) // 12
            if at + n > len(arrays[0]):  # the index grew since it was measured
                arrays = [np.resize(a, 2 * (at + n)) for a in arrays]
            for k, (array, dtype) in enumerate(zip(arrays, ("<i4", "<f4", "<f4"), strict=True)):
                array[at : at + n] = np.frombuffer(blob, dtype, n, 4 * n * k)
            if article_id >= len(counts):
                counts = np.resize(counts, article_id + 1)
                self.columns = article_id + 1
            counts[article_id] = n
            at += n
            self._published[article_id] = published
        return arrays[0][:at], arrays[1][:at], arrays[2][:at], counts

    def save(self, folder: Path) -> None:
        """Write a loaded archive into ``folder`` as plain arrays, for worker processes to map (:meth:`mapped`)."""
        docs, title = self._docs
        body, titles = self._postings
        arrays = {"df": self._df_all, "title": title, "rare": self._rare_all}
        for name, matrix in (("docs", docs), ("body", body), ("titles", titles)):
            arrays |= {f"{name}.data": matrix.data, f"{name}.indices": matrix.indices, f"{name}.indptr": matrix.indptr}
        for name, array in arrays.items():
            np.save(folder / f"{name}.npy", array)
        meta = {"size": self.size, "columns": self.columns, "docs": docs.shape, "body": body.shape,
                "titles": titles.shape, "published": self._published, "tags": self._tags, "edits": self._edits}
        (folder / "meta.pickle").write_bytes(pickle.dumps(meta, protocol=pickle.HIGHEST_PROTOCOL))

    @classmethod
    def mapped(cls, folder: Path, db: Database | None) -> Archive:
        """A loaded archive from :meth:`save`'s files, its arrays mapped read-only: the workers of one
        export share their pages instead of each holding a copy.  ``db`` serves what the arrays do not hold
        (article text and stems, for reasons)."""
        meta = pickle.loads((folder / "meta.pickle").read_bytes())
        archive = cls(db, size=meta["size"], columns=meta["columns"])

        def array(name: str) -> np.ndarray:
            return np.load(folder / f"{name}.npy", mmap_mode="r")

        def matrix(name: str) -> sp.csr_matrix:
            return sp.csr_matrix((array(f"{name}.data"), array(f"{name}.indices"), array(f"{name}.indptr")),
                                 shape=meta[name], copy=False)

        archive._df_all, archive._rare_all = array("df"), array("rare")
        archive._docs = (matrix("docs"), array("title"))
        archive._postings = (matrix("body"), matrix("titles"))
        archive._slots = np.full(meta["docs"][1], -1, dtype=np.int64)  # written by positions(): this process's own
        archive._published, archive._tags, archive._edits = meta["published"], meta["tags"], meta["edits"]
        archive._members = _members(archive._tags)
        archive.loaded = True
        return archive

    # -- per-term reads --------------------------------------------------------------------------

    def df(self, term_ids: np.ndarray) -> np.ndarray:
        """Document frequency of each term id (float64; 0 for a term no longer held)."""
        if self._df_all is not None:  # ids past the end (none in the index) clip to the trailing zero
            return self._df_all.take(term_ids, mode="clip")
        term_ids = np.asarray(term_ids, dtype=np.int64)
        missing = [t for t in dict.fromkeys(term_ids.tolist()) if t not in self._df]
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found = dict(self.db.conn.execute(f"SELECT id, df FROM related_terms WHERE id IN ({marks})", chunk))
            self._df.update((t, found.get(t, 0)) for t in chunk)
        get = self._df.__getitem__
        return np.fromiter(map(get, term_ids.tolist()), dtype=np.float64, count=len(term_ids))

    def postings(self, term_ids: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix, sp.csr_matrix]:
        """For sorted distinct ``term_ids``: their matrix rows (ascending, like the ids) and body, title
        matrices (term rows x article columns)."""
        if self._postings is not None:
            body, title = self._postings
            inside = term_ids < body.shape[0]
            rows = np.where(inside, term_ids, 0)
            return rows, body, title
        arr = read_postings(self.db.conn, term_ids.tolist()) if len(term_ids) else np.zeros((0, 4))
        rows = np.searchsorted(term_ids, arr[:, 0].astype(np.int64))
        articles = arr[:, 1].astype(np.int64)
        shape = (len(term_ids), self.columns)
        body = sp.csr_matrix((arr[:, 2], (rows, articles)), shape=shape)
        titled = arr[:, 3] != 0
        title = sp.csr_matrix((arr[titled, 3], (rows[titled], articles[titled])), shape=shape)
        return np.arange(len(term_ids)), body, title

    def positions(self, term_ids: np.ndarray, others: np.ndarray) -> np.ndarray:
        """For each of ``others``, its position in ``term_ids`` (distinct), or -1: a set test in a few gathers."""
        if not self.loaded:  # loaded, the slots already cover every term id of the index
            top = int(max(term_ids.max(initial=0), others.max(initial=0))) + 1
            if top > len(self._slots):
                self._slots = np.full(max(top, 2 * len(self._slots)), -1, dtype=np.int64)
        self._slots[term_ids] = np.arange(len(term_ids))
        out = self._slots[others]
        self._slots[term_ids] = -1
        return out

    def stems(self, term_ids: list[int]) -> dict[int, str]:
        missing = [t for t in term_ids if t not in self._stems]
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            self._stems.update(self.db.conn.execute(f"SELECT id, term FROM related_terms WHERE id IN ({marks})",
                                                    chunk))
        return {t: self._stems[t] for t in term_ids if t in self._stems}

    # -- per-article reads -----------------------------------------------------------------------

    def vectors(self, ids: list[int]) -> dict[int, DocVector]:
        """Stored vectors of these articles (missing ones left out)."""
        if self._docs is not None:  # built from the loaded rows each time: a copy per article would double memory
            docs, titles = self._docs
            return {i: self._from_rows(docs, titles, i) for i in ids
                    if 0 <= i < docs.shape[0] and docs.indptr[i + 1] > docs.indptr[i]}
        missing = [i for i in ids if i not in self._vectors]
        if missing:
            for start in range(0, len(missing), _CHUNK):
                chunk = missing[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for article_id, published, blob in self.db.conn.execute(
                        f"SELECT article_id, published_at, vector FROM related_docs WHERE article_id IN ({marks})",
                        chunk):
                    self._vectors[article_id] = DocVector.from_blob(blob)
                    self._published[article_id] = published
        return {i: self._vectors[i] for i in ids if i in self._vectors}

    def terms_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The term ids of these articles, concatenated, with each one's position in ``ids``."""
        if self._docs is not None:
            indptr = self._docs[0].indptr
            starts, sizes = indptr[ids], indptr[ids + 1] - indptr[ids]
            owner = np.repeat(np.arange(len(ids)), sizes)
            at = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes) + np.repeat(starts, sizes)
            return owner, self._docs[0].indices[at].astype(np.int64)
        vectors = self.vectors(ids.tolist())
        held = [vectors[i].term_ids if i in vectors else np.zeros(0, np.int64) for i in ids.tolist()]
        owner = np.repeat(np.arange(len(ids)), [len(h) for h in held])
        return owner, np.concatenate(held) if held else np.zeros(0, np.int64)

    def norm(self, article_id: int) -> float:
        """Length of the article's idf²-weighted body vector (for near-duplicate checks), kept once read."""
        found = self._norms.get(article_id)
        if found is None:
            term_ids, body = self.body_terms(article_id)
            found = self._norms[article_id] = math.sqrt(float((idf2(self.df(term_ids), self.size)
                                                               * body * body).sum()))
        return found

    def body_terms(self, article_id: int) -> tuple[np.ndarray, np.ndarray]:
        """An indexed article's term ids and body weights; loaded, views of the rows (float32, exact
        in float64 arithmetic), else the stored vector's."""
        if self._docs is not None:
            docs = self._docs[0]
            a, b = docs.indptr[article_id], docs.indptr[article_id + 1]
            return docs.indices[a:b], docs.data[a:b]
        vector = self.vectors([article_id])[article_id]
        return vector.term_ids, vector.body

    @staticmethod
    def _from_rows(docs: sp.csr_matrix, titles: np.ndarray, i: int) -> DocVector:
        """The stored vector from the loaded rows: the same terms, order and float32 weights."""
        a, b = docs.indptr[i], docs.indptr[i + 1]
        return DocVector(docs.indices[a:b].astype(np.int64), docs.data[a:b].astype(np.float64),
                         titles[a:b].astype(np.float64))

    def published(self, ids: list[int]) -> dict[int, str]:
        """Publication time of these indexed articles (articles not indexed are left out)."""
        missing = [i for i in ids if i not in self._published]
        if missing and not self.loaded:
            for start in range(0, len(missing), _CHUNK):
                chunk = missing[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                self._published.update(self.db.conn.execute(
                    f"SELECT article_id, published_at FROM related_docs WHERE article_id IN ({marks})", chunk))
        return {i: self._published[i] for i in ids if i in self._published}

    def tags(self, article_id: int) -> list[str]:
        """The article's tags, sorted."""
        if article_id not in self._tags and not self.loaded:
            self._tags[article_id] = [r[0] for r in self.db.conn.execute(
                "SELECT tag FROM related_tags WHERE article_id = ? ORDER BY tag", [article_id])]
        return self._tags.get(article_id, [])

    def tag_members(self, tag: str) -> np.ndarray:
        """The articles holding ``tag`` (its document frequency is the length)."""
        if tag not in self._members:
            self._members[tag] = np.array([r[0] for r in self.db.conn.execute(
                "SELECT article_id FROM related_tags WHERE tag = ?", [tag])], dtype=np.int64)
        return self._members[tag]

    def edits(self, article_id: int) -> list[tuple[int, str]]:
        """An editor's pins and blocks on this article's list: (other id, action), in pin order."""
        if article_id not in self._edits and not self.loaded:
            self._edits[article_id] = self.db.conn.execute(
                "SELECT other_id, action FROM related_edits WHERE article_id = ? ORDER BY position",
                [article_id]).fetchall()
        return self._edits.get(article_id, [])

    def rare_counts(self, ids: list[int]) -> np.ndarray:
        """How many rare terms (df in 2..sqrt(N)) each article holds: many means a hub page."""
        if self._rare_all is not None:
            return self._rare_all[np.array(ids, dtype=np.int64)].astype(float)
        limit = math.sqrt(self.size)
        missing = [i for i in ids if i not in self._rare]
        if missing:
            vectors = self.vectors(missing)
            for i in missing:
                if i in vectors:
                    df = self.df(vectors[i].term_ids)
                    self._rare[i] = int(((df >= 2) & (df <= limit)).sum())
        return np.array([self._rare.get(i, 0) for i in ids], dtype=float)


def _members(tags: dict[int, list[str]]) -> dict[str, np.ndarray]:
    """Tag -> the articles holding it (ascending ids, as ``tags`` is ordered by article)."""
    members: dict[str, list[int]] = {}
    for article_id, held in tags.items():
        for tag in held:
            members.setdefault(tag, []).append(article_id)
    return {t: np.array(m, dtype=np.int64) for t, m in members.items()}
