"""Benchmark: what inbound processing does with real bounces and complaints, against labelled truth.

Each message of the corpus (default ``../shared/corpora/bounces``) goes into a fresh copy of one
workspace in which the failed recipients its label names are confirmed readers, with
``trust_unsigned_reports`` on (none of these went through our VERP return path).  What became of
those readers is compared with the label's class: the confusion table, per-class precision and
recall, the goals of the inbound rules, and every miss by source.  The corpus is also split into
two halves by source (a stable hash of the source name), so a rule that only fits some senders
shows as a gap between the halves.

The peer is flufl.bounce (Mailman's bounce detectors), when installed: its permanent and
temporary failures for the same messages, read the same way (hard = permanent, soft = temporary).

    .venv/bin/python bench/bounces.py [CORPUS] [--misses] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import zlib
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent
# ../shared beside the checkout (a worktree may sit one folder deeper).
DEFAULT_CORPUS = next((p / "shared" / "corpora" / "bounces" for p in REPO.parents
                       if (p / "shared" / "corpora" / "bounces").is_dir()), REPO.parent / "shared" / "corpora" / "bounces")
TRUTHS = ("hard", "soft", "complaint", "ignored")
DID = ("hard", "soft", "complaint", "ignored", "no reader found", "not understood")
STRENGTH = {name: rank for rank, name in enumerate(reversed(DID))}  # a file's strongest outcome wins


def source_of(name: str) -> str:
    """``lhost-postfix-13.eml`` → ``lhost-postfix``."""
    stem = name.rsplit(".", 1)[0]
    head, _, tail = stem.rpartition("-")
    return head if tail.isdigit() else stem


def half_of(source: str) -> str:
    return "A" if zlib.crc32(source.encode()) % 2 == 0 else "B"


def _template(folder: Path) -> Path:
    from newsletter.init import init_workspace

    ws = init_workspace(folder)
    ws.secret_key  # noqa: B018  (made once, copied with the folder)
    ws.close()
    return folder


def what_we_did(template: Path, scratch: Path, path: Path, recipients: list[str]) -> tuple[str, str]:
    """Run one corpus file through a fresh workspace; (what became of its readers, the detail)."""
    from issues.inbound.process import process_message
    from issues.inbound.sources import iter_messages
    from newsletter.workspace import Workspace
    from subscribers import register

    root = scratch / "ws"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(template, root)
    ws = Workspace(root)
    try:
        for address in recipients:
            register(ws, address, source="import", confirmed=True, consent_text="benchmark reader")
        best, detail = "not understood", "no message in the file"
        for label, raw in iter_messages(path):
            outcome = process_message(ws, raw, source="file", label=label)
            actions = [r["action"] for r in outcome.readers]
            if any(a == "hard bounce" for a in actions):
                did = "hard"
            elif any(a.startswith("soft bounce") for a in actions):
                did = "soft"
            elif "complaint" in actions:
                did = "complaint"
            elif outcome.outcome in ("ignored", "duplicate"):
                did = "ignored"
            elif outcome.outcome == "done":
                did = "ignored"  # an unsubscribe or subscribe request: not a failure
            elif outcome.kind == "unknown":
                did = "not understood"
            else:
                did = "no reader found"
            if STRENGTH[did] > STRENGTH[best] or detail == "no message in the file":
                best, detail = did, f"{outcome.kind}: {outcome.detail}"
        return best, detail
    finally:
        ws.close()


def what_the_peer_did(path: Path, recipients: list[str]) -> str | None:
    """flufl.bounce's reading of the same file (None when it is not installed)."""
    try:
        from flufl.bounce import all_failures
    except ImportError:
        return None
    from issues.inbound.mime import parse_bytes
    from issues.inbound.sources import iter_messages

    wanted = {r.lower() for r in recipients}
    best = "not understood"
    for _, raw in iter_messages(path):
        try:
            temporary, permanent = all_failures(parse_bytes(raw))
        except Exception:  # noqa: BLE001  (a detector crashing on odd mail counts as not understood)
            continue
        def found(group: set) -> bool:
            return bool({a.decode("utf-8", "replace").lower() if isinstance(a, bytes) else a.lower()
                         for a in group} & wanted)
        did = "hard" if found(permanent) else "soft" if found(temporary) else (
            "no reader found" if permanent or temporary else "not understood")
        if STRENGTH[did] > STRENGTH[best]:
            best = did
    return best


