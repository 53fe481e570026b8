"""Benchmark: ``newsletter send`` from the command line against Postfix's smtp-sink, beside smtp-source.

Run: ``.venv/bin/python bench/send.py [--quick] [--readers N] [--connections C] [--runs R]``;
``--only scenarios`` runs only the aiosmtpd scenarios below (minutes less; nothing recorded).

In one run, for two message sizes (about 30 KB, and the sample issue as it is):
  ours         the CLI a user runs (``newsletter send ISSUE --yes`` in a new process: start-up,
               outbox snapshot, worker processes (``[delivery] processes = 0``, the default: one per core),
               pipelined SMTP, recording every answer), DKIM-signed (RSA-2048) as ``newsletter
               init`` sets a workspace up
  unsigned     the same with ``[dkim] key_file`` empty: the same work as smtp-source, which signs nothing
  smtp-source  Postfix's C load generator, same message count, size and connections (``-d``)
each against a fresh ``smtp-sink -v`` whose own log is counted afterwards (messages
and distinct recipients), median of ``--runs`` interleaved runs with the spread.
Goal: ours >= 0.8x smtp-source at both sizes.

Then two scenarios against an aiosmtpd sink in its own process (bench/scripted_sink.py),
each beside a clean run on the same sink:
  greylisting  10% of recipients get 451 on their first RCPT ([delivery] defer_delay = 1 s here,
               minutes in real life); rate to the last delivery >= 0.8x the clean rate, median of
               --runs interleaved pairs, each with its timeline (first delivery, last first try,
               last retry, end of the command)
  slow         one provider's RCPTs are answered after 200 ms: every reader of the fast
               providers delivered before the slow provider's are half done
  greylisting one provider's every new sender: every gmail.com reader is refused once;
               the one command delivers everybody, each once (held, not paused)
And a floor: a plain Python loop (Jinja2 + MJML per reader, smtplib, one connection).
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import re
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from issues.build import (
    build_issue,  # noqa: E402
    get_issue,  # noqa: E402
    issue_context,  # noqa: E402
)
from newsletter.articles import all_articles, import_sources  # noqa: E402
from newsletter.clock import week_of  # noqa: E402
from newsletter.init import init_workspace  # noqa: E402
from newsletter.render import render_html_email, render_text  # noqa: E402
from newsletter.samples import ARTICLES_DIR  # noqa: E402
from newsletter.workspace import Workspace  # noqa: E402
from subscribers import iter_confirmed, unsubscribe_url  # noqa: E402
from subscribers.importer import import_csv  # noqa: E402

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
CLI = [sys.executable, str(REPO / "cli.py")]
DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "bench.example.org", "club.example.net")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the sink did not start")


class PostfixSink:
    """``smtp-sink`` on a free port, its output in a file: with ``-v`` (the default) a log of what it
    accepted (:meth:`counts`), with ``-c`` running counters (:meth:`messages`; no log to grow)."""

    def __init__(self, flag: str = "-v") -> None:
        self.flag = flag

    def __enter__(self) -> PostfixSink:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="smtp-sink-", suffix=".log", delete=False)  # noqa: SIM115
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen([SMTP_SINK, *user, self.flag, f"127.0.0.1:{self.port}", "1000"],
                                     stdout=self.log, stderr=self.log)
        wait_port(self.port, self.proc)
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait()

    def messages(self) -> int:
        """With ``-c``: the last ``mesg=`` counter the sink printed (the file is removed)."""
        with open(self.log.name, "rb") as fh:
            fh.seek(max(0, os.path.getsize(self.log.name) - 4096))
            found = re.findall(rb"mesg=(\d+)", fh.read())
        os.unlink(self.log.name)
        return int(found[-1]) if found else 0

    def counts(self) -> tuple[int, int]:
        """(messages ended with '.', distinct RCPT TO addresses) from the sink's own log."""
        text = Path(self.log.name).read_text(errors="replace")
        os.unlink(self.log.name)
        messages = len(re.findall(r"^\S+: \.$", text, re.M))
        recipients = set(re.findall(r"^\S+: RCPT TO:<([^>]*)>", text, re.M))
        return messages, len(recipients)


