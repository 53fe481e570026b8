"""Benchmark: how long the CLI takes to start, against ``sqlite-utils --help`` in the same run.

A command an editor or a cron job runs often should answer at once. Each command runs
as a fresh process (as a user runs it), the sides interleaved, median of ``--runs``
(default 9) with the range. The status commands run on a demo workspace made first.

    .venv/bin/python bench/startup.py [--runs 9] [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import Figure, Spread, add_common_options, record, runs_of

BIN = Path(sys.executable).parent


def _seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "NEWSLETTER_HOME": "", "NO_COLOR": "1"})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_options(parser, runs=9)
    args = parser.parse_args()
    runs = 3 if args.quick else runs_of(args)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        subprocess.run([sys.executable, "-m", "demo", str(ws)], cwd=ROOT, check=True, capture_output=True,
                       env={**os.environ, "NEWSLETTER_HOME": ""})
        cli = [str(BIN / "newsletter"), "--workspace", str(ws)]
        commands = {
            "newsletter --help": [str(BIN / "newsletter"), "--help"],
            "newsletter issue status --json": [*cli, "issue", "status", "latest", "--json"],
            "newsletter schedule status --json": [*cli, "schedule", "status", "--json"],
            "newsletter inbound status --json": [*cli, "inbound", "status", "--json"],
        }
        peer = [str(BIN / "sqlite-utils"), "--help"]
        for argv in [peer, *commands.values()]:  # warm the file cache once
            _seconds(argv)
        samples: dict[str, list[float]] = {name: [] for name in [*commands, "sqlite-utils --help"]}
        for _ in range(runs):
            samples["sqlite-utils --help"].append(_seconds(peer))
            for name, argv in commands.items():
                samples[name].append(_seconds(argv))
    spreads = {name: Spread.of(values) for name, values in samples.items()}
    base = spreads["sqlite-utils --help"]
    for name, spread in spreads.items():
        print(f"{name:<36} {spread.show('{:.3f}')} s")
    record("startup", [
        Figure(name, spread.median, base.median, "s", "sqlite-utils --help", higher_is_better=False, goal=1 / 1.2)
        for name, spread in spreads.items() if name != "sqlite-utils --help"
    ], quick=args.quick)


if __name__ == "__main__":
    main()
