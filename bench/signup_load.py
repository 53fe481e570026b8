"""Load test of the sign-up form: many concurrent sign-ups, a tenth of them duplicates, on loopback.

Runs the real app on waitress (127.0.0.1, a free port) over a fresh workspace in a
temporary folder, in a process of its own (as in production: the client threads must
not fight the server's threads for one interpreter lock), fires ``--count`` form POSTs from ``--concurrency`` client threads
(http.client, one connection per sign-up, as separate readers would), then checks:
no 5xx (no error at all), exactly one reader row per address, one confirmation
mail per address (sent by the app's queue worker after the answers; the bench waits
for the queue to drain).  Prints sign-ups per second, latencies, and the ratio to a
peer: the same server answering a bare ``/healthz`` GET at the same concurrency.

Then the serial cost of one sign-up, one request at a time, for a new address and
for an already-confirmed one (the answer must not tell them apart by its timing).

The per-IP limit stays on: every simulated reader has its own address, passed in
X-Forwarded-For with ``NEWSLETTER_WEB_TRUSTED_PROXIES=1`` (as behind nginx).

    .venv/bin/python bench/signup_load.py            # 2,000 sign-ups, 200 duplicates
    .venv/bin/python bench/signup_load.py --count 500 --concurrency 50
"""

from __future__ import annotations

import argparse
import http.client
import logging
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _post(port: int, body: bytes, ip: str, timeout: float) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/subscribe", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": ip,
            "User-Agent": "signup-load/1", "Connection": "close"})
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    except OSError as exc:
        print(f"  connection error: {exc}", file=sys.stderr)
        return 0, time.perf_counter() - started
    finally:
        conn.close()


def _count_mails(ws) -> int:
    import mailbox

    return len(mailbox.Maildir(ws.path(ws.settings.delivery.maildir), create=True))


def _serve(root: str, options: dict, ports: Any, stop: Any) -> None:
    """The server process: the app on waitress until ``stop`` is set (its mail worker drains the queue)."""
    from issues.app import create_app
    from newsletter.web import BackgroundServer
    from subscribers.web import mail_worker

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a deep queue is the point here
    app = create_app(root)
    with BackgroundServer(app, **options) as server:
        ports.put(server.port)
        stop.wait()
    mail_worker(app).stop()


class _ServerProcess:
    """Run :func:`_serve` in a spawned process; the context value is its port."""

    def __init__(self, root: Path, options: dict) -> None:
        context = multiprocessing.get_context("spawn")
        self._ports, self._stop = context.Queue(), context.Event()
        self._process = context.Process(target=_serve, args=(str(root), options, self._ports, self._stop))

    def __enter__(self) -> int:
        self._process.start()
        return self._ports.get(timeout=60)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(30)


def _wait_for_queue(ws, limit: float) -> float:
    """Seconds until the server's mail worker has sent every queued confirmation."""
    from subscribers.mailqueue import queued

    started = time.perf_counter()
    while queued(ws) and time.perf_counter() - started < limit:
        time.sleep(0.05)
    return time.perf_counter() - started


def _readers(db) -> tuple[tuple[int, int], int, int]:
    """(rows, distinct addresses), the most rows for one address, and how many are pending."""
    rows = db.execute("SELECT COUNT(*), COUNT(DISTINCT email_normalized) FROM subscribers").fetchone()
    per_address = db.execute(
        "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM subscribers GROUP BY email_normalized)").fetchone()[0]
    pending = db.execute("SELECT COUNT(*) FROM subscribers WHERE status = 'pending'").fetchone()[0]
    return rows, per_address, pending


def _get(port: int, timeout: float) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/healthz", headers={"Connection": "close"})
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    except OSError:
        return 0, time.perf_counter() - started
    finally:
        conn.close()


