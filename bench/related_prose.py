"""Related-articles quality on general prose: the Lee news corpus, rated by people.

A check that settings chosen on a recipe blog also serve other writing. The
Lee corpus (Lee, Pincombe & Welsh 2005): 50 short news articles whose 1,225
pairs were each rated 0..1 for similarity by people, and 300 more articles of
the same source as background.  It ships as test data inside the gensim wheel
(``gensim/test/test_data``: lee.cor, lee_background.cor, similarities0-1.txt);
it is read from there and never copied into the project.  All 350 articles
(plain text, no titles) go into one workspace; each rated article's top 3 among
the other 49 comes from ``related_articles`` (the background excluded).  Score:
the mean human rating of the top 3, as a share of the way from chance (the mean
rating) to the best 3 people would pick: 0 = random, 1 = as people rank.

    .venv/bin/pip download --no-deps -d /tmp/gensim gensim==4.4.0
    .venv/bin/python bench/related_prose.py /tmp/gensim/gensim-4.4.0-*.whl [--embeddings [WEIGHT]] [--model M]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from related_quality import bench_environ, embedding_environ, fts5_more_like_this  # noqa: E402

from newsletter.articles import articles_db  # noqa: E402
from newsletter.init import init_workspace  # noqa: E402
from newsletter.related import rebuild_index, related_articles  # noqa: E402
from newsletter.workspace import Workspace  # noqa: E402

FILES = ("lee.cor", "lee_background.cor", "similarities0-1.txt")


def read_lee(source: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(rated articles, background articles, symmetric 50 x 50 rating matrix) from a wheel or folder."""
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            raw = [wheel.read(f"gensim/test/test_data/{name}") for name in FILES]
    else:
        raw = [(source / name).read_bytes() for name in FILES]
    rated, background, ratings = (r.decode("latin-1").strip().split("\n") for r in raw)
    upper = np.array([[float(x) for x in line.split()] for line in ratings])
    return rated, background, np.triu(upper) + np.triu(upper, 1).T


def load(texts: list[str], folder: Path, **environ: str) -> tuple[Workspace, list[int]]:
    """Store the articles (contract columns, no title) and build the index; returns their ids."""
    ws = init_workspace(folder / "ws")
    db = articles_db(ws)
    ids = []
    for n, text in enumerate(texts):
        cur = db.conn.execute(
            "INSERT INTO articles (url, slug, title, published_at, body_text, tags, source, content_hash, "
            "imported_at, updated_at) VALUES (?, ?, '', ?, ?, '[]', 'lee', ?, ?, ?)",
            [f"https://lee.test/{n}", f"lee-{n}", f"2001-01-01T00:00:{n % 60:02d}+00:00", text, f"h{n}",
             "2001-01-01T00:00:00+00:00", "2001-01-01T00:00:00+00:00"],
        )
        ids.append(cur.lastrowid)
    ws = Workspace(ws.root, environ=dict(bench_environ(), **environ))
    rebuild_index(ws)
    return ws, ids


def human_share(tops: dict[int, list[int]], ratings: np.ndarray) -> float:
    """Mean rating of the top 3 between chance (0) and the best 3 by rating (1)."""
    others = ratings + np.diag(np.full(len(ratings), np.nan))
    chance = float(np.nanmean(others))
    best = float(np.mean([np.sort(np.nan_to_num(row, nan=-1))[-3:].mean() for row in others]))
    got = float(np.mean([ratings[i, top].mean() for i, top in tops.items()]))
    return (got - chance) / (best - chance)


def tfidf_tops(texts: list[str], rated: int) -> dict[int, list[int]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    matrix = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2, max_df=0.5).fit_transform(texts)
    sims = (matrix[:rated] @ matrix[:rated].T).toarray()
    np.fill_diagonal(sims, -1)
    return {i: list(np.argsort(-sims[i], kind="stable")[:3]) for i in range(rated)}


def record_figures(figures: dict[str, float], rated: int, background: int) -> None:
    """Ours against TF-IDF into bench/results (issue 17: not below TF-IDF on any corpus)."""
    from bench.harness import Figure, record

    record("related_prose", [Figure("related top 3 on the Lee news corpus, human rating (0 chance, 1 people)",
                                    figures["ours"], figures["tfidf_cosine"], "", "TF-IDF cosine", goal=1.0)],
           notes=f"{rated} rated articles, {background} background")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", help="the gensim wheel, or a folder holding the three Lee files")
    parser.add_argument("--embeddings", type=float, nargs="?", const=0.5, default=None, metavar="WEIGHT",
                        help="also measure ours with [related] embeddings on at this weight (0.5)")
    parser.add_argument("--model", help="with --embeddings: a sentence-transformers model folder")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    args = parser.parse_args()
    rated, background, ratings = read_lee(Path(args.source))
    texts = rated + background
    runs = {"ours": {}}
    if args.embeddings is not None:
        name = Path(args.model).name if args.model else "minilm"
        runs[f"ours+{name}@{args.embeddings}"] = embedding_environ(args.embeddings, args.model)
    fts5 = fts5_more_like_this({n: ("", text) for n, text in enumerate(texts)}, list(range(len(rated))))
    figures = {"tfidf_cosine": human_share(tfidf_tops(texts, len(rated)), ratings),
               "fts5_bm25": human_share(fts5, ratings), "random": 0.0}
    for name, environ in runs.items():
        with tempfile.TemporaryDirectory() as tmp:
            ws, ids = load(texts, Path(tmp), **environ)
            position = {article_id: n for n, article_id in enumerate(ids)}
            judged, others = ids[: len(rated)], ids[len(rated):]
            tops = {position[a]: [position[x.article_id] for x in related_articles(ws, a, exclude=others, limit=3)]
                    for a in judged}
            ws.close()
        figures[name] = human_share(tops, ratings)
    if args.json:
        with contextlib.redirect_stdout(sys.stderr):  # stdout holds the one JSON document
            record_figures(figures, len(rated), len(background))
        print(json.dumps({"corpus": "lee", "rated": len(rated), "background": len(background),
                          "top3_human_share": figures}, indent=2))
        return
    print(f"Lee corpus: {len(rated)} rated articles, {len(background)} background; "
          "top 3 human rating, 0 = chance, 1 = people's own top 3")
    for name, value in figures.items():
        print(f"{name:<22}{value:>8.3f}")
    record_figures(figures, len(rated), len(background))


if __name__ == "__main__":
    main()
