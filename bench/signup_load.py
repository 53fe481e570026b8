"""Sign-ups from 2,000 truly concurrent clients against ``newsletter serve`` as shipped.

Starts ``newsletter serve`` (the command, its own process, the settings ``init`` writes)
on a fresh workspace, then runs asyncio + httpx clients (``--clients`` processes): 2,000 readers,
each from its own loopback address (127.1.x.y, so the per-IP limits apply as they would
on the internet, with no proxy settings), each with its own connection.  Every reader
first loads the form (all 2,000 connections are then open at once), then posts its
sign-ups at scheduled moments: ``--rate`` sign-ups a second over all readers, a tenth
of them repeating another reader's address.  A latency runs from the scheduled moment
(so a client running late counts against the server, not for it) to the last byte.

Phases, each measured the same way, and the peers in the same run:
  floor   the steady schedule against a trivial HTTP server (asyncio, its own process,
          answers every request at once): what this client itself can drive;
  steady  ``--rate`` sign-ups/s spread over the 2,000 open connections (the target:
          p99 <= 1 s at >= 500/s);
  burst   every reader posts at the same instant (2,000 requests in flight at once);
  peer    the steady schedule again with ``GET /healthz`` (the server's floor).
Each phase also reports the CPU milliseconds the server and this client spent per
request (a figure the other load on the machine does not bend the way latency bends).
Then checks: no error, one reader row and one confirmation mail per address.

    .venv/bin/python bench/signup_load.py                 # 2,000 readers, 600 sign-ups/s for 10 s
    .venv/bin/python bench/signup_load.py --quick         # 300 readers, 200/s for 3 s
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import multiprocessing
import os
import random
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(root: Path, port: int, log: Path, command: str | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["NEWSLETTER_HOME"] = str(root)
    argv = [str(REPO / "cli.py"), "serve", "--port", str(port)]
    if command:  # another server for the same app (bench/serve_variants.py)
        argv = [str(REPO / word) if word.endswith(".py") else word for word in command.format(port=port).split()]
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, *argv], env=env, stdout=subprocess.DEVNULL, stderr=sink)
    _wait_for(process, port)
    return process


# httpx builds an SSL context (~40 ms of CPU, certificates loaded) for every client and
# transport unless it is handed one: 2,000 readers would spend minutes on contexts for a
# plain-HTTP run, so they all share this one.
_TLS = ssl.create_default_context()


class _Echo(asyncio.Protocol):
    """The trivial HTTP/1.1 server of the floor phase: any request gets ``200 ok`` at once (kept alive)."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.pending = bytearray()

    def data_received(self, data: bytes) -> None:
        self.pending += data
        while (end := self.pending.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.pending[:end]).lower().split(b"\r\n")
            length = next((int(line[15:]) for line in head if line.startswith(b"content-length:")), 0)
            if len(self.pending) < end + 4 + length:
                return
            del self.pending[:end + 4 + length]
            self.transport.write(self.ANSWER)  # type: ignore[attr-defined]


async def _serve_echo(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Echo, "127.0.0.1", port, backlog=4096)
    await server.serve_forever()


def _start_echo(port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, __file__, "--echo-server", str(port)])
    _wait_for(process, port)
    return process


def _wait_for(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"FAIL: the server on port {port} did not start")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Reader:
    """One simulated reader: its own loopback address and its own kept-alive connection."""

    def __init__(self, n: int, base: str) -> None:
        self.ip = f"127.1.{(n + 1) >> 8 & 255}.{(n + 1) & 255}"
        transport = httpx.AsyncHTTPTransport(local_address=self.ip, retries=0, verify=_TLS,
                                             limits=httpx.Limits(max_connections=1, max_keepalive_connections=1,
                                                                 keepalive_expiry=None))
        self.client = httpx.AsyncClient(base_url=base, transport=transport, timeout=120, verify=_TLS)

    def prepare(self, method: str, path: str, **kwargs) -> httpx.Request:
        """The request built ahead (httpx spends a third of its client time building one)."""
        return self.client.build_request(method, path, **kwargs)

    async def send(self, request: httpx.Request, at: float) -> tuple[int, float]:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        try:
            response = await self.client.send(request)
            status = response.status_code
        except httpx.HTTPError as exc:
            print(f"  {self.ip}: {type(exc).__name__}", file=sys.stderr)
            status = 0
        return status, time.perf_counter() - at


