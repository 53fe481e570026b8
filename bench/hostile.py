"""Hostile inputs against the real commands and server; each must end in a clear error or normal service.

  1. a 441-byte Markdown file whose front matter is a YAML alias bomb (``articles import``);
  2. a CSV whose one line is 100 MB (``subscribers import``);
  3. an HTML page nested 100,000 elements deep (``articles import``);
  4. 150 slow clients trickling header lines at ``newsletter serve`` while /healthz is asked.

Each runs as the command a user types, in its own process; the figures are its wall time,
its peak memory (ru_maxrss of the child), its exit status and last line of output; then
the database's ``PRAGMA integrity_check``.  Fails if a child exceeds 300 MB or the check
is not ``ok``.

    .venv/bin/python bench/hostile.py
"""

from __future__ import annotations

import http.client
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
MEMORY_LIMIT_MB = 300


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["NEWSLETTER_HOME"] = str(root)
    return env


def _run(root: Path, *args: str) -> tuple[float, float, int, str]:
    """(seconds, peak MB of that child, exit status, last line of its output: the summary or the error)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen([sys.executable, str(REPO / "cli.py"), *args], env=_env(root), stdout=out,
                                 stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        out.seek(0)
        lines = out.read().decode(errors="replace").strip().splitlines()
    return elapsed, usage.ru_maxrss / 1024, child.returncode, (lines[-1] if lines else "")[:160]


def alias_bomb(path: Path) -> Path:
    lines = ["title: Nine by nine", "a: &a [x,x,x,x,x,x,x,x,x]"]
    names = "abcdefghi"
    for previous, name in zip(names, names[1:], strict=False):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    lines.append("tags: *i")
    path.write_text("---\n" + "\n".join(lines) + "\n---\nBody.\n", encoding="utf-8")
    return path


def long_csv_line(path: Path, megabytes: int = 100) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name\nok@example.com,Fine\n")
        chunk = "x" * (1 << 20)
        out.write("long@example.com,")
        for _ in range(megabytes):
            out.write(chunk)
        out.write("\nafter@example.com,Also fine\n")
    return path


def nested_html(path: Path, depth: int = 100_000) -> Path:
    body = "<div>" * depth + "<p>deep text</p>" + "</div>" * depth
    path.write_text(f"<!doctype html><html><head><title>Deep page</title></head><body>{body}</body></html>",
                    encoding="utf-8")
    return path


def slow_clients(root: Path, count: int = 150, seconds: float = 20.0) -> tuple[int, int, float]:
    """(healthz answers, healthz asks, slowest answer in s) while ``count`` clients trickle headers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(REPO / "cli.py"), "serve", "--port", str(port)], env=_env(root),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = threading.Event()
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)

        def trickle() -> None:
            socks = []
            for n in range(count):
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                                    source_address=(f"127.2.0.{n % 3 + 1}", 0))
                    sock.sendall(b"POST /subscribe HTTP/1.1\r\nHost: x\r\n")
                    socks.append(sock)
                except OSError:
                    pass
            line = 0
            while not stop.wait(5.0):  # one header line every 5 s, as in the attack
                line += 1
                for sock in socks:
                    try:
                        sock.sendall(f"X-Slow-{line}: 1\r\n".encode())
                    except OSError:
                        pass
            for sock in socks:
                sock.close()

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        answered, asked, slowest = 0, 0, 0.0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            asked += 1
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/healthz")
                answered += conn.getresponse().status == 200
                conn.close()
            except OSError:
                pass
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.5)
        stop.set()
        thread.join(10)
    finally:
        server.terminate()
        server.wait(30)
    return answered, asked, slowest


def main() -> int:
    from bench.harness import Figure, record

    failures, figures = [], []
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        tmp_path = Path(tmp)
        subprocess.run([sys.executable, str(REPO / "cli.py"), "init", str(tmp_path / "ws")], env=_env(tmp_path / "ws"),
                       check=True, capture_output=True)
        root = tmp_path / "ws"
        cases = [
            ("YAML alias bomb (441 bytes)", ("articles", "import", str(alias_bomb(tmp_path / "bomb.md")))),
            ("CSV with one 100 MB line", ("subscribers", "import", str(long_csv_line(tmp_path / "long.csv")),
                                          "--confirmed", "--consent", "hostile bench")),
            ("HTML nested 100,000 deep", ("articles", "import", str(nested_html(tmp_path / "deep.html")))),
        ]
        print(f"{'input':<30} {'seconds':>8} {'peak MB':>8} {'exit':>5}  last line of output")
        for label, args in cases:
            seconds, peak, status, line = _run(root, *args)
            print(f"{label:<30} {seconds:8.2f} {peak:8.0f} {status:>5}  {line}")
            figures.append(Figure(f"{label}, peak memory", peak, None, "MB", higher_is_better=False,
                                  goal=MEMORY_LIMIT_MB, goal_of="value"))
            if peak > MEMORY_LIMIT_MB:
                failures.append(f"{label}: {peak:.0f} MB")
        answered, asked, slowest = slow_clients(root)
        print(f"{'150 slow clients, 20 s':<30} /healthz answered {answered} of {asked}, slowest {slowest:.2f} s")
        figures += [Figure("/healthz answered under 150 slow clients", 100 * answered / max(asked, 1), None,
                           "%", goal=100, goal_of="value"),
                    Figure("slowest /healthz answer then", slowest, None, "s", higher_is_better=False)]
        if answered != asked:
            failures.append("healthz went unanswered under slow clients")
        with sqlite3.connect(root / "newsletter.db") as db:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        print(f"integrity_check: {integrity}")
        if integrity != "ok":
            failures.append(f"integrity_check {integrity}")
        figures.append(Figure("database integrity_check ok afterwards (1 = ok)", float(integrity == "ok"),
                              None, "", goal=1, goal_of="value"))
    record("hostile", figures, notes=f"each input in its own process, the command a user types; "
                                     f"{len(failures)} failure(s)")
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print(f"OK: every hostile input answered or refused, each process under {MEMORY_LIMIT_MB} MB, database ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
