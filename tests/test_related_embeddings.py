"""The optional embeddings: stored per article, following changes, blended into the ranking.

MiniLM itself needs the heavy extra (torch), so these tests plug in a small
embedder of our own: each word counts towards a concept ("bread", "garden",
"running"), so texts about the same thing point the same way whatever their
words.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from related_helpers import add_article, add_samples, add_weekend_trio, with_settings
from test_related_index import assert_same_lists, every_list

from newsletter.errors import ConfigError
from newsletter.related import embeddings, on_articles_changed, rebuild_index, related_articles

CONCEPTS = {
    "bread": "sourdough starter flour loaf dough rye bake baking oven crust crumb yeast".split(),
    "garden": "tomato seedlings compost garden plants pots leaves soil prune seeds".split(),
    "running": "run running runs intervals pace endurance race walk hills speed".split(),
}


class ConceptEmbedder:
    """Unit vectors of concept counts (plus a small constant so no text is the zero vector)."""

    name = "concepts-v1"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.full((len(texts), len(CONCEPTS) + 1), 0.05)
        for n, text in enumerate(texts):
            words = text.lower().replace(".", " ").replace(",", " ").split()
            for k, vocab in enumerate(CONCEPTS.values()):
                out[n, k] += sum(w in vocab for w in words)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def concepts(monkeypatch) -> ConceptEmbedder:
    model = ConceptEmbedder()
    monkeypatch.setattr(embeddings, "embedder", lambda spec=None, base=None: model)
    return model


def stored(ws) -> dict[int, tuple[str, bytes]]:
    return {r[0]: (r[1], r[2]) for r in ws.db.execute("SELECT article_id, model, vector FROM related_embeddings")}


def test_each_article_gets_a_vector_that_follows_its_text(workspace, concepts):
    on = with_settings(workspace, embeddings=True, embedding_model="concepts-v1")
    ids = add_samples(on)
    vectors = stored(on)
    assert set(vectors) == set(ids.values())
    assert {model for model, _ in vectors.values()} == {"concepts-v1"}
    on.db.execute("UPDATE articles SET body_text = 'Run the hills, then walk.' WHERE id = ?", [ids["compost"]])
    on_articles_changed(on, [ids["compost"]])
    after = stored(on)
    assert after[ids["compost"]] != vectors[ids["compost"]]
    assert {k: v for k, v in after.items() if k != ids["compost"]} == {
        k: v for k, v in vectors.items() if k != ids["compost"]}
    on.db.execute("DELETE FROM articles WHERE id = ?", [ids["rye-bread"]])
    on_articles_changed(on, [ids["rye-bread"]])
    assert ids["rye-bread"] not in stored(on)


def test_incremental_updates_with_embeddings_give_the_same_lists_as_a_rebuild(workspace, concepts):
    on = with_settings(workspace, embeddings=True, embedding_model="concepts-v1")
    ids = add_samples(on)
    on.db.execute("UPDATE articles SET body_text = body_text || ' Bake a loaf.' WHERE id = ?", [ids["compost"]])
    on_articles_changed(on, [ids["compost"]])
    add_article(on, "worms", "Worms in the compost heap", "Worms turn compost into soil for the garden.",
                [], "2026-10-30T08:00:00+00:00")
    incremental = every_list(on)
    embedded = len(concepts.calls)
    rebuild_index(on)
    assert len(concepts.calls) == embedded  # nothing changed: the rebuild re-embeds nothing
    assert_same_lists(incremental, every_list(on))
    on.db.execute("DELETE FROM related_embeddings")
    rebuild_index(on)  # embeds everything again, to the same vectors
    assert_same_lists(incremental, every_list(on))


def test_the_blend_ranks_by_meaning_among_equal_words_and_says_so(workspace, concepts):
    on = with_settings(workspace, embeddings=True, embedding_model="concepts-v1", min_score=0.0)
    query, bread, garden = add_weekend_trio(on)
    # words alone: "weekend notes" is on every article, no evidence of a link
    assert related_articles(workspace, query) == []
    links = related_articles(on, query)
    assert [link.article_id for link in links] == [bread]  # the meaning is the evidence; garden has none
    assert any(reason.startswith("meaning: ") for reason in links[0].reasons)
    assert garden not in [link.article_id for link in related_articles(on, query, limit=5)]


def test_switching_embeddings_on_later_embeds_the_archive_on_first_use(workspace, concepts):
    ids = add_samples(workspace)
    assert stored(workspace) == {}
    on = with_settings(workspace, embeddings=True, embedding_model="concepts-v1")
    assert related_articles(on, ids["long-run"])[0].article_id == ids["interval-running"]
    assert set(stored(on)) == set(ids.values())
    # changed while off: the stale vector is dropped, and the next query embeds it again
    workspace.db.execute("UPDATE articles SET body_text = 'Prune the tomato plants.' WHERE id = ?",
                         [ids["long-run"]])
    on_articles_changed(workspace, [ids["long-run"]])
    assert ids["long-run"] not in stored(workspace)
    related_articles(on, ids["compost"])
    assert ids["long-run"] in stored(on)


def test_a_long_article_is_the_mean_of_its_chunks(concepts):
    body = " ".join(["sourdough"] * embeddings.CHUNK_WORDS + ["tomato"] * embeddings.CHUNK_WORDS * 20)
    (vector,) = embeddings.article_vectors(concepts, [("Loaf", body)])
    assert len(concepts.calls[-1]) == embeddings.MAX_CHUNKS
    assert all(chunk.startswith("Loaf. ") for chunk in concepts.calls[-1])
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-6)
    assert vector[1] > vector[0] > 0  # one bread chunk of eight


def test_fewer_chunks_embed_less_of_a_long_article_and_re_embed_the_archive(workspace, concepts):
    body = " ".join(["sourdough"] * embeddings.CHUNK_WORDS + ["tomato"] * embeddings.CHUNK_WORDS * 20)
    assert with_settings(workspace).settings.related.embedding_chunks == embeddings.MAX_CHUNKS
    eight_on = with_settings(workspace, embeddings=True, embedding_model="concepts-v1")
    ids = add_samples(eight_on)
    long_id = add_article(eight_on, "loaf", "Loaf", body, [], "2026-10-20T08:00:00+00:00")
    eight = stored(workspace)[long_id]
    one = with_settings(workspace, embeddings=True, embedding_model="concepts-v1", embedding_chunks=1)
    calls = len(concepts.calls)
    related_articles(one, ids["long-run"])  # a new cap: every article is embedded again, one chunk each
    assert len(concepts.calls) > calls
    texts = [t for call in concepts.calls[calls:] for t in call]
    assert len(texts) == len(ids) + 1 and sum(t.startswith("Loaf. ") for t in texts) == 1
    assert {model for model, _ in stored(workspace).values()} == {"concepts-v1 (1 chunks)"}
    first = np.frombuffer(stored(workspace)[long_id][1], "<f4")
    assert first[0] > first[1]  # only the bread chunk now; with eight chunks tomato won
    assert np.frombuffer(eight[1], "<f4")[1] > np.frombuffer(eight[1], "<f4")[0]


def test_without_the_extra_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import fails as if not installed
    monkeypatch.setattr(embeddings, "_embedders", {})
    with pytest.raises(ConfigError, match=r"pip install .*\[embeddings\]"):
        embeddings.embedder()


def test_a_model_folder_that_holds_no_model_is_a_clear_error(workspace):
    on = with_settings(workspace, embeddings=True, embedding_model="models/all-mpnet-base-v2")
    with pytest.raises(ConfigError, match=r"embedding_model = 'models/all-mpnet-base-v2'.*holds no"):
        embeddings.workspace_embedder(on)
    assert embeddings.model_name("models/all-mpnet-base-v2") == "all-mpnet-base-v2"
    assert embeddings.model_name("") == embeddings.model_name(embeddings.BUNDLED) == "all-MiniLM-L6-v2"


def test_another_model_re_embeds_the_archive_and_ranks_by_its_own_vectors(workspace, monkeypatch):
    first, second = ConceptEmbedder(), ConceptEmbedder()
    second.name = "concepts-v2"
    models = {"concepts-v1": first, "concepts-v2": second}
    monkeypatch.setattr(embeddings, "embedder", lambda spec=None, base=None: models[spec])
    ids = add_samples(with_settings(workspace, embeddings=True, embedding_model="concepts-v1"))
    assert {model for model, _ in stored(workspace).values()} == {"concepts-v1"}
    on = with_settings(workspace, embeddings=True, embedding_model="concepts-v2")
    links = related_articles(on, ids["long-run"])
    assert {model for model, _ in stored(workspace).values()} == {"concepts-v2"}
    assert len(second.calls) >= 1 and any(r.startswith("meaning: ") for r in links[0].reasons)


def test_with_every_vector_stored_no_model_is_loaded(workspace, concepts, monkeypatch):
    """Loading a model takes seconds: ranking and exports only read the stored vectors."""
    from newsletter.related import all_related

    on = with_settings(workspace, embeddings=True, embedding_model="concepts-v1")
    ids = add_samples(on)
    related_articles(on, ids["long-run"])  # embeds the archive once

    def no_model(spec=None, base=None):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(embeddings, "embedder", no_model)
    links = related_articles(on, ids["compost"])
    assert any(reason.startswith("meaning: ") for reason in links[0].reasons)
    assert len(list(all_related(on, workers=0))) == len(ids)
