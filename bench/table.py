"""Print every benchmark's recorded figures as one table (run last by ``make bench``), or write them into README.

    .venv/bin/python bench/table.py [--markdown] [--write-readme README.md]

``--write-readme`` replaces the README's "Figures" section (between its two marker
comments; added at the end of "## Benchmarks" the first time) with the table, so the
README's figures are the ones the benchmarks last recorded, with the date of each run; the rows of a
benchmark with no result in bench/results (run elsewhere, or not this time) stay as they were.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import RESULTS, figure_of  # noqa: E402

HEADER = ["bench", "measure", "ours", "peer", "ratio", "goal", "measured"]
BEGIN = "<!-- figures: written by `bench/table.py --write-readme README.md` from bench/results; edits here are lost -->"
END = "<!-- /figures -->"
SECTION_TITLE = "### Figures"


def _number(value: float) -> str:
    """17,972 / 248.1 / 0.3271: thousands grouped, small figures to four significant digits."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def rows(folder: Path = RESULTS) -> list[list[str]]:
    """One row per recorded figure, benchmarks in name order."""
    table = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for figure in map(figure_of, data["figures"]):
            ratio, met = figure.ratio, figure.met
            goal = figure.goal_text() + ("" if met is None else " met" if met else " NOT met")
            table.append([
                data["bench"] + (" (quick)" if data.get("quick") else ""), figure.measure,
                f"{_number(figure.ours)} {figure.unit}".rstrip(),
                "" if figure.peer is None else f"{_number(figure.peer)} {figure.unit} {figure.peer_name}".replace("  ", " "),
                "" if ratio is None else f"{ratio:.2f}x", goal, str(data.get("at", ""))[:10],
            ])
    return table


def _row_lines(table: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table]


def markdown(table: list[list[str]], kept: Sequence[str] = ()) -> str:
    """The Markdown table; ``kept``: rows already written (Markdown lines), merged in by benchmark name."""
    lines = sorted([*_row_lines(table), *kept], key=_bench_of)  # stable: each benchmark's rows keep their order
    return "\n".join(["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER), *lines]) + "\n"


def _bench_of(line: str) -> str:
    """The benchmark a Markdown row belongs to ("startup (quick)" -> "startup")."""
    return line.removeprefix("| ").split(" | ", 1)[0].removesuffix(" (quick)")


def figures_section(table: list[list[str]], kept: Sequence[str] = ()) -> str:
    """The README's Figures section: title, markers and the table (a ratio is ours/peer, or peer/ours for times)."""
    return (f"{SECTION_TITLE}\n\n{BEGIN}\nAs last recorded in `bench/results/`: a ratio above 1 means we do better "
            "than the peer (for times, the peer's time over ours). Times depend on the machine and its load; only "
            f"a ratio, measured with its peer in the same run, compares.\n\n{markdown(table, kept)}{END}\n")


def with_figures(readme: str, table: list[list[str]]) -> str:
    """``readme`` with its Figures section replaced, or added at the end of "## Benchmarks" (else at the end).

    Rows of a benchmark with no result here are kept as they were (it was measured elsewhere, or
    before): a run of some benchmarks updates their rows and leaves the others' alone.
    """
    old = re.compile(rf"{re.escape(SECTION_TITLE)}\n\n{re.escape(BEGIN)}\n.*?{re.escape(END)}\n", re.S)
    found = old.search(readme)
    if found:
        measured = {row[0].removesuffix(" (quick)") for row in table}
        header = markdown([]).splitlines()[0]
        kept = [line for line in found.group(0).splitlines()
                if line.startswith("| ") and line != header and _bench_of(line) not in measured]
        return readme[:found.start()] + figures_section(table, kept) + readme[found.end():]
    section = figures_section(table)
    bench = re.search(r"^## Benchmarks\n", readme, re.M)
    if bench is None:
        return readme.rstrip("\n") + "\n\n" + section
    following = re.compile(r"^## ", re.M).search(readme, bench.end())
    at = following.start() if following else len(readme)
    before = readme[:at].rstrip("\n") + "\n\n"
    return before + section + ("\n" + readme[at:] if following else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="A Markdown table (for the README).")
    parser.add_argument("--write-readme", metavar="README", type=Path,
                        help="Write the table into README's Figures section.")
    args = parser.parse_args()
    table = rows()
    if not table:
        raise SystemExit(f"no results in {RESULTS}; run the benchmarks first (make bench)")
    if args.write_readme:
        readme = args.write_readme.read_text(encoding="utf-8")
        args.write_readme.write_text(with_figures(readme, table), encoding="utf-8")
        print(f"wrote {len(table)} figures into {args.write_readme}")
        return
    if args.markdown:
        print(markdown(table), end="")
        return
    widths = [max(len(row[i]) for row in [HEADER, *table]) for i in range(len(HEADER))]
    for row in [HEADER, *table]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