def make_workspace(root: Path, readers: int, max_items: int) -> tuple[Path, str]:
    """A workspace with the sample articles, the latest week built (up to ``max_items``), ``readers`` readers."""
    init_workspace(root)
    ws = Workspace(root, environ={**os.environ, "NEWSLETTER_ISSUE_MAX_ITEMS": str(max_items)})
    import_sources(ws, [ARTICLES_DIR])
    latest = max(a.published_at for a in all_articles(ws))
    issue = build_issue(ws, week_of(latest, ws.settings.site.timezone))
    listing = root / "readers.csv"
    with listing.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["email", "name"])
        for n in range(readers):
            out.writerow([f"reader{n}@{DOMAINS[n % len(DOMAINS)]}", ["Sam Reader", "Zoë Ångström", ""][n % 3] + f" {n}"])
    import_csv(ws, listing, confirmed=True, consent="Benchmark readers (made up).")
    ws.close()
    return root, issue.id


def message_size(root: Path, issue_id: str, sample: int = 30) -> float:
    from issues.build import render_issue
    from issues.send import IssueMessage, ReaderMessages

    ws = Workspace(root)
    rendered = render_issue(ws, issue_id)
    messages = ReaderMessages(ws, IssueMessage(ws, rendered.subject, rendered.html, rendered.text), issue_id,
                              get_issue(ws, issue_id).number)
    sizes = [len(messages.compose(sid, email, name)[2])
             for (sid, email, name), _ in zip(iter_confirmed(ws), range(sample), strict=False)]
    ws.close()
    return sum(sizes) / len(sizes)


def send_env(port: int, connections: int, **delivery: object) -> dict[str, str]:
    return {**os.environ, "NEWSLETTER_DELIVERY_TRANSPORT": "smtp", "NEWSLETTER_SMTP_HOST": "127.0.0.1",
            "NEWSLETTER_SMTP_PORT": str(port), "NEWSLETTER_SMTP_SECURITY": "none", "NO_COLOR": "1",
            "NEWSLETTER_DELIVERY_CONNECTIONS": str(connections),
            "NEWSLETTER_DELIVERY_PROCESSES": os.environ.get("NEWSLETTER_DELIVERY_PROCESSES", "0"),  # one per core
            **{f"NEWSLETTER_DELIVERY_{k.upper()}": str(v) for k, v in delivery.items()}}


