"""Print every benchmark's recorded figures as one table (run last by ``make bench``).

    .venv/bin/python bench/table.py [--markdown]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import RESULTS  # noqa: E402


def rows() -> list[list[str]]:
    table = []
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for figure in data["figures"]:
            ratio = figure.get("ratio")
            goal = figure.get("goal")
            verdict = "" if ratio is None or goal is None else ("met" if ratio >= goal else "NOT met")
            table.append([
                data["bench"] + (" (quick)" if data.get("quick") else ""), figure["measure"],
                f"{figure['ours']:,.4g} {figure['unit']}",
                "" if figure.get("peer") is None else f"{figure['peer']:,.4g} {figure['unit']} {figure['peer_name']}",
                "" if ratio is None else f"{ratio:.2f}x", "" if goal is None else f">= {goal:g}x {verdict}",
            ])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="A Markdown table (for the README).")
    args = parser.parse_args()
    header = ["bench", "measure", "ours", "peer", "ratio", "goal"]
    table = rows()
    if not table:
        raise SystemExit(f"no results in {RESULTS}; run the benchmarks first (make bench)")
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in table:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
