"""The waitress main loop: no busy spin on a channel whose worker is sending, and no answer left behind."""

from __future__ import annotations

import http.client
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from waitress import wasyncore
from waitress.channel import HTTPChannel

from issues.web import create_app
from newsletter.server import _Channel
from newsletter.web import BackgroundServer, make_server
from newsletter.workspace import Workspace


def _accepted_channel(workspace: Workspace):
    """A real server with one real client connection accepted; (server, client socket, its channel)."""
    server = make_server(create_app(workspace), "127.0.0.1", 0, threads=1)
    client = socket.create_connection(("127.0.0.1", int(server.effective_port)), timeout=10)
    channels: list = []
    for _ in range(20):
        wasyncore.loop(timeout=0.1, map=server._map, count=1)
        channels = [c for c in server._map.values() if isinstance(c, _Channel)]
        if channels:
            break
    assert len(channels) == 1
    return server, client, channels[0]


def test_a_channel_whose_worker_holds_the_output_is_not_polled_for_writing(workspace: Workspace) -> None:
    server, client, channel = _accepted_channel(workspace)
    try:
        channel.requests.append(object())  # a task is running on the channel...
        channel.outbufs[-1].append(b"HTTP/1.1 200 OK\r\n")  # ...and has written part of its answer
        channel.total_outbufs_len = 17
        holding, done = threading.Event(), threading.Event()

        def worker_sending() -> None:
            with channel.outbuf_lock:  # what waitress's worker holds while it sends
                holding.set()
                done.wait(10)

        worker = threading.Thread(target=worker_sending)
        worker.start()
        assert holding.wait(10)
        # waitress's own answer would be True here: select returns at once, handle_write cannot send
        assert HTTPChannel.writable(channel)
        assert not channel.writable()
        done.set()
        worker.join(10)
        assert channel.writable()  # the lock is free: the loop may flush what the worker left
        channel.requests.clear()
        assert channel.writable()  # the task is over: the answer goes out
        channel.total_outbufs_len = 0
        assert not channel.writable()
        channel.close_when_flushed = True
        assert channel.writable()  # a channel to close is always handled
    finally:
        client.close()
        server.close()
        wasyncore.close_all(server._map)


def _fetch(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_big_and_many_answers_all_arrive_whole(workspace: Workspace) -> None:
    """A streamed answer far larger than a socket buffer, and many small ones at once, all complete."""
    app = create_app(workspace)
    chunk = b"x" * (1 << 20)
    app.add_url_rule("/big", "big", lambda: app.response_class((chunk for _ in range(8)), mimetype="text/plain"))
    with BackgroundServer(app, threads=4) as server:
        status, body = _fetch(server.port, "/big")
        assert status == 200 and len(body) == 8 << 20
        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(lambda _: _fetch(server.port, "/healthz"), range(200)))
    assert all(status == 200 and body == b"ok\n" for status, body in results)


def test_idle_kept_alive_connections_are_not_asked_on_every_pass(workspace: Workspace, monkeypatch) -> None:
    """waitress's poll loop asks every open connection readable()/writable() on each pass; ours only the busy ones."""
    asked: list[int] = []
    readable = _Channel.readable

    def counting(channel: _Channel) -> bool:
        asked.append(id(channel))
        return readable(channel)

    monkeypatch.setattr(_Channel, "readable", counting)
    with BackgroundServer(create_app(workspace), threads=2, connection_limit=200) as server:
        idle = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=30) for _ in range(100)]
        for conn in idle:  # each answers one request, then stays open and idle
            conn.request("GET", "/healthz")
            assert conn.getresponse().read() == b"ok\n"
        before = len(asked)
        for _ in range(30):
            status, _ = _fetch(server.port, "/healthz")
            assert status == 200
        later = len(asked) - before
        for conn in idle:
            conn.close()
    # 30 requests take well over 60 passes: asking the 100 idle connections on each would be 6,000+ calls;
    # here only the new connection (and at most one maintenance sweep of all) is asked.
    assert later < 30 * 10 + 110, later


def test_stop_twice_and_after_the_loop_ended(workspace: Workspace) -> None:
    """stop() never pulls a trigger the loop has already closed (it raised "Bad file descriptor")."""
    server = BackgroundServer(create_app(workspace), threads=2).start()
    assert _fetch(server.port, "/healthz")[0] == 200
    server.stop()
    server.stop()