Job = tuple[int, int, str, str, dict]  # (moment in the schedule, reader, method, path, request arguments)
Phase = tuple[str, str, list[Job], float]  # (name, "echo" or "server", jobs, seconds they are spread over)


START = 0.3  # a phase's schedule begins this long after all clients are ready


async def _client(k: int, clients: int, args: argparse.Namespace, bases: dict[str, str], phases: list[Phase],
                  barrier: Any) -> dict[str, tuple[list, float, float]]:
    """Client process ``k`` of ``clients``: readers k, k + clients, ...; every phase begins together.

    For each phase: (status and latency of each of its requests, when the last ended, CPU seconds used).
    """
    loop = asyncio.get_running_loop()
    mine = range(k, args.readers, clients)
    readers = {target: {n: Reader(n, base) for n in mine} for target, base in bases.items()}
    results = {}
    for name, target, jobs, spread in phases:
        ready = [(i, readers[target][n], readers[target][n].prepare(method, path, **kw))
                 for i, n, method, path, kw in jobs if n % clients == k]
        await loop.run_in_executor(None, barrier.wait)  # every client ready: the phase begins
        at, step = time.perf_counter() + START, spread / max(len(jobs), 1)
        cpu = time.process_time()
        got = await asyncio.gather(*(reader.send(request, at + i * step) for i, reader, request in ready))
        results[name] = (list(got), time.perf_counter(), time.process_time() - cpu)
        await loop.run_in_executor(None, barrier.wait)  # every client done: the phase ends
    await asyncio.gather(*(reader.client.aclose() for group in readers.values() for reader in group.values()))
    return results


