"""A static (model2vec) model as ``[related] embedding_model``: loaded from a folder, no torch.

No model can be downloaded here, so the test makes a tiny one in model2vec's own
format: a word-level tokenizer and one vector per word, where the words of a
concept ("bread", "garden", "running") point along that concept's axis and every
other word, twenty times shorter, along a shared "common" axis (a distilled model
weighs frequent words down the same way).  It is saved and loaded by model2vec
itself, exactly as a distilled model (``bench/distill_static.py``) would be.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from related_helpers import ARTICLES, add_samples, add_weekend_trio, with_settings

from newsletter.errors import ConfigError
from newsletter.related import embeddings, related_articles

CONCEPTS = {
    "bread": "sourdough starter flour loaf dough rye bake baking oven crust crumb yeast".split(),
    "garden": "tomato seedlings compost garden plants pots leaves soil prune seeds".split(),
    "running": "run running runs intervals pace endurance race walk hills speed".split(),
}


def make_static_model(folder: Path) -> Path:
    """A model2vec folder (model.safetensors, tokenizer.json, config.json, modules.json) of our words."""
    from model2vec import StaticModel
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel

    common = sorted({w.strip(".,;:").lower() for title, body, _ in ARTICLES.values()
                     for w in f"{title} {body}".split()} - {w for ws in CONCEPTS.values() for w in ws})
    words = ["[UNK]", *(w for ws in CONCEPTS.values() for w in ws), *common, "weekend", "notes", "other", "more"]
    words = list(dict.fromkeys(words))
    tokenizer = Tokenizer(WordLevel({w: n for n, w in enumerate(words)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    vectors = np.zeros((len(words), len(CONCEPTS) + 1), dtype=np.float32)
    for n, word in enumerate(words):
        axis = next((k for k, ws in enumerate(CONCEPTS.values()) if word in ws), len(CONCEPTS))
        vectors[n, axis] = 1.0 if axis < len(CONCEPTS) else 0.05  # common words weigh little, as after SIF
    config = {"model_type": "model2vec", "architectures": ["StaticModel"], "hidden_dim": vectors.shape[1],
              "normalize": True}
    StaticModel(vectors, tokenizer, config=config, normalize=True).save_pretrained(folder)
    return folder


@pytest.fixture
def static_on(workspace, monkeypatch):
    """The workspace with embeddings on and a static model in ``models/static-concepts`` (relative)."""
    make_static_model(workspace.root / "models" / "static-concepts")
    for heavy in ("torch", "sentence_transformers", "transformers"):  # importing any of them now fails
        monkeypatch.setitem(sys.modules, heavy, None)
    monkeypatch.setattr(embeddings, "_embedders", {})
    return with_settings(workspace, embeddings=True, embedding_model="models/static-concepts", min_score=0.0)


def stored(ws) -> dict[int, tuple[str, np.ndarray]]:
    return {r[0]: (r[1], np.frombuffer(r[2], "<f4")) for r in
            ws.db.execute("SELECT article_id, model, vector FROM related_embeddings")}


def test_a_static_model_folder_embeds_every_article_without_torch(static_on):
    ids = add_samples(static_on)
    vectors = stored(static_on)
    assert set(vectors) == set(ids.values())
    assert {model for model, _ in vectors.values()} == {"static-concepts"}
    bread, garden, running = (vectors[ids[slug]][1] for slug in ("sourdough-loaf", "compost", "long-run"))
    assert np.argmax(bread[:3]) == 0 and np.argmax(garden[:3]) == 1 and np.argmax(running[:3]) == 2
    assert all(float(np.linalg.norm(v)) == pytest.approx(1.0, abs=1e-5) for _, v in vectors.values())


def test_the_static_model_links_by_meaning_where_the_words_differ(static_on, workspace):
    query, bread, garden = add_weekend_trio(static_on)
    plain = with_settings(workspace, min_score=0.0)
    assert related_articles(plain, query) == []  # words alone: "weekend notes" is everywhere
    links = related_articles(static_on, query, limit=5)
    assert [link.article_id for link in links] == [bread]
    assert any(reason.startswith("meaning: ") for reason in links[0].reasons)
    assert garden not in [link.article_id for link in links]


def test_the_vector_is_the_model2vec_vector_of_the_article_chunks(static_on):
    model = embeddings.workspace_embedder(static_on)
    assert isinstance(model, embeddings.StaticModel) and model.name == "static-concepts"
    [vector] = embeddings.article_vectors(model, [("Loaf", "bake the dough in the oven " * 200)])
    assert vector[0] > 0.99  # all bread words but the title's stay on the bread axis
    [empty] = embeddings.article_vectors(model, [("", "zzz qqq")])  # no known word: the zero vector, no NaN
    assert not np.isnan(empty).any()


def test_a_static_folder_is_told_from_a_sentence_transformers_one(tmp_path):
    static = make_static_model(tmp_path / "static")
    assert embeddings.is_static(static)
    other = tmp_path / "minilm"
    other.mkdir()
    (other / "modules.json").write_text(json.dumps(
        [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]))
    (other / "config.json").write_text(json.dumps({"model_type": "bert"}))
    assert not embeddings.is_static(other)
    # a static model saved by sentence-transformers (its StaticEmbedding module first) counts too
    st = tmp_path / "st-static"
    st.mkdir()
    (st / "modules.json").write_text(json.dumps(
        [{"idx": 0, "name": "0", "path": "0_StaticEmbedding", "type": "sentence_transformers.models.StaticEmbedding"}]))
    assert embeddings.is_static(st)


def test_without_the_static_extra_the_error_says_how_to_install_it(static_on, monkeypatch):
    monkeypatch.setitem(sys.modules, "model2vec", None)
    with pytest.raises(ConfigError, match=r"static model and needs the static extra.*pip install '\.\[static\]'"):
        embeddings.workspace_embedder(static_on)


def test_a_static_folder_missing_its_vectors_is_a_clear_error(static_on):
    (static_on.root / "models" / "static-concepts" / "model.safetensors").unlink()
    with pytest.raises(ConfigError, match=r"embedding_model = 'models/static-concepts'.*not a readable static"):
        embeddings.workspace_embedder(static_on)
