"""Benchmark: import a generated CSV of N readers (default 1,000,000) with our importer.

The floor is a plain sqlite-utils ``insert_all`` of the same rows read with the csv
module (no validation, no normalisation, no events, no unique index).  Each side
runs in its own process so its peak memory (ru_maxrss) is its own.

    .venv/bin/python bench/import.py [--rows 1000000] [--repeat 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FIRST = ["Ann", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Mo", "Nia"]
LAST = ["Lee", "Park", "Novak", "Silva", "Okafor", "Berg", "Rossi", "Khan", "Moreau", "Tanaka"]


def generate(path: Path, rows: int, seed: int = 47) -> None:
    """A realistic list: a few big mailbox providers, thousands of small domains, mixed case, names."""
    rng = random.Random(seed)
    big = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "gmx.de"]
    small = [f"club{i}.example.org" for i in range(5000)]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "email"])
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            domain = rng.choice(big) if rng.random() < 0.6 else rng.choice(small)
            local = f"{first}.{last}{i}" if i % 3 else f"{first.lower()}_{i}"
            writer.writerow([f"{first} {last}", f"{local}@{domain}"])


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(csv_path: str, folder: str, queue) -> None:
    from newsletter.init import init_workspace
    from subscribers.importer import import_csv

    ws = init_workspace(folder)
    ws.secret_key  # noqa: B018  (made before timing)
    start = time.perf_counter()
    report = import_csv(ws, csv_path, confirmed=True, consent="benchmark rows")
    elapsed = time.perf_counter() - start
    queue.put({"seconds": elapsed, "rows": report.added, "bad": report.bad_row_count, "peak_mb": _peak_mb()})


def run_floor(csv_path: str, folder: str, queue) -> None:
    import sqlite_utils

    Path(folder).mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(Path(folder) / "floor.db")
    start = time.perf_counter()
    with open(csv_path, encoding="utf-8", newline="") as fh:
        db["subscribers"].insert_all(csv.DictReader(fh), batch_size=10_000)
    elapsed = time.perf_counter() - start
    queue.put({"seconds": elapsed, "rows": db["subscribers"].count, "bad": 0, "peak_mb": _peak_mb()})


def measure(target, csv_path: Path, folder: Path) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(str(csv_path), str(folder), queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="Runs per side; the best of each is shown.")
    parser.add_argument("--keep", metavar="DIR", help="Work in DIR and keep the files.")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        csv_path = work / "readers.csv"
        start = time.perf_counter()
        generate(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - start:.1f} s")
        ours, floor = None, None
        for attempt in range(args.repeat):  # alternate, keep each side's best (the machine may be shared)
            mine = measure(run_ours, csv_path, work / f"ours{attempt}")
            plain = measure(run_floor, csv_path, work / f"floor{attempt}")
            ours = mine if ours is None or mine["seconds"] < ours["seconds"] else ours
            floor = plain if floor is None or plain["seconds"] < floor["seconds"] else floor
        for label, result in (("subscribers import", ours), ("sqlite-utils insert_all (floor)", floor)):
            rate = result["rows"] / result["seconds"]
            print(f"{label:<34} {result['rows']:>9,} rows  {result['seconds']:6.1f} s  "
                  f"{rate:>10,.0f} rows/s  peak {result['peak_mb']:6.0f} MB")
        ratio = (ours["rows"] / ours["seconds"]) / (floor["rows"] / floor["seconds"])
        print(f"ratio (ours / floor rows per second): {ratio:.2f}")
        if ours["rows"] != args.rows or ours["bad"]:
            print(f"WARNING: imported {ours['rows']:,} of {args.rows:,} rows, {ours['bad']} bad", file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
