"""What every benchmark shares: --quick, median of N runs with the spread, and one results file.

Each benchmark records its figures with :func:`record` into ``bench/results/<name>.json``;
``bench/table.py`` (run last by ``make bench``) prints every ratio in one table, so the
README's figures come from one place.  Runs of the two sides alternate, so a busy
machine slows both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def add_common_options(parser: argparse.ArgumentParser, *, runs: int = 3) -> None:
    """``--quick`` (a smoke run: small inputs, one run) and ``--runs N`` (runs per side)."""
    parser.add_argument("--quick", action="store_true", help="A smoke run: small inputs, one run per side.")
    parser.add_argument("--runs", type=int, default=runs, help=f"Runs per side; the median is shown (default {runs}).")


def runs_of(args: argparse.Namespace) -> int:
    return 1 if args.quick else max(1, args.runs)


@dataclass(frozen=True)
class Spread:
    """The median of some samples and their range."""

    median: float
    low: float
    high: float
    samples: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values), len(values))

    def show(self, fmt: str = "{:.2f}") -> str:
        if self.samples == 1:
            return fmt.format(self.median)
        return f"{fmt.format(self.median)} ({fmt.format(self.low)}–{fmt.format(self.high)}, n={self.samples})"


def alternate(sides: dict[str, Callable[[], float]], runs: int) -> dict[str, Spread]:
    """Run each side ``runs`` times, interleaved (a, b, a, b, ...); each call returns its figure."""
    values: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(runs):
        for name, run in sides.items():
            values[name].append(run())
    return {name: Spread.of(found) for name, found in values.items()}


def timed(func: Callable[[], Any]) -> float:
    """Seconds one call of ``func`` takes."""
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


@dataclass(frozen=True)
class Figure:
    """One line of the summary table: our figure, the peer's, and which way is better."""

    measure: str
    ours: float
    peer: float | None
    unit: str
    peer_name: str = ""
    higher_is_better: bool = True
    goal: float | None = None  # the ratio we hold ourselves to (ours/peer, or peer/ours for times)
    goal_of: str = "ratio"  # "value": the goal is on ``ours`` itself, a floor (or a ceiling when lower is better)

    @property
    def ratio(self) -> float | None:
        if not self.peer or not self.ours:
            return None
        return self.ours / self.peer if self.higher_is_better else self.peer / self.ours

    @property
    def met(self) -> bool | None:
        """Whether the goal is met (None: no goal, or no ratio to judge it by)."""
        if self.goal is None:
            return None
        if self.goal_of == "value":
            return self.ours >= self.goal if self.higher_is_better else self.ours <= self.goal
        return None if self.ratio is None else self.ratio >= self.goal

    def goal_text(self) -> str:
        """">= 0.8x", or for a goal on the value ">= 0.62" / "<= 2 %"."""
        if self.goal is None:
            return ""
        if self.goal_of == "value":
            unit = f" {self.unit}" if self.unit else ""
            return f"{'>=' if self.higher_is_better else '<='} {self.goal:g}{unit}"
        return f">= {self.goal:.2g}x"


def record(bench: str, figures: Sequence[Figure], *, quick: bool = False, notes: str = "",
           folder: Path = RESULTS) -> Path:
    """Write ``figures`` to ``bench/results/<bench>.json`` (or ``folder``) and print their ratios."""
    folder.mkdir(exist_ok=True)
    path = folder / f"{bench}.json"
    data = {
        "bench": bench, "quick": quick, "at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "notes": notes,
        "figures": [{**asdict(figure), "ratio": figure.ratio} for figure in figures],
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    for figure in figures:
        verdict = "" if figure.met is None else f" (goal {figure.goal_text()}: {'met' if figure.met else 'NOT met'})"
        if figure.ratio is not None:
            print(f"ratio {figure.measure}: {figure.ratio:.2f}x vs {figure.peer_name}{verdict}")
        elif figure.goal_of == "value":
            print(f"figure {figure.measure}: {figure.ours:g} {figure.unit}".rstrip() + verdict)
    return path


def figure_of(data: dict[str, Any]) -> Figure:
    """A :class:`Figure` back from its recorded JSON (the ratio is worked out again)."""
    names = {field.name for field in fields(Figure)}
    return Figure(**{key: value for key, value in data.items() if key in names})


def pss_mb(pid: int) -> float:
    """Proportional set size of one process (MB): a page shared by n processes counts 1/n in each."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakSampler:
    """The peak of :meth:`measure` while the block runs, sampled every ``interval`` seconds on a thread."""

    interval = 0.02

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def measure(self) -> float:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.measure())
            self._stop.wait(self.interval)


class TotalMemory(PeakSampler):
    """Peak of the summed memory (PSS, MB) of this process and all its workers, sampled every 20 ms.

    PSS, not RSS: pages that workers share (a mapped index, the libraries) count once in the sum.
    ``pid``: another process to watch with its children (default this one).
    """

    def __init__(self, pid: int | None = None) -> None:
        super().__init__()
        self.pid = pid

    @staticmethod
    def _tree(pid: int) -> list[int]:
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            out.append(p)
            for task in Path(f"/proc/{p}/task").glob("*/children"):
                try:
                    todo.extend(int(c) for c in task.read_text().split())
                except OSError:
                    pass
        return out

    def measure(self) -> float:
        total = 0.0
        for p in self._tree(self.pid or os.getpid()):
            try:
                total += pss_mb(p)
            except (OSError, IndexError, ValueError):
                pass
        return total
