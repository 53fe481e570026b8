"""What the optional related-links embeddings cost per post: a static model vs the sentence-transformers path.

Every model embeds the same posts through ``newsletter.related.embeddings.article_vectors``
(the code an import runs: chunks of 150 words, at most 8, each "title. chunk"), in batches
of 64 posts as ``embed_missing`` does, after one warm-up batch (model loading is
reported apart).  Short posts are the corpus's own posts of at most 150 words (one
chunk); long posts are the corpus's text run together into posts of 1,300 words (eight
chunks: the most any post is embedded with).  Cost is process CPU time (all threads,
torch uses both cores) per post; wall time is shown too.  Rows: the static model
(``--static``, default ``bench/models/static-all-MiniLM-L6-v2`` from
``bench/distill_static.py``), the bundled all-MiniLM-L6-v2 (the embeddings extra), the
same with fewer chunks per long post (``--chunks``: ``[related] embedding_chunks``), and ``--model`` folders (e.g.
all-mpnet-base-v2).  Ratio: each row's CPU per long post over the static model's.

    .venv/bin/python bench/related_embed_cost.py [CORPUS_DIR] [--static DIR] [--model DIR ...]
        [--chunks 2,1] [--short 64] [--long 16] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.related_quality import DEFAULT_CORPUS, FRONT_MATTER, read_corpus  # noqa: E402
from newsletter.related import embeddings  # noqa: E402

DEFAULT_STATIC = REPO / "bench" / "models" / "static-all-MiniLM-L6-v2"
LONG_WORDS = 1300
BATCH = 64


def plain(markdown: str) -> str:
    """Post text with the front matter, links' targets and Markdown punctuation removed."""
    text = FRONT_MATTER.sub("", markdown)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[#*_>`|]+", " ", text)


def sample_posts(corpus: Path, short: int, long: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(title, body) pairs: ``short`` real posts of <= 150 words, ``long`` posts of 1,300 real words."""
    posts = [(str(p["title"]), plain(p["text"])) for p in read_corpus(corpus)]
    shorts = [p for p in posts if len(p[1].split()) <= embeddings.CHUNK_WORDS][:short]
    words = [w for _, body in posts for w in body.split()]
    longs = [(posts[n % len(posts)][0], " ".join(words[n * LONG_WORDS:(n + 1) * LONG_WORDS]))
             for n in range(min(long, len(words) // LONG_WORDS))]
    return shorts, longs


def cost(model: embeddings.Embedder, docs: list[tuple[str, str]], max_chunks: int) -> tuple[float, float]:
    """CPU seconds and wall seconds per post to embed ``docs`` in batches of 64."""
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(docs), BATCH):
        embeddings.article_vectors(model, docs[start:start + BATCH], max_chunks)
    return (time.process_time() - cpu) / len(docs), (time.perf_counter() - wall) / len(docs)


def measure(name: str, load, shorts, longs, max_chunks: int = embeddings.MAX_CHUNKS) -> dict | None:
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        model = load()
    except Exception as exc:  # noqa: BLE001 - a missing extra or folder skips the row, saying why
        print(f"{name}: skipped ({exc})", file=sys.stderr)
        return None
    load_cpu, load_wall = time.process_time() - cpu, time.perf_counter() - wall
    embeddings.article_vectors(model, shorts[:8] + longs[:2])  # warm-up: first-call set-up not counted
    short_cpu, short_wall = cost(model, shorts, max_chunks)
    long_cpu, long_wall = cost(model, longs, max_chunks)
    return {"model": name, "max_chunks": max_chunks, "load_cpu_s": load_cpu, "load_wall_s": load_wall,
            "short_cpu_s": short_cpu, "short_wall_s": short_wall, "long_cpu_s": long_cpu, "long_wall_s": long_wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    parser.add_argument("--static", default=str(DEFAULT_STATIC), help="a static (model2vec) model folder")
    parser.add_argument("--model", action="append", default=[], help="also a sentence-transformers model folder")
    parser.add_argument("--chunks", default="2,1", help="MiniLM also with at most these many chunks per post")
    parser.add_argument("--short", type=int, default=64, help="short posts embedded per model (64)")
    parser.add_argument("--long", type=int, default=16, help="long posts embedded per model (16)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    shorts, longs = sample_posts(Path(args.corpus), args.short, args.long)
    print(f"{len(shorts)} short posts (<= {embeddings.CHUNK_WORDS} words), {len(longs)} long posts "
          f"({LONG_WORDS} words) from {args.corpus}", file=sys.stderr)
    rows = [measure(Path(args.static).name + " (static)", lambda: embeddings.StaticModel(args.static), shorts, longs),
            measure("all-MiniLM-L6-v2", lambda: embeddings.SentenceModel(), shorts, longs)]
    rows += [measure(f"all-MiniLM-L6-v2, {n} chunk(s)", lambda: embeddings.SentenceModel(), shorts, longs, n)
             for n in (int(c) for c in args.chunks.split(",") if c.strip())]
    rows += [measure(Path(m).name, lambda m=m: embeddings.SentenceModel(str(Path(m).resolve())), shorts, longs)
             for m in args.model]
    rows = [r for r in rows if r]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    base = rows[0]["long_cpu_s"] if rows and "static" in rows[0]["model"] else None
    print(f"{'model':40} {'chunks':>6} {'load CPU-s':>10} {'short CPU-s':>12} {'long CPU-s':>11} "
          f"{'long wall-s':>11} {'long / static':>13}")
    for r in rows:
        ratio = f"{r['long_cpu_s'] / base:.0f}x" if base else "-"
        print(f"{r['model']:40} {r['max_chunks']:>6} {r['load_cpu_s']:>10.2f} {r['short_cpu_s']:>12.4f} "
              f"{r['long_cpu_s']:>11.4f} {r['long_wall_s']:>11.4f} {ratio:>13}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
