"""Benchmark: send an issue to 20,000 readers through Postfix's smtp-sink, next to two peers.

Run: ``.venv/bin/python bench/send.py [--readers N] [--connections C] [--baseline-readers B]``.

In one run, against the same ``smtp-sink`` on loopback:
  ours      ``send_issue``: outbox snapshot, threaded workers, byte-template messages, pipelined SMTP
  smtp-source  Postfix's C load generator, same message size and connection count (``-d``: reused connections)
  baseline  plain Python: per reader a Jinja2 + MJML render, the stdlib email package, ``smtplib``, one connection
Prints messages per second for each and our ratio to both (goals: >= 0.5x smtp-source, >= 10x baseline).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from issues.archive import get_issue  # noqa: E402
from issues.build import build_issue  # noqa: E402
from issues.render import issue_context  # noqa: E402
from issues.sender import send_issue  # noqa: E402
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(port: int) -> subprocess.Popen:
    """Postfix's smtp-sink on 127.0.0.1:port (PIPELINING and 8BITMIME on, as it comes)."""
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([SMTP_SINK, *user, f"127.0.0.1:{port}", "1000"], stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"smtp-sink did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


def make_workspace(root: Path, readers: int) -> tuple[Workspace, str]:
    """A workspace with the sample articles, the latest sample week built, and ``readers`` confirmed readers."""
    ws = init_workspace(root)
    import_sources(ws, [ARTICLES_DIR])
    latest = max(a.published_at for a in all_articles(ws))
    issue = build_issue(ws, week_of(latest, ws.settings.site.timezone))
    listing = root / "readers.csv"
    with listing.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["email", "name"])
        for n in range(readers):
            out.writerow([f"reader{n}@bench.example.org", ["Sam Reader", "Zoë Ångström", ""][n % 3] + f" {n}"])
    import_csv(ws, listing, confirmed=True, consent="Benchmark readers (made up).")
    return ws, issue.id


def run_ours(ws: Workspace, issue_id: str, port: int, connections: int) -> tuple[float, int, float]:
    """(messages/s, messages, mean message bytes) of a whole ``send_issue`` call, snapshot included."""
    env = {
        **os.environ, "NEWSLETTER_DELIVERY_TRANSPORT": "smtp", "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(port), "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_DELIVERY_CONNECTIONS": str(connections),
    }
    bench_ws = Workspace(ws.root, environ=env)
    start = time.perf_counter()
    report = send_issue(bench_ws, issue_id)
    elapsed = time.perf_counter() - start
    assert report.finished and report.counts["failed"] == 0, report.summary()
    sent = report.this_run["sent"]
    return sent / elapsed, sent, mean_message_size(bench_ws, issue_id)


def mean_message_size(ws: Workspace, issue_id: str, sample: int = 50) -> float:
    from issues.message import IssueMessage
    from issues.render import render_issue
    from issues.sender import ReaderMessages

    rendered = render_issue(ws, issue_id)
    messages = ReaderMessages(ws, IssueMessage(ws, rendered.subject, rendered.html, rendered.text), issue_id,
                              get_issue(ws, issue_id).number)
    sizes = [len(messages.compose(sid, email, name)[2])
             for (sid, email, name), _ in zip(iter_confirmed(ws), range(sample), strict=False)]
    return sum(sizes) / len(sizes)


def run_smtp_source(port: int, count: int, size: int, connections: int) -> float:
    """Messages/s of Postfix's smtp-source: ``count`` messages of ``size`` bytes over ``connections`` sessions."""
    start = time.perf_counter()
    subprocess.run(
        [SMTP_SOURCE, "-d", "-s", str(connections), "-m", str(count), "-l", str(size),
         "-f", "bounces@example.com", "-t", "reader@bench.example.org", f"127.0.0.1:{port}"],
        check=True, capture_output=True,
    )
    return count / (time.perf_counter() - start)


def run_baseline(ws: Workspace, issue_id: str, port: int, count: int) -> float:
    """Messages/s of the plain loop: render per reader (Jinja2 + MJML), build with email, smtplib, one connection."""
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
    return len(readers) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--baseline-readers", type=int, default=1_000)
    args = parser.parse_args()
    for tool in (SMTP_SINK, SMTP_SOURCE):
        if not Path(tool).exists():
            raise SystemExit(f"{tool} not found; install Debian's postfix package")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"setting up {args.readers:,} confirmed readers ...", flush=True)
        ws, issue_id = make_workspace(Path(tmp) / "ws", args.readers)
        port = free_port()
        sink = start_sink(port)
        try:
            ours, sent, size = run_ours(ws, issue_id, port, args.connections)
            print(f"ours:        {ours:8,.0f} msg/s  ({sent:,} messages of {size / 1024:.1f} KB, "
                  f"{args.connections} connections, snapshot to last record)", flush=True)
            source = run_smtp_source(port, args.readers, int(size), args.connections)
            print(f"smtp-source: {source:8,.0f} msg/s  (same size and connections, -d)", flush=True)
            baseline = run_baseline(ws, issue_id, port, args.baseline_readers)
            print(f"baseline:    {baseline:8,.0f} msg/s  ({args.baseline_readers:,} readers: Jinja2+MJML per reader, "
                  "smtplib, 1 connection)", flush=True)
        finally:
            sink.terminate()
            sink.wait()
    print(f"ratio to smtp-source: {ours / source:.2f}x (goal >= 0.5)")
    print(f"ratio to baseline:    {ours / baseline:.1f}x (goal >= 10)")


if __name__ == "__main__":
    main()
