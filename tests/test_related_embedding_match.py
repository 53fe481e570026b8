"""An embedding match is a rank among the archive's own pairs, so it means the same with every model.

A static model puts every pair of posts close together (one big direction shared by all
its vectors), a contextual one spreads them out; a fixed cosine would count nearly every
pair as evidence with the first and few with the second.  These archives are made of
topics (a direction each) plus noise, with and without a big shared direction, and
stored in the workspace's real related tables.
"""

from __future__ import annotations

import numpy as np
import pytest
from related_helpers import add_article, add_weekend_trio, with_settings
from test_related_embeddings import CONCEPTS

from newsletter.related import embeddings, related_articles
from newsletter.related.evidence import PairSpread
from newsletter.related.schema import related_db

TOPICS, PER_TOPIC, DIM = 4, 60, 48


def topic_vectors(shared: float, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors: a topic direction plus noise, plus ``shared`` times one direction common to all."""
    rng = np.random.default_rng(seed)
    topic = np.repeat(np.arange(TOPICS), PER_TOPIC)
    vectors = np.eye(DIM)[topic] + rng.normal(0.0, 0.1, (len(topic), DIM))
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True) + shared * np.eye(DIM)[DIM - 1]
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), topic


def store(ws, vectors: np.ndarray, model: str) -> None:
    db = related_db(ws)
    db.conn.executemany("INSERT INTO related_embeddings (article_id, model, fingerprint, vector) VALUES (?, ?, ?, ?)",
                        [(n + 1, model, "f", v.astype("<f4").tobytes()) for n, v in enumerate(vectors)])


def matched(ws, vectors: np.ndarray, topic: np.ndarray, model: str) -> tuple[float, float, float]:
    """The share of all pairs that are embedding matches, the share of those on one topic, and the share
    of all pairs a fixed cosine of 0.5 would take."""
    store(ws, vectors, model)
    spread = PairSpread.of(embeddings.pair_cosines(related_db(ws), model), len(vectors))
    first, second = np.triu_indices(len(vectors), 1)
    cosines = np.einsum("ij,ij->i", vectors[first], vectors[second])
    match = np.array([spread.matches(c) for c in cosines])
    return float(match.mean()), float((topic[first] == topic[second])[match].mean()), float((cosines >= 0.5).mean())


@pytest.mark.parametrize("sample", [embeddings.SAMPLE, 90])  # every article, and a sample of them
def test_the_evidence_share_is_the_same_with_and_without_a_shared_direction(workspace, monkeypatch, sample):
    monkeypatch.setattr(embeddings, "SAMPLE", sample)
    spread_out, topic = topic_vectors(shared=0.0)
    squeezed, _ = topic_vectors(shared=3.0)
    share_a, on_topic_a, fixed_a = matched(workspace, spread_out, topic, "contextual")
    workspace.db.execute("DELETE FROM related_embeddings")
    share_b, on_topic_b, fixed_b = matched(workspace, squeezed, topic, "static")
    assert fixed_b > 0.95 and fixed_a < 0.3  # a fixed cosine: evidence everywhere with one, rarely with the other
    wanted = 3 * np.sqrt(len(topic)) / (len(topic) - 1)  # each article's 3 sqrt(N) closest, on average
    for share in (share_a, share_b):
        assert share == pytest.approx(wanted, rel=0.25)
    assert abs(share_a - share_b) < 0.05
    assert on_topic_a > 0.9 and on_topic_b > 0.9  # and the matches are the same kind of pairs: one topic


def test_the_sample_is_drawn_the_same_way_every_time(workspace, monkeypatch):
    monkeypatch.setattr(embeddings, "SAMPLE", 50)
    vectors, _ = topic_vectors(shared=1.0)
    store(workspace, vectors, "m")
    first = embeddings.pair_cosines(related_db(workspace), "m")
    assert len(first) == 50 * 49 // 2
    assert np.array_equal(first, embeddings.pair_cosines(related_db(workspace), "m"))


def test_no_pairs_no_match():
    spread = PairSpread.of(np.zeros(0), 1)
    assert not spread.matches(1.0)


class SharedDirectionEmbedder:
    """Concept counts as a unit vector, plus three times a direction every text shares (a static model's
    bias): any two texts score at least 0.9."""

    name = "shared-v1"

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(CONCEPTS) + 1))
        for n, text in enumerate(texts):
            words = text.lower().replace(".", " ").replace(",", " ").replace(":", " ").split()
            for k, vocab in enumerate(CONCEPTS.values()):
                out[n, k] += sum(w in vocab for w in words)
        out[:, :-1] /= np.maximum(np.linalg.norm(out[:, :-1], axis=1, keepdims=True), 1e-12)
        out[:, -1] = 3.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_with_a_shared_direction_only_the_same_meaning_is_evidence_and_the_reason_says_how_close(
        workspace, monkeypatch):
    monkeypatch.setattr(embeddings, "embedder", lambda spec=None, base=None: SharedDirectionEmbedder())
    on = with_settings(workspace, embeddings=True, embedding_model="shared-v1", min_score=0.0)
    for concept, vocab in CONCEPTS.items():  # "weekend notes" on every article: common words, no evidence
        for n in range(4):
            add_article(on, f"{concept}-{n}", f"Weekend notes {concept} {n}",
                        "Weekend notes: " + " ".join(vocab[n::4]) + ".", [], f"2026-10-{n + 1:02d}T08:00:00+00:00")
    query, bread, garden = add_weekend_trio(on, day=20)
    vectors = {i: np.frombuffer(blob, "<f4") for i, blob in on.db.execute(
        "SELECT article_id, vector FROM related_embeddings")}
    assert float(vectors[query] @ vectors[garden]) > 0.5  # a fixed 0.5 would call garden a match
    links = related_articles(on, query, limit=5)
    assert bread in [link.article_id for link in links]
    assert garden not in [link.article_id for link in links]
    meaning = [r for link in links for r in link.reasons if r.startswith("meaning: ")]
    assert meaning and all("closer than" in r for r in meaning)
    (bread_link,) = [link for link in links if link.article_id == bread]
    assert any("a match" in r for r in bread_link.reasons)
