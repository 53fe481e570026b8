"""Benchmark: import a realistic subscriber export through the CLI, against plain sqlite-utils.

The file is what a list migrating from a hosted provider looks like: six columns
(email, first and last name, sign-up date, source, tags), a few big mailbox
providers and 125,000 small domains, 1% invalid addresses and 5% duplicates (some
in another letter case).  Ours is ``newsletter subscribers import FILE --confirmed``
in a process of its own, as a user runs it: it validates and normalises every
address, writes a consent event per reader and keeps the unique index.  The peer
is sqlite-utils' ``insert_all`` of the same rows read with ``csv.DictReader`` (no
validation, no events, no index).  Sides alternate; median of 3 with the spread;
peak memory is each process's own.  The database is counted afterwards: every valid
distinct address exactly once.

    .venv/bin/python bench/import.py [--rows 1000000] [--runs 3] [--quick] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import Figure, Spread, add_common_options, record, runs_of  # noqa: E402

FIRST = ["Ann", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Mo", "Nia", "Zoë"]
LAST = ["Lee", "Park", "Novak", "Silva", "Okafor", "Berg", "Rossi", "Khan", "Moreau", "Tanaka", "Ødegaard"]
BIG = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "gmx.de", "hotmail.com", "aol.com"]
TLDS = ["com", "org", "net", "de", "fr", "co.uk", "io", "nl", "com.au", "it", "es", "ca"]
BROKEN = ["{f}@", "{f} {l}@mail.com", "{f}.{l}@@mail.com", "n/a", "{f}..{l}@gmail.com", "{f}@-bad-.com", "{f}@localhost"]


def generate(path: Path, rows: int, seed: int = 47) -> int:
    """Write the export; return how many distinct valid addresses it holds."""
    rng = random.Random(seed)
    small = [f"{rng.choice(['mail', 'club', 'team', 'box', 'post', 'home'])}{i}.{rng.choice(TLDS)}" for i in range(125_000)]
    seen: list[str] = []
    distinct = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Email Address", "First Name", "Last Name", "Signup Date", "Source", "Tags"])
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            draw = rng.random()
            if draw < 0.05 and seen:  # a duplicate, a third of them in capitals
                email = rng.choice(seen)
                email = email.upper() if rng.random() < 0.3 else email
            elif draw < 0.06:
                email = rng.choice(BROKEN).format(f=first.lower(), l=last.lower())
            else:
                domain = rng.choice(BIG) if rng.random() < 0.55 else rng.choice(small)
                local = f"{first.lower()}.{last.lower()}{i}" if rng.random() < 0.01 else f"{first[0].lower()}{last[:3].lower()}{i}"
                email = f"{local}@{domain}"
                distinct += 1
                if len(seen) < 200_000:
                    seen.append(email)
            writer.writerow([email, first, last, f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 10:00:00",
                             rng.choice(["form", "import", "api", "event"]), rng.choice(["", "fitness", "running;strength"])])
    return distinct


FLOOR = """
import csv, sys, sqlite_utils
db = sqlite_utils.Database(sys.argv[2])
with open(sys.argv[1], encoding="utf-8", newline="") as fh:
    db["subscribers"].insert_all(csv.DictReader(fh), batch_size=10_000)
"""


def _run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak MB) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{argv[:3]} failed: {process.stderr.read().decode()[-500:]}")
    return elapsed, usage.ru_maxrss / 1024


def run_ours(csv_path: Path, folder: Path) -> tuple[float, float, int]:
    cli = str(Path(sys.executable).with_name("newsletter"))
    env = {**os.environ, "NEWSLETTER_HOME": "", "NO_COLOR": "1"}
    subprocess.run([cli, "init", str(folder)], check=True, capture_output=True, env=env)
    seconds, peak = _run([cli, "-q", "--workspace", str(folder), "subscribers", "import", str(csv_path), "--confirmed",
                          "--consent", "exported from the old provider (benchmark)"], env)
    with sqlite3.connect(folder / "newsletter.db") as db:
        count = db.execute("SELECT COUNT(*) FROM subscribers").fetchone()[0]
    return seconds, peak, count


def run_floor(csv_path: Path, folder: Path) -> tuple[float, float, int]:
    folder.mkdir(parents=True, exist_ok=True)
    seconds, peak = _run([sys.executable, "-c", FLOOR, str(csv_path), str(folder / "floor.db")])
    with sqlite3.connect(folder / "floor.db") as db:
        count = db.execute("SELECT COUNT(*) FROM subscribers").fetchone()[0]
    return seconds, peak, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", metavar="DIR", help="Work in DIR and keep the files.")
    add_common_options(parser)
    args = parser.parse_args()
    rows = 50_000 if args.quick else args.rows
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        csv_path = work / "export.csv"
        distinct = generate(csv_path, rows)
        print(f"export: {rows:,} rows, 6 columns, {csv_path.stat().st_size / 1e6:.0f} MB, "
              f"{distinct:,} distinct valid addresses", flush=True)
        ours, floor = {"s": [], "mb": []}, {"s": [], "mb": []}
        for attempt in range(runs_of(args)):
            for side, run, store in (("ours", run_ours, ours), ("floor", run_floor, floor)):
                folder = work / f"{side}{attempt}"
                seconds, peak, count = run(csv_path, folder)
                expected = distinct if side == "ours" else rows
                if count != expected:
                    raise SystemExit(f"{side}: {count:,} rows in the database, expected {expected:,}")
                store["s"].append(seconds)
                store["mb"].append(peak)
                shutil.rmtree(folder, ignore_errors=True)
                print(f"  run {attempt + 1} {side:<5} {seconds:6.1f} s  {rows / seconds:>9,.0f} rows/s  peak {peak:4.0f} MB",
                      flush=True)
        ours_s, floor_s = Spread.of(ours["s"]), Spread.of(floor["s"])
        print(f"newsletter subscribers import: {ours_s.show('{:.1f}')} s, {rows / ours_s.median:,.0f} rows/s, "
              f"peak {max(ours['mb']):.0f} MB (every row validated; {distinct:,} readers + consent events)")
        print(f"sqlite-utils insert_all:       {floor_s.show('{:.1f}')} s, {rows / floor_s.median:,.0f} rows/s, "
              f"peak {max(floor['mb']):.0f} MB")
        record("import", [
            Figure(f"subscribers import, {rows:,} rows (rows/s)", rows / ours_s.median, rows / floor_s.median, "rows/s",
                   "sqlite-utils insert_all", goal=1.0),
            Figure("subscribers import peak memory", max(ours["mb"]), max(floor["mb"]), "MB", "sqlite-utils insert_all",
                   higher_is_better=False),
        ], quick=args.quick)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
