"""Slow clients (one header line every second, for ever) cannot starve the server we ship."""

from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest

from issues.web import create_app
from newsletter.web import BackgroundServer, waitress_options
from newsletter.workspace import Workspace

SLOW_CLIENTS = 150


class _Trickle:
    """``count`` connections from ``source`` that each send one more header line every second."""

    def __init__(self, port: int, count: int, source: str = "127.0.0.1") -> None:
        self.sockets = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
            self.sockets.append(sock)
        self.closed: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for sock in self.sockets:
            self._send(sock, b"POST /subscribe HTTP/1.1\r\nHost: localhost\r\n")
        line = 0
        while not self._stop.wait(1.0):
            line += 1
            for sock in self.sockets:
                self._send(sock, f"X-Slow-{line}: still typing\r\n".encode())

    def _send(self, sock: socket.socket, data: bytes) -> None:
        if sock.fileno() in self.closed:
            return
        try:
            sock.sendall(data)
        except OSError:
            self.closed.add(sock.fileno())

    def wait_until_all_closed(self, limit: float) -> int:
        """How many connections the server has closed, waiting up to ``limit`` seconds for all of them."""
        deadline = time.monotonic() + limit
        shut = set()
        while len(shut) < len(self.sockets) and time.monotonic() < deadline:
            for n, sock in enumerate(self.sockets):
                if n in shut:
                    continue
                sock.settimeout(0.05)
                try:
                    if sock.recv(4096) == b"":
                        shut.add(n)
                except TimeoutError:
                    pass
                except OSError:
                    shut.add(n)
        return len(shut)

    def __enter__(self) -> _Trickle:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()


def _healthz(port: int, source: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.fixture
def server(workspace: Workspace, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NEWSLETTER_WEB_REQUEST_TIMEOUT", "3")
    ws = Workspace(workspace.root)
    with BackgroundServer(create_app(ws), **waitress_options(ws)) as running:
        yield running


def test_a_normal_request_is_answered_while_150_slow_clients_trickle(server) -> None:
    with _Trickle(server.port, SLOW_CLIENTS, source="127.0.0.2") as slow:
        for _ in range(8):  # for longer than a slow request may take
            assert _healthz(server.port, "127.0.0.1") == 200
            time.sleep(0.5)
        # Every slow connection is closed: over the per-IP cap at once, the rest at the request deadline.
        assert slow.wait_until_all_closed(60) == SLOW_CLIENTS
    assert _healthz(server.port, "127.0.0.2") == 200  # the address may come back once it behaves


def test_one_address_holds_at_most_connections_per_ip(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_WEB_CONNECTIONS_PER_IP", "5")
    monkeypatch.setenv("NEWSLETTER_WEB_REQUEST_TIMEOUT", "60")
    ws = Workspace(workspace.root)
    with BackgroundServer(create_app(ws), **waitress_options(ws)) as server, \
            _Trickle(server.port, 12, source="127.0.0.3") as slow:
        time.sleep(1.5)
        assert slow.wait_until_all_closed(3) == 7  # the five first stay open (the request deadline is far)
        assert _healthz(server.port, "127.0.0.4") == 200


def test_behind_a_proxy_the_cap_is_the_proxys_job(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_WEB_TRUSTED_PROXIES", "1")
    options = waitress_options(Workspace(workspace.root))
    assert options["per_ip"] == 0 and options["request_timeout"] == 10.0
    assert options["asyncore_use_poll"] is True and options["connection_limit"] >= 2000