def run_cli_send(template: Path, issue_id: str, env: dict[str, str], *,
                 paused_ok: bool = False) -> tuple[float, dict]:
    """Seconds for ``newsletter send ISSUE --yes --json`` on a fresh copy of the workspace, and its report
    (with ``started_at``: the wall-clock time the command was started)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        shutil.copytree(template, root)
        started_at = time.time()
        start = time.perf_counter()
        done = subprocess.run([*CLI, "--workspace", str(root), "send", issue_id, "--yes", "--json"],
                              env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    if done.returncode not in ((0, 4) if paused_ok else (0,)):  # 4: the send paused itself (its report says why)
        raise SystemExit(f"newsletter send failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, {**json.loads(done.stdout), "started_at": started_at}


def run_ours(template: Path, issue_id: str, readers: int, connections: int, *, dkim: bool = True) -> float:
    with PostfixSink() as sink:
        env = send_env(sink.port, connections)
        if not dkim:
            env["NEWSLETTER_DKIM_KEY_FILE"] = ""  # [dkim] key_file empty: mail goes out unsigned
        elapsed, report = run_cli_send(template, issue_id, env)
    messages, recipients = sink.counts()
    if messages != readers or recipients != readers or report["counts"]["sent"] != readers:
        raise SystemExit(f"ours: the sink counted {messages} messages to {recipients} recipients, "
                         f"the outbox {report['counts']['sent']} sent; expected {readers}")
    return readers / elapsed


def run_smtp_source(count: int, size: int, connections: int) -> float:
    with PostfixSink() as sink:
        start = time.perf_counter()
        subprocess.run([SMTP_SOURCE, "-d", "-s", str(connections), "-m", str(count), "-l", str(size),
                        "-f", "bounces@example.com", "-t", "reader@bench.example.org", f"127.0.0.1:{sink.port}"],
                       check=True, capture_output=True)
        elapsed = time.perf_counter() - start
    messages, _ = sink.counts()
    if messages != count:
        raise SystemExit(f"smtp-source: the sink counted {messages} messages, expected {count}")
    return count / elapsed


def run_baseline(root: Path, issue_id: str, port: int, count: int) -> float:
    """Messages/s of the plain loop: render per reader (Jinja2 + MJML), build with email, smtplib, one connection."""
    ws = Workspace(root)
    issue = get_issue(ws, issue_id)
    readers = [r for r, _ in zip(iter_confirmed(ws), range(count), strict=False)]
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for sid, email, name in readers:
            context = issue_context(ws, issue)
            context["reader"] = {"email": email, "name": name or "there", "unsubscribe_url": unsubscribe_url(ws, sid)}
            message = EmailMessage()
            message["From"] = ws.settings.site["from"]
            message["To"] = formataddr((name or "", email))
            message["Subject"] = issue.subject
            message["Message-ID"] = make_msgid(domain="example.com")
            message.set_content(render_text(ws, "issue.txt.j2", context))
            message.add_alternative(render_html_email(ws, "issue.mjml.j2", context), subtype="html")
            smtp.send_message(message, from_addr="bounces@example.com", to_addrs=[email])
    ws.close()
    return len(readers) / (time.perf_counter() - start)


def scripted(template: Path, issue_id: str, connections: int, *sink_args: str, paused_ok: bool = False,
             **delivery: object) -> tuple[float, dict]:
    """(messages/s to the last delivery, what the scripted sink saw) for one CLI send."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sink.json"
        proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "scripted_sink.py"), str(port), str(out),
                                 *sink_args], stdout=subprocess.DEVNULL)
        try:
            wait_port(port, proc)
            elapsed, report = run_cli_send(template, issue_id, send_env(port, connections, **delivery),
                                           paused_ok=paused_ok)
        finally:
            proc.terminate()
            proc.wait()
        seen = json.loads(out.read_text())
    return report["counts"]["sent"] / elapsed, {**seen, "report": report, "elapsed": elapsed}


def timeline(seen: dict) -> str:
    """Where a scripted send's time went, in seconds from the command's start: its first delivery,
    the last delivery of a first try, the first and last retry of a refused reader, the command's end."""
    offset = seen["first_at"] - seen["report"]["started_at"] if seen.get("first_at") else 0.0
    every = collections.Counter(t for times in seen["accepted"].values() for t in times)
    every.subtract(collections.Counter(seen.get("retries", [])))
    first_pass = max((t for t, n in every.items() if n > 0), default=0.0)
    text = f"first delivery {offset:.2f}s, last first try {offset + first_pass:.2f}s, "
    if seen.get("retries"):
        text += f"retries {offset + min(seen['retries']):.2f}s to {offset + max(seen['retries']):.2f}s, "
    return text + f"end {seen['elapsed']:.2f}s"


