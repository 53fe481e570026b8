"""Benchmark: memory and disk of ``newsletter send`` as the list grows (DESIGN: "a million-reader send
streams in bounded memory").

Run: ``.venv/bin/python bench/send_scale.py [--sizes 100000,1000000] [--quick]``.

For each list size, a workspace with the sample issue and that many confirmed readers (imported
through the real CSV importer; not timed), then the CLI a user runs, ``newsletter send ISSUE --yes
--json``, at its default settings (``[delivery] processes`` = one per core), unsigned, with 4
connections to Postfix's ``smtp-sink -c`` (messages counted at the sink).  Sampled every 50 ms
while it runs: the summed PSS of the command and its worker processes, and the size of the send's
journals beside the database.  Printed per size: messages at the sink, msg/s, peak memory, peak
journal size, database growth; then the ratio of the largest list's peak memory to the
smallest's.  Goal: a list 10x longer needs at most 1.25x the memory (bounded: it does not grow
with the list).  ``smtp-source``'s own peak memory at the smallest size is shown beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.harness import Figure, PeakSampler, TotalMemory, record  # noqa: E402
from bench.send import CLI, PostfixSink, make_workspace, send_env  # noqa: E402

GOAL = 1.25  # peak memory of the largest list over the smallest's
SAMPLE = 0.05


class FolderPeak(PeakSampler):
    """Peak total size (MB) of the files in a folder, sampled while a command runs."""

    interval = SAMPLE

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def measure(self) -> float:
        total = 0
        for path in self.folder.glob("*") if self.folder.is_dir() else []:
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return total / 2**20


def send_once(root: Path, issue_id: str, readers: int, connections: int) -> dict:
    """One CLI send of the workspace at ``root``: its figures."""
    database = root / "newsletter.db"
    before = database.stat().st_size
    with PostfixSink("-c") as sink:
        env = send_env(sink.port, connections)
        env["NEWSLETTER_DKIM_KEY_FILE"] = ""  # unsigned: signing costs CPU, not memory
        env.pop("NEWSLETTER_DELIVERY_PROCESSES", None)  # the default: one process per core
        started = time.perf_counter()
        proc = subprocess.Popen([*CLI, "--workspace", str(root), "send", issue_id, "--yes", "--json"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with TotalMemory(proc.pid) as memory, FolderPeak(root / f".{database.name}-send-journals") as journals:
            out, err = proc.communicate()
        elapsed = time.perf_counter() - started
        time.sleep(0.2)  # the sink's last counters
        messages = sink.messages()
    if proc.returncode != 0:
        raise SystemExit(f"newsletter send failed ({proc.returncode}): {err.strip()[-500:]}")
    report = json.loads(out)
    return {"readers": readers, "sent": report["counts"]["sent"], "messages": messages, "seconds": elapsed,
            "rate": messages / elapsed, "peak_mb": memory.peak, "journal_mb": journals.peak,
            "db_growth_mb": (database.stat().st_size - before) / 2**20}


def smtp_source_peak(readers: int, size: int, connections: int) -> float:
    """Peak memory (PSS, MB) of Postfix's ``smtp-source`` sending ``readers`` messages of ``size`` bytes."""
    with PostfixSink("-c") as sink:
        proc = subprocess.Popen(["smtp-source", "-s", str(connections), "-m", str(readers), "-l", str(size),
                                 "-t", "reader@example.org", f"127.0.0.1:{sink.port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with TotalMemory(proc.pid) as memory:
            proc.wait()
        time.sleep(0.2)  # the sink's last counters
        if sink.messages() != readers:
            raise SystemExit(f"error: smtp-source sent {readers:,} messages but the sink did not count them all")
    return memory.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="list sizes, smallest first (default 100000,1000000)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="smoke run: 10,000 and 100,000 readers")
    args = parser.parse_args()
    sizes = [int(s) for s in (args.sizes or ("10000,100000" if args.quick else "100000,1000000")).split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for readers in sizes:
            started = time.perf_counter()
            root, issue_id = make_workspace(Path(tmp) / f"ws{readers}", readers, 12)
            print(f"{readers:,} readers imported in {time.perf_counter() - started:.0f}s; sending ...", flush=True)
            row = send_once(root, issue_id, readers, args.connections)
            rows.append(row)
            print(f"  {row['messages']:,} messages at the sink ({row['sent']:,} sent), {row['rate']:,.0f} msg/s, "
                  f"peak memory {row['peak_mb']:.0f} MB (command + workers, PSS), peak journals "
                  f"{row['journal_mb']:.1f} MB, database +{row['db_growth_mb']:.0f} MB", flush=True)
            if row["messages"] != readers or row["sent"] != readers:
                raise SystemExit(f"error: {readers:,} readers but {row['messages']:,} messages at the sink")
            subprocess.run(["rm", "-rf", str(root)], check=False)
    source = smtp_source_peak(sizes[0], 30_000, args.connections)
    small, large = rows[0], rows[-1]
    ratio = large["peak_mb"] / small["peak_mb"]
    print(f"smtp-source, {sizes[0]:,} messages: peak memory {source:.1f} MB")
    print(f"ratio peak memory, {large['readers']:,} / {small['readers']:,} readers: {ratio:.2f}x "
          f"(goal <= {GOAL}x: {'met' if ratio <= GOAL else 'NOT met'})")
    record("send_scale", [
        Figure(f"send peak memory, {large['readers']:,} readers (MB)", large["peak_mb"], small["peak_mb"], "MB",
               f"the same send, {small['readers']:,} readers", higher_is_better=False, goal=1 / GOAL),
        Figure(f"send peak journals, {large['readers']:,} readers (MB)", large["journal_mb"], None, "MB",
               higher_is_better=False),
        Figure(f"send rate, {large['readers']:,} readers", large["rate"], small["rate"], "msg/s",
               f"the same send, {small['readers']:,} readers"),
    ], quick=args.quick, notes="the CLI at default settings, unsigned, 4 connections, counted at smtp-sink")


if __name__ == "__main__":
    main()
