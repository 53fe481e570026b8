"""Limits waitress does not have: a deadline for receiving a whole request and a per-IP connection cap.

waitress reads requests on its main loop and only hands complete ones to worker
threads, so a slow client costs a socket, not a thread; but a client that sends one
header line every few seconds never goes idle long enough for ``channel_timeout``,
and enough of them used to fill ``connection_limit``.  Here a request (headers and
body) must arrive within ``request_timeout`` seconds of its first byte, and one
address may hold at most ``per_ip`` connections (off behind a proxy, where every
connection comes from the proxy: it must enforce its own, see README).
"""

from __future__ import annotations

import functools
import resource
import time
from collections import Counter
from typing import Any

from waitress.channel import HTTPChannel


class GuardedChannel(HTTPChannel):
    """A channel that remembers when the request it is reading began."""

    reading_since: float | None = None
    counted_ip: str | None = None

    def received(self, data: bytes) -> bool:
        if data and self.request is None:
            self.reading_since = time.monotonic()
        return bool(super().received(data))

    def too_slow(self, now: float, limit: float) -> bool:
        """Still reading a request (no complete one waiting) that began more than ``limit`` seconds ago."""
        return (self.request is not None and not self.requests and self.reading_since is not None
                and now - self.reading_since > limit)

    def del_channel(self, map: Any = None) -> None:
        ip, self.counted_ip = self.counted_ip, None
        if ip is not None:
            counts: Counter = self.server.connections_by_ip
            counts[ip] -= 1
            if counts[ip] <= 0:
                del counts[ip]
        super().del_channel(map)


def _accept(channel_class: type, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> Any:
    """waitress's ``channel_class(...)`` call on accept: refuse an address over its cap by closing at once."""
    ip = addr[0] if isinstance(addr, tuple) and addr else None
    counts: Counter = server.connections_by_ip
    if ip is not None and server.per_ip_limit and counts[ip] >= server.per_ip_limit:
        sock.close()
        return None
    channel = channel_class(server, sock, addr, adj, map=map)
    if ip is not None:
        counts[ip] += 1
        channel.counted_ip = ip
    return channel


def _maintenance(server: Any, original: Any, now: float) -> None:
    """waitress's idle sweep, plus: close connections whose request is taking too long to arrive."""
    original(now)
    monotonic = time.monotonic()
    for channel in list(server.active_channels.values()):
        if isinstance(channel, GuardedChannel) and channel.too_slow(monotonic, server.request_timeout):
            channel.will_close = True  # the loop closes it on its next pass (it reports writable)


def guard(listener: Any, channel_class: type[GuardedChannel], *, request_timeout: float, per_ip: int) -> None:
    """Fit one waitress listener with the limits above (``per_ip=0``: no cap)."""
    listener.channel_class = functools.partial(_accept, channel_class)
    listener.connections_by_ip = Counter()
    listener.per_ip_limit = per_ip
    listener.request_timeout = request_timeout
    listener.maintenance = functools.partial(_maintenance, listener, listener.maintenance)


def allow_open_files(wanted: int) -> None:
    """Raise this process's open-file limit towards ``wanted`` (as far as the hard limit allows)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