def goals(rows: list[dict], key: str) -> dict[str, float]:
    """The issue's goals, as shares of the truth classes."""
    by_truth: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        by_truth[row["truth"]][row[key]] += 1
    named = [r for r in rows if r["recipients"] and r["truth"] in ("hard", "soft", "complaint")]
    judged = [r for r in rows if r["truth"] in TRUTHS]

    def share(count: int, total: int) -> float | None:
        return round(100.0 * count / total, 1) if total else None  # None: no message of that class

    return {
        "soft read as hard %": share(by_truth["soft"]["hard"], sum(by_truth["soft"].values())),
        "hard recall %": share(by_truth["hard"]["hard"], sum(by_truth["hard"].values())),
        "complaint recall %": share(by_truth["complaint"]["complaint"], sum(by_truth["complaint"].values())),
        "not understood %": share(sum(1 for r in judged if r[key] == "not understood"), len(judged)),
        "no reader found %": share(sum(1 for r in named if r[key] == "no reader found"), len(named)),
        "non-bounces acted on": sum(by_truth["ignored"][c] for c in ("hard", "soft", "complaint")),
    }


GOALS = {"soft read as hard %": ("<=", 2.0), "hard recall %": (">=", 90.0), "complaint recall %": (">=", 90.0),
         "not understood %": ("<=", 3.0), "no reader found %": ("<=", 5.0), "non-bounces acted on": ("<=", 0)}


def _met(name: str, value: float | None) -> str:
    if value is None:
        return "(none)"
    op, limit = GOALS[name]
    return "ok" if (value <= limit if op == "<=" else value >= limit) else "MISSED"


def print_table(rows: list[dict], key: str, title: str) -> None:
    print(f"\n## {title}\n")
    print("| truth / did | " + " | ".join(DID) + " | total |")
    print("|---" * (len(DID) + 2) + "|")
    truths = [t for t in (*TRUTHS, "unknown") if any(r["truth"] == t for r in rows)]
    for truth in truths:
        counts = Counter(r[key] for r in rows if r["truth"] == truth)
        print(f"| {truth} | " + " | ".join(str(counts[d]) for d in DID) + f" | {sum(counts.values())} |")
    print("\n| class | precision % | recall % |\n|---|---|---|")
    for cls in ("hard", "soft", "complaint", "ignored"):
        judged = [r for r in rows if r["truth"] in TRUTHS]
        said = sum(1 for r in judged if r[key] == cls)
        right = sum(1 for r in judged if r[key] == cls and r["truth"] == cls)
        total = sum(1 for r in judged if r["truth"] == cls)
        precision = f"{100.0 * right / said:.1f}" if said else "-"
        recall = f"{100.0 * right / total:.1f}" if total else "-"
        print(f"| {cls} | {precision} | {recall} |")


def print_goals(rows: list[dict], key: str, title: str) -> dict:
    halves = {"all": rows, "half A": [r for r in rows if r["half"] == "A"],
              "half B": [r for r in rows if r["half"] == "B"]}
    figures = {name: goals(part, key) for name, part in halves.items()}
    print(f"\n## Goals: {title}\n")
    print("| goal | " + " | ".join(f"{n} ({len(p)})" for n, p in halves.items()) + " | target |")
    print("|---" * (len(halves) + 2) + "|")
    for goal, (op, limit) in GOALS.items():
        cells = " | ".join(f"{'-' if figures[n][goal] is None else figures[n][goal]} {_met(goal, figures[n][goal])}"
                           for n in halves)
        print(f"| {goal} | {cells} | {op} {limit} |")
    return figures