def run_scenarios(small: Path, issue_id: str, connections: int, runs: int) -> tuple[float, float, float, float]:
    """The greylisting scenario beside clean runs (interleaved, medians), then the slow provider.

    Returns (clean msg/s, greylisting msg/s, when the fast providers were done, when the slow one was half done).
    """
    cleans, greys, ratios = [], [], []
    for _ in range(runs):
        clean, plain = scripted(small, issue_id, connections)
        grey, seen = scripted(small, issue_id, connections, "--greylist-every", "10", defer_delay=1)
        cleans.append(clean)
        greys.append(grey)
        ratios.append(grey / clean)
        print(f"  clean {clean:,.0f} msg/s ({timeline(plain)})\n  greylisting 10%: {grey:,.0f} msg/s to the "
              f"last delivery ({seen['report']['this_run']['deferred']} deferred, {seen['messages']} messages to "
              f"{seen['recipients']} recipients), {grey / clean:.2f}x ({timeline(seen)})", flush=True)
    clean, grey = statistics.median(cleans), statistics.median(greys)
    print(f"aiosmtpd sink: clean {spread(cleans)}; greylisting 10% {spread(greys)}; ratio {grey / clean:.2f}x "
          f"(runs {', '.join(f'{r:.2f}' for r in ratios)}; goal >= 0.8)")
    _, seen = scripted(small, issue_id, connections, "--slow", "yahoo.com:0.2")
    accepted = seen["accepted"]
    slow = sorted(accepted.get("yahoo.com", []))
    fast_done = max(t for d, times in accepted.items() if d != "yahoo.com" for t in times)
    slow_half = slow[len(slow) // 2] if slow else float("inf")
    print(f"slow provider (yahoo.com answered after 200 ms): every other reader delivered at {fast_done:.1f}s, "
          f"half of yahoo.com's at {slow_half:.1f}s, all of it at {slow[-1]:.1f}s "
          f"({'ok' if fast_done < slow_half else 'NOT met'}: goal fast done before slow half)", flush=True)
    _, seen = scripted(small, issue_id, connections, "--greylist-domain", "gmail.com", paused_ok=True,
                       defer_delay=1)
    report = seen["report"]
    print(f"a provider greylisting every new sender (gmail.com, every reader there refused once; defer_delay 1 s): "
          f"one command {report['outcome']['state']}, {report['counts']['sent']:,} of {report['readers']:,} sent "
          f"({seen['messages']:,} messages to {seen['recipients']:,} recipients, "
          f"{len(seen['accepted'].get('gmail.com', [])):,} at gmail.com); {timeline(seen)}", flush=True)
    return clean, grey, fast_done, slow_half


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):8,.0f} msg/s (runs {', '.join(f'{v:,.0f}' for v in values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 readers, one run each")
    parser.add_argument("--readers", type=int)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--runs", type=int)
    parser.add_argument("--scenario-readers", type=int)
    parser.add_argument("--baseline-readers", type=int)
    parser.add_argument("--only", choices=("all", "scenarios"), default="all",
                        help="scenarios: only the aiosmtpd scenarios (greylisting beside clean, --runs times; "
                             "the slow provider), without recording bench/results")
    args = parser.parse_args()
    readers = args.readers or (2_000 if args.quick else 20_000)
    runs = args.runs or (1 if args.quick else 3)
    scenario_readers = args.scenario_readers or (600 if args.quick else 3_000)
    baseline_readers = args.baseline_readers or (100 if args.quick else 500)
    if args.only == "scenarios":  # the aiosmtpd scenarios alone: figures printed, bench/results left as they are
        with tempfile.TemporaryDirectory() as tmp:
            small, issue_id = make_workspace(Path(tmp) / "scenario", scenario_readers, 12)
            print(f"scenarios, {scenario_readers:,} readers, {args.connections} connections:", flush=True)
            run_scenarios(small, issue_id, args.connections, runs)
        return
    for tool in (SMTP_SINK, SMTP_SOURCE):
        if not Path(tool).exists():
            raise SystemExit(f"{tool} not found; install Debian's postfix package")
    ratios, rates = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        print(f"setting up {readers:,} readers ...", flush=True)
        sizes = {}
        for max_items in range(1, 13):  # how many of the week's articles make a message of about 30 KB
            root, issue_id = make_workspace(Path(tmp) / f"size{max_items}", 30, max_items)
            sizes[max_items] = message_size(root, issue_id)
            shutil.rmtree(root)
        near_30 = min(sizes, key=lambda n: abs(sizes[n] - 30_000))
        workspaces = {}
        for label, max_items in (("30 KB", near_30), ("issue", 12)):
            root, issue_id = make_workspace(Path(tmp) / label.replace(" ", ""), readers, max_items)
            workspaces[label] = (root, issue_id, message_size(root, issue_id))
        for label, (root, issue_id, size) in workspaces.items():
            ours, unsigned, source = [], [], []
            for _ in range(runs):  # interleaved, so a busy moment of the machine hits all three
                ours.append(run_ours(root, issue_id, readers, args.connections))
                unsigned.append(run_ours(root, issue_id, readers, args.connections, dkim=False))
                source.append(run_smtp_source(readers, int(size), args.connections))
            ratio = statistics.median(ours) / statistics.median(source)
            ratios[f"clean {label}"] = ratio
            ratios[f"clean {label} unsigned"] = statistics.median(unsigned) / statistics.median(source)
            rates[label] = (size, *(statistics.median(side) for side in (ours, unsigned, source)))
            print(f"{label} ({size / 1024:.1f} KB, {readers:,} messages, {args.connections} connections; "
                  f"counted at the sink):", flush=True)
            print(f"  ours (CLI, DKIM-signed): {spread(ours)}")
            print(f"  ours (CLI, unsigned):    {spread(unsigned)}")
            print(f"  smtp-source:             {spread(source)}")
            print(f"  ratio {ratio:.2f}x signed, {ratios[f'clean {label} unsigned']:.2f}x unsigned "
                  "(goal >= 0.8)", flush=True)

        root, issue_id, _ = workspaces["issue"]
        small = Path(tmp) / "scenario"
        make_workspace(small, scenario_readers, 12)
        print(f"scenarios, {scenario_readers:,} readers, {args.connections} connections:", flush=True)
        clean, grey, fast_done, slow_half = run_scenarios(small, issue_id, args.connections, runs)
        ratios["greylisting / clean"] = grey / clean
        ratios["slow provider: fast done / slow half"] = fast_done / slow_half

        port = free_port()
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        sink = subprocess.Popen([SMTP_SINK, *user, f"127.0.0.1:{port}", "1000"], stderr=subprocess.DEVNULL)
        wait_port(port, sink)
        try:
            baseline = run_baseline(root, issue_id, port, baseline_readers)
        finally:
            sink.terminate()
            sink.wait()
        ratios["issue size / plain loop"] = statistics.median(ours) / baseline
        print(f"plain loop (Jinja2 + MJML per reader, smtplib, 1 connection, {baseline_readers} readers): "
              f"{baseline:,.0f} msg/s; ours at the issue size is {ratios['issue size / plain loop']:.1f}x that")
    print("ratios: " + "; ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    _record(rates, clean, grey, fast_done, slow_half, baseline, args.connections, quick=args.quick)


def _record(rates: dict, clean: float, grey: float, fast_done: float, slow_half: float, baseline: float,
            connections: int, *, quick: bool) -> None:
    """The run's figures into bench/results (goals: >= 0.8x smtp-source, greylisting >= 0.8x clean)."""
    from bench.harness import Figure, record

    figures = []
    for label, (size, ours, unsigned, source) in rates.items():
        name = f"send {size / 1024:.0f} KB{' (the issue)' if label == 'issue' else ''}, {connections} connections"
        figures += [Figure(f"{name}, DKIM-signed", ours, source, "msg/s", "smtp-source", goal=0.8),
                    Figure(f"{name}, unsigned", unsigned, source, "msg/s", "smtp-source", goal=0.8)]
    figures += [
        Figure("send with 10% greylisted", grey, clean, "msg/s", "the same send, no greylisting", goal=0.8),
        Figure("slow provider: the fast ones done at / the slow one half done at", fast_done / slow_half, None, "",
               higher_is_better=False, goal=1.0, goal_of="value"),
        Figure("send, the issue size, against a plain loop", rates["issue"][1], baseline, "msg/s",
               "Jinja2 + MJML per reader, smtplib"),
    ]
    record("send", figures, quick=quick, notes="counted at the sink; medians of interleaved runs")


if __name__ == "__main__":
    main()
