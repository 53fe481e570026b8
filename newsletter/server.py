"""The waitress server we run: poll instead of select, limits for slow clients, and its own error answers.

``newsletter serve``, the preview, tests and benchmarks all get their server from
:func:`make_server` (or :class:`BackgroundServer`, the same on a thread), with the
limits of ``[web]`` from :func:`waitress_options`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from waitress import wasyncore
from waitress.task import ErrorTask

from .errors import ConfigError
from .server_guard import GuardedChannel, allow_open_files, guard
from .server_loop import ChannelMap, NudgingChannel, fit_loop
from .workspace import Workspace

# On the few answers waitress gives by itself (a body far too large, a malformed request).
SERVER_ERROR_HEADERS = [
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
]

class _Sparse(logging.Filter):
    """One record per ``every`` seconds: waitress warns "Task queue depth is N" on every request queued
    while its threads are busy, thousands of lines a second under a burst (and CPU taken from answers)."""

    def __init__(self, every: float = 10.0) -> None:
        super().__init__()
        self.every = every
        self.next = 0.0
        self.left_out = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now < self.next:
            self.left_out += 1
            return False
        self.next = now + self.every
        if self.left_out:
            record.msg = f"{record.msg} (and %d more such warnings)"
            record.args = (*(record.args if isinstance(record.args, tuple) else ()), self.left_out)
            self.left_out = 0
        return True


_QUEUE_LOG = logging.getLogger("waitress.queue")
if not any(isinstance(f, _Sparse) for f in _QUEUE_LOG.filters):
    _QUEUE_LOG.addFilter(_Sparse())


class _HeadedErrorTask(ErrorTask):
    """waitress's own error answer (413, 400, 431...) with the security headers every answer carries."""

    def execute(self) -> None:
        self.response_headers.extend(SERVER_ERROR_HEADERS)
        super().execute()


class _Channel(NudgingChannel, GuardedChannel):
    """waitress's channel, minus a busy loop: not writable while its running task holds the output lock.

    A worker sends its answer itself, holding the channel's output lock; meanwhile
    waitress still asks ``select`` about the channel, ``select`` says writable at once,
    ``handle_write`` cannot take the lock and sends nothing, and the main loop spins over
    every open socket holding the interpreter lock, starving the very worker it waits
    for (sign-ups, serialised on the database write lock, fell from ~770 to ~45 a second
    at 200 open connections).  Every task's end pulls the trigger, so an answer never
    waits; at worst a streamed answer's unsent rest waits for the worker's next write.
    """

    error_task_class = _HeadedErrorTask

    def writable(self) -> bool:
        if not self.requests or self.will_close or self.close_when_flushed:
            return bool(super().writable())
        if not self.total_outbufs_len or not self.outbuf_lock.acquire(False):
            return False
        self.outbuf_lock.release()
        return True


def make_server(app: Any, host: str, port: int, *, request_timeout: float = 10.0, per_ip: int = 0,
                **adjustments: Any) -> Any:
    """A waitress server for ``app`` listening on ``host:port`` (not yet running; call ``run()``).

    ``request_timeout`` and ``per_ip`` as in :mod:`newsletter.server_guard`.  A port in use
    or a bad host is a :class:`ConfigError` saying what to change.
    """
    from waitress.server import create_server

    adjustments.setdefault("asyncore_use_poll", True)  # select() fails on descriptors above 1,024
    allow_open_files(int(adjustments.get("connection_limit", 100)) + 100)
    channels = ChannelMap()
    try:
        server = create_server(app, map=channels, host=host, port=port, **adjustments)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"cannot listen on {host}:{port} ({reason}); choose another --port (or --host), "
                          "or stop what is using it") from None
    for listener in (server, *getattr(server, "map", {}).values()):  # a MultiSocketServer holds several
        if hasattr(listener, "channel_class"):
            guard(listener, _Channel, request_timeout=request_timeout, per_ip=per_ip)
    fit_loop(server, channels)
    return server


class BackgroundServer:
    """A waitress server for ``app`` on a thread: for ``newsletter preview``, tests and benchmarks.

    ``port=0`` picks a free port; :attr:`url` says where it listens.  Use as a context
    manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, **adjustments: Any) -> None:
        adjustments.setdefault("threads", 8)
        adjustments.setdefault("ident", "newsletter")
        self.server = make_server(app, host, port, **adjustments)
        self.host = host
        self.port = int(self.server.effective_port)  # type: ignore[union-attr]
        self._stopping = threading.Event()
        self._closing = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"waitress:{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        """The server's loop, one pass at a time, so :meth:`stop` can end it from its own thread."""
        server = self.server
        loop = server.asyncore  # type: ignore[union-attr]  # waitress's wasyncore, or our epoll loop
        while not self._stopping.is_set():
            loop.loop(timeout=1.0, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1)  # type: ignore[union-attr]
        server.task_dispatcher.shutdown(timeout=10)  # type: ignore[union-attr]
        with self._closing:  # no stop() is pulling the trigger while it closes
            self._closed = True
            wasyncore.close_all(server._map)  # type: ignore[union-attr]
            if hasattr(loop, "epoll_loop"):
                loop.epoll_loop.close()

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the loop and wait for it; running requests finish first (up to 10 s)."""
        with self._closing:
            self._stopping.set()
            if not self._closed:
                self.server.pull_trigger()  # type: ignore[union-attr]  # wake the loop at once
        if self._thread.is_alive():
            self._thread.join(timeout=15)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def waitress_options(ws: Workspace) -> dict[str, Any]:
    """waitress adjustments from ``[web]`` (and :func:`make_server`'s own limits).

    waitress refuses bodies far over the limit before buffering them; the app itself
    answers the ones just over it with the friendly 413 page.
    """
    web = ws.settings.web
    request_timeout = float(web.request_timeout)
    options: dict[str, Any] = {
        "threads": int(web.threads),
        "max_request_body_size": max(10 * int(web.max_body_bytes), 1 << 20),
        "ident": "newsletter",
        "channel_timeout": 60,
        "connection_limit": int(web.max_connections),
        "backlog": 2048,
        "asyncore_use_poll": True,
        "cleanup_interval": max(1, min(30, int(request_timeout / 2))),  # how often slow requests are swept
        "request_timeout": request_timeout,
        # behind a proxy every connection is the proxy's: the cap is its job there (README)
        "per_ip": 0 if int(web.trusted_proxies) > 0 else int(web.connections_per_ip),
    }
    if int(web.trusted_proxies) > 0:  # the app's ProxyFix reads X-Forwarded-*; waitress must pass them on
        options["clear_untrusted_proxy_headers"] = False
    return options