def print_unnamed(rows: list[dict]) -> None:
    """Failures whose truth names no recipient: no reader exists in the run, so none can be acted on."""
    unnamed = [r for r in rows if r["truth"] in ("hard", "soft", "complaint") and not r["recipients"]]
    if not unnamed:
        return
    print(f"\n{len(unnamed)} messages name no recipient in their truth, so the run has no reader to act"
          " on (they count as misses above): " + ", ".join(f"{r['name']} ({r['truth']})" for r in unnamed) + ".")
    named = [r for r in rows if r not in unnamed]
    figures = goals(named, "did")
    print(f"Without them: hard recall {figures['hard recall %']}%, complaint recall {figures['complaint recall %']}%.")


def record_goals(rows: list[dict]) -> None:
    """The goals over the whole corpus into bench/results (ours, flufl.bounce beside it when installed)."""
    from bench.harness import Figure, record

    ours = goals(rows, "did")
    peer = goals(rows, "peer") if rows and rows[0]["peer"] is not None else {}
    figures = []
    for name, (op, limit) in GOALS.items():
        if ours[name] is None:
            continue
        percent = name.endswith(" %")
        figures.append(Figure(name.removesuffix(" %"), ours[name], peer.get(name), "%" if percent else "messages",
                              "flufl.bounce" if peer else "", higher_is_better=op == ">=", goal=limit,
                              goal_of="value"))
    record("bounces", figures, notes=f"{len(rows)} labelled messages; shares of each truth class")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--misses", action="store_true", help="list every miss with what we said about it")
    parser.add_argument("--json", action="store_true", help="one JSON document of every row and figure")
    args = parser.parse_args()
    labels = json.loads((args.corpus / "labels.json").read_text())
    os.environ["NEWSLETTER_INBOUND_TRUST_UNSIGNED_REPORTS"] = "true"
    os.environ.pop("NEWSLETTER_HOME", None)
    rows = []
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        template = _template(scratch / "template")
        for name in sorted(labels):
            label = labels[name]
            path = args.corpus / "mail" / name
            did, detail = what_we_did(template, scratch, path, label["recipients"])
            peer = what_the_peer_did(path, label["recipients"])
            rows.append({"name": name, "source": source_of(name), "half": half_of(source_of(name)),
                         "truth": label["class"], "reason": label["reason"], "recipients": label["recipients"],
                         "did": did, "peer": peer, "detail": detail})
    if args.json:
        with contextlib.redirect_stdout(sys.stderr):  # stdout holds the one JSON document
            record_goals(rows)
        result = {"rows": rows, "goals": {"all": goals(rows, "did")}}
        if rows and rows[0]["peer"] is not None:
            result["peer_goals"] = {"all": goals(rows, "peer")}
        print(json.dumps(result, indent=1))
        return 0
    print(f"# Inbound processing on {len(rows)} labelled messages from {args.corpus}")
    print_table(rows, "did", "Confusion: truth (rows) against what we did (columns)")
    ours = print_goals(rows, "did", "ours")
    print_unnamed(rows)
    failures: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row["truth"] in TRUTHS and row["did"] != row["truth"]:
            failures[row["source"]].append(row["name"])
    print("\n## Misses by source\n")
    for source in sorted(failures, key=lambda s: (-len(failures[s]), s)):
        total = sum(1 for r in rows if r["source"] == source)
        print(f"- {source}: {len(failures[source])} of {total}")
    if args.misses:
        print("\n## Every miss\n")
        for row in rows:
            if row["truth"] in TRUTHS and row["did"] != row["truth"]:
                print(f"- {row['name']} truth {row['truth']} ({row['reason']}) did {row['did']}: {row['detail'][:240]}")
    if rows and rows[0]["peer"] is not None:
        print_table(rows, "peer", "Peer flufl.bounce: truth against its permanent (hard) / temporary (soft)")
        peer = print_goals(rows, "peer", "flufl.bounce")
        print("\n## Ours / peer (all)\n")
        for goal in ("hard recall %", "soft read as hard %"):
            p = peer["all"][goal]
            ratio = f"{ours['all'][goal] / p:.2f}" if p and ours["all"][goal] is not None else "-"
            print(f"- {goal}: ours {ours['all'][goal]}, flufl.bounce {p}, ratio {ratio}")
    else:
        print("\n(flufl.bounce is not installed: `.venv/bin/pip install flufl.bounce` to compare with it)")
    print()
    record_goals(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