def _run(jobs: list, concurrency: int, time_limit: float) -> tuple[list[tuple[int, float]], float]:
    """Run the callables on a thread pool; stop waiting at ``time_limit`` seconds."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(job) for job in jobs]
        done, pending = wait(futures, timeout=time_limit)
        for future in pending:
            future.cancel()
    elapsed = time.perf_counter() - started
    if pending:
        raise SystemExit(f"FAIL: {len(pending)} requests unfinished after the {time_limit:.0f} s limit")
    return [f.result() for f in done], elapsed


def _summary(label: str, results: list[tuple[int, float]], elapsed: float) -> float:
    latencies = sorted(latency for _, latency in results)
    rate = len(results) / elapsed
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"{label}: {len(results)} requests in {elapsed:.2f} s = {rate:,.0f} requests/s "
          f"(median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms)")
    return rate


def _serial(port: int, addresses: list[str], first_ip: int) -> float:
    """Median milliseconds of one sign-up at a time for ``addresses``."""
    times = []
    for n, address in enumerate(addresses):
        body = urlencode({"email": address}).encode()
        status, latency = _post(port, body, f"172.16.{(first_ip + n) >> 8 & 255}.{(first_ip + n) & 255}", 30.0)
        if status != 200:
            raise SystemExit(f"FAIL: serial sign-up of {address} answered {status}")
        times.append(latency)
    return statistics.median(times) * 1000


def _serial_costs(ws, port: int, count: int) -> tuple[float, float]:
    """(new, known) median ms per sign-up, interleaved so machine load hits both alike."""
    from subscribers import subscribe

    known = [f"member{i:04d}@example.com" for i in range(count)]
    for address in known:
        subscribe(ws, address, confirmed=True, consent_text="bench: signed up at the desk")
    new = [f"fresh{i:04d}@example.com" for i in range(count)]
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(count):  # alternate, so machine load and the mail worker hit both alike
        times[0].append(_serial(port, [new[i]], 2 * i))
        times[1].append(_serial(port, [known[i]], 2 * i + 1))
    _wait_for_queue(ws, 60.0)
    return statistics.median(times[0]), statistics.median(times[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="sign-ups in all (default 2000)")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share that repeat an address (0.1)")
    parser.add_argument("--concurrency", type=int, default=200, help="client threads (default 200)")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads (default 8)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="give up after this many seconds")
    parser.add_argument("--serial", type=int, default=200, help="serial sign-ups per kind for the timing check")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 20_000:
        parser.error("--count must be between 1 and 20000 (bounded on purpose)")

    os.environ["NEWSLETTER_WEB_TRUSTED_PROXIES"] = "1"
    os.environ.pop("NEWSLETTER_HOME", None)
    from newsletter.init import init_workspace
    from newsletter.web import waitress_options

    with tempfile.TemporaryDirectory(prefix="signup-load-") as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        options = {**waitress_options(ws), "threads": args.threads, "backlog": 4096, "connection_limit": 2000}
        duplicates = int(args.count * args.duplicates)
        unique = args.count - duplicates
        rng = random.Random(47)
        addresses = [f"reader{i:05d}@example.com" for i in range(unique)]
        # Duplicates change case (the same reader), and are shuffled in to race their originals.
        repeats = [a.upper() if i % 2 else a for i, a in enumerate(rng.sample(addresses, duplicates))]
        plan = addresses + repeats
        rng.shuffle(plan)
        bodies = [urlencode({"email": a, "name": f"Reader {n}"}).encode() for n, a in enumerate(plan)]
        ips = [f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" for n in range(len(plan))]

        with _ServerProcess(ws.root, options) as port:
            print(f"{args.count} sign-ups ({unique} addresses, {duplicates} duplicates) from {args.concurrency} "
                  f"client threads against waitress ({args.threads} threads, own process) on port {port}")
            jobs = [lambda b=b, ip=ip: _post(port, b, ip, 60.0) for b, ip in zip(bodies, ips, strict=True)]
            results, elapsed = _run(jobs, args.concurrency, args.time_limit)
            signup_rate = _summary("sign-ups", results, elapsed)
            drain_time = _wait_for_queue(ws, args.time_limit)
            print(f"confirmation mails: the queue was empty {drain_time:.2f} s after the last answer")
            peer, peer_elapsed = _run([lambda: _get(port, 60.0)] * args.count, args.concurrency, args.time_limit)
            peer_rate = _summary("peer: GET /healthz on the same server", peer, peer_elapsed)
            mails = _count_mails(ws)
            rows, per_address, pending = _readers(ws.db)
            serial_new, serial_known = _serial_costs(ws, port, args.serial) if args.serial else (0.0, 0.0)

        statuses: dict[int, int] = {}
        for status, _ in results + peer:
            statuses[status] = statuses.get(status, 0) + 1
        ws.close()

    print(f"HTTP statuses: {dict(sorted(statuses.items()))}")
    print(f"readers: {rows[0]} rows, {rows[1]} distinct addresses, at most {per_address} per address, "
          f"{pending} pending; confirmation mails: {mails}")
    print(f"ratio: sign-ups/s are {signup_rate / peer_rate:.2f} of the bare request rate of the same server")
    if args.serial:
        print(f"serial, one request at a time (medians, interleaved): new address {serial_new:.2f} ms, "
              f"already confirmed {serial_known:.2f} ms (difference {serial_new - serial_known:+.2f} ms)")
    failures = []
    if any(status >= 500 or status == 0 for status in statuses):
        failures.append("server errors or dropped connections")
    if set(statuses) - {200}:
        failures.append(f"unexpected statuses {sorted(set(statuses) - {200})}")
    if rows[0] != unique or rows[1] != unique or per_address != 1:
        failures.append(f"expected exactly one reader per address ({unique}), found {rows[0]} rows")
    if mails != unique:
        failures.append(f"expected {unique} confirmation mails (one per address), found {mails}")
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("OK: no 5xx, exactly one reader and one confirmation mail per address")
    return 0


if __name__ == "__main__":
    sys.exit(main())