def _client_process(k: int, clients: int, args: argparse.Namespace, bases: dict[str, str], phases: list[Phase],
                    barrier: Any, out: Any) -> None:
    from newsletter.server_guard import allow_open_files

    allow_open_files(2 * args.readers // clients + 200)
    out.put((k, asyncio.run(_client(k, clients, args, bases, phases, barrier))))


def _run_phases(args: argparse.Namespace, bases: dict[str, str], pids: dict[str, int], phases: list[Phase]
                ) -> dict[str, tuple[list[tuple[int, float]], float, float, float]]:
    """Run the phases from ``args.clients`` processes; per phase: (status and latency of each request,
    seconds, CPU seconds of the server measured, of all clients)."""
    context = multiprocessing.get_context("fork")
    barrier, out = context.Barrier(args.clients + 1), context.Queue()
    processes = [context.Process(target=_client_process, args=(k, args.clients, args, bases, phases, barrier, out))
                 for k in range(args.clients)]
    for process in processes:
        process.start()
    began, server_cpu = {}, {}
    try:
        for name, target, _, _ in phases:
            barrier.wait(timeout=900)
            began[name], cpu = time.perf_counter() + START, _cpu_seconds(pids[target])
            barrier.wait(timeout=900)
            server_cpu[name] = _cpu_seconds(pids[target]) - cpu
        parts = dict(out.get(timeout=120) for _ in processes)
    except threading.BrokenBarrierError:
        raise SystemExit("FAIL: a client process stopped") from None
    finally:
        for process in processes:
            process.join(30)
    return {name: ([r for part in parts.values() for r in part[name][0]],
                   max(part[name][1] for part in parts.values()) - began[name], server_cpu[name],
                   sum(part[name][2] for part in parts.values()))
            for name, *_ in phases}


def _summary(label: str, results: list[tuple[int, float]], elapsed: float, server_cpu: float, client_cpu: float
             ) -> tuple[float, float, float]:
    latencies = sorted(latency for _, latency in results)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    rate = len(results) / elapsed
    print(f"{label:<8} {len(results):>6} requests in {elapsed:6.2f} s = {rate:6.0f}/s   "
          f"p50 {p50 * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   max {latencies[-1] * 1000:7.1f} ms   "
          f"CPU/request: server {server_cpu / len(results) * 1000:4.2f} ms, client {client_cpu / len(results) * 1000:4.2f} ms")
    return rate, p50, p99


def _sign_up(address: str, n: int) -> dict:
    return {"data": {"email": address, "name": f"Reader {n}"}, "headers": {"User-Agent": "signup-load/2"}}


def _plan(args: argparse.Namespace) -> tuple[list[Phase], int]:
    """The phases, and how many distinct addresses they sign up."""
    rng = random.Random(47)
    count = int(args.rate * args.seconds)
    unique = count - int(count * args.duplicates)
    addresses = [f"reader{i:06d}@example.com" for i in range(unique)]
    plan = addresses + [a.upper() for a in rng.sample(addresses, count - unique)]
    rng.shuffle(plan)
    steady: list[Job] = [(i, i % args.readers, "POST", "/subscribe", _sign_up(a, i)) for i, a in enumerate(plan)]
    opening: list[Job] = [(n, n, "GET", "/subscribe", {}) for n in range(args.readers)]
    burst: list[Job] = [(0, n, "POST", "/subscribe", _sign_up(f"burst{n:05d}@example.com", n))
                        for n in range(args.readers)]
    healthz: list[Job] = [(i, n, "GET", "/healthz", {}) for i, n, *_ in steady]
    phases = [("floor open", "echo", opening, 2.0), ("floor", "echo", steady, args.seconds),
              ("open", "server", opening, 2.0), ("steady", "server", steady, args.seconds),
              ("burst", "server", burst, 0.0), ("peer", "server", healthz, args.seconds)]
    return phases, unique + args.readers


def _check_store(root: Path, expected: int, limit: float) -> tuple[int, int, int]:
    """(reader rows, distinct addresses, confirmation mails) once the server's mail queue is empty."""
    from newsletter.workspace import Workspace
    from subscribers.mailqueue import queued

    ws = Workspace(root)
    deadline = time.monotonic() + limit

    def waiting() -> int:  # sign-ups not yet registered, and mails not yet sent
        return ws.db.execute("SELECT COUNT(*) FROM signup_intake").fetchone()[0] + queued(ws)

    while waiting() and time.monotonic() < deadline:
        time.sleep(0.2)
    rows, distinct = ws.db.execute("SELECT COUNT(*), COUNT(DISTINCT email_normalized) FROM subscribers").fetchone()
    mails = len(mailbox.Maildir(ws.path(ws.settings.delivery.maildir), create=True))
    integrity = ws.db.execute("PRAGMA integrity_check").fetchone()[0]
    ws.close()
    if integrity != "ok":
        raise SystemExit(f"FAIL: integrity_check says {integrity}")
    return rows, distinct, mails


def _record(figures: dict[str, tuple[float, float, float]], args: argparse.Namespace) -> None:
    """Steady sign-ups against the trivial server's floor (goals >= 500/s, p99 <= 1 s: not in --quick)."""
    from bench.harness import Figure, record

    (rate, _, p99), (floor_rate, _, floor_p99) = figures["steady"], figures["floor"]
    full = not args.quick
    record("signup_load", [
        Figure(f"sign-ups/s, {args.readers:,} concurrent readers", rate, floor_rate, "req/s", "trivial asyncio server",
               goal=500 if full else None, goal_of="value"),
        Figure("sign-up p99 at that rate (s)", p99, floor_p99, "s", "trivial asyncio server", higher_is_better=False,
               goal=1.0 if full else None, goal_of="value"),
        Figure(f"burst: {args.readers:,} sign-ups at once, p99 (s)", figures["burst"][2], None, "s",
               higher_is_better=False),
    ], quick=args.quick, notes=f"schedule {args.rate:g} sign-ups/s for {args.seconds:g} s; newsletter serve as shipped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=2000, help="concurrent clients, one connection each (2000)")
    parser.add_argument("--rate", type=float, default=600, help="sign-ups per second in the steady phase (600)")
    parser.add_argument("--seconds", type=float, default=10, help="length of the steady phase (10)")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share that repeat an address (0.1)")
    parser.add_argument("--clients", type=int, default=2, help="client processes sharing the readers (2: one per "
                        "core; one asyncio+httpx process needs ~1.3 ms of CPU a request and cannot drive 600/s alone)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 readers, 200/s for 3 s")
    parser.add_argument("--serve-command", metavar="SCRIPT ARGS", help="measure another server instead: a Python "
                        "script and its arguments, {port} replaced (see bench/serve_variants.py)")
    parser.add_argument("--echo-server", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the floor's server
    args = parser.parse_args(argv)
    if args.echo_server:
        asyncio.run(_serve_echo(args.echo_server))
        return 0
    if args.quick:
        args.readers, args.rate, args.seconds = 300, 200, 3
    if not 1 <= args.readers <= 16_000:
        parser.error("--readers must be between 1 and 16000 (one loopback address each)")
    if not 1 <= args.clients <= args.readers:
        parser.error("--clients must be between 1 and --readers")
    os.environ.pop("NEWSLETTER_HOME", None)
    from newsletter.init import init_workspace
    from newsletter.server_guard import allow_open_files

    allow_open_files(2 * args.readers + 200)
    with tempfile.TemporaryDirectory(prefix="signup-load-") as tmp:
        root = Path(tmp) / "ws"
        init_workspace(root).close()
        port, echo_port = _free_port(), _free_port()
        server, echo = _start_server(root, port, Path(tmp) / "serve.log", args.serve_command), _start_echo(echo_port)
        try:
            label = args.serve_command or "newsletter serve (as shipped)"
            print(f"{label}, its own process, on port {port}; {args.readers} readers, each with "
                  f"its own address and connection; asyncio + httpx clients; load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            phases, unique = _plan(args)
            results = _run_phases(args, {"server": f"http://127.0.0.1:{port}", "echo": f"http://127.0.0.1:{echo_port}"},
                                  {"server": server.pid, "echo": echo.pid}, phases)
            if any(status != 200 for status, _ in results["open"][0]):
                raise SystemExit("FAIL: not every reader could load the form")
            rows, distinct, mails = _check_store(root, unique, 300)
        finally:
            for process in (server, echo):
                process.terminate()
                process.wait(30)
            warnings = (Path(tmp) / "serve.log").read_text(errors="replace").count("WARNING")
    print(f"load average after: {os.getloadavg()[0]:.1f}; server log: {warnings} warnings")
    figures = {name: _summary(name, *results[name]) for name in ("floor", "open", "steady", "burst", "peer")}
    statuses: dict[int, int] = {}
    for name in ("open", "steady", "burst", "peer"):
        for status, _ in results[name][0]:
            statuses[status] = statuses.get(status, 0) + 1
    print(f"HTTP statuses: {dict(sorted(statuses.items()))}")
    print(f"readers: {rows} rows, {distinct} distinct addresses (expected {unique}); "
          f"confirmation mails: {mails}; integrity_check ok")
    steady_rate, _, steady_p99 = figures["steady"]
    print(f"ratio: steady sign-up p99 is {steady_p99 / figures['peer'][2]:.2f}x the p99 of a bare GET /healthz "
          f"and {steady_p99 / figures['floor'][2]:.2f}x the trivial server's, at the same schedule")
    if not args.serve_command:
        _record(figures, args)
    failures = []
    if set(statuses) - {200}:
        failures.append(f"statuses other than 200: {sorted(set(statuses) - {200})}")
    if rows != unique or distinct != rows or mails != rows:
        failures.append(f"expected {unique} readers and mails, found {rows} rows, {mails} mails")
    if not args.quick and (steady_p99 > 1.0 or steady_rate < 500):
        failures.append(f"target missed: p99 {steady_p99:.2f} s (<= 1 s), {steady_rate:.0f}/s (>= 500)")
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("OK: no errors, one reader and one confirmation mail per address" +
          ("" if args.quick else ", steady p99 <= 1 s at >= 500 sign-ups/s"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
