"""waitress's main loop on epoll, asking only the sockets that may have changed what they wait for.

waitress's own loop (``wasyncore.poll2``) builds a new poll set on every pass, asking every
open connection ``readable()`` and ``writable()`` in Python: with 2,000 kept-alive readers
each pass costs milliseconds, a request needs several passes, and throughput collapses.
Here the kernel keeps the registrations and a pass re-asks only the sockets that had an
event, came or went, or were nudged: a worker thread that changed a connection's state
(an answer written, a request finished) names it when it pulls waitress's trigger.  An
idle kept-alive connection changes only by an event of its own or by the server's
maintenance sweep (idle and too-slow connections marked for closing), after which every
socket is re-asked; the listeners are re-asked on every pass (their connection limit).
"""

from __future__ import annotations

import collections
import functools
import select
import threading
from typing import Any

from waitress import wasyncore

_READ = select.POLLIN | select.POLLPRI  # the values epoll and wasyncore.readwrite share
_WRITE = select.POLLOUT
_serving = threading.local()  # the connection a worker thread is serving, if any


class ChannelMap(dict):
    """waitress's map of descriptor -> dispatcher, noting which entries came and went (main thread only)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed: set[int] = set()

    def __setitem__(self, fd: int, obj: Any) -> None:
        super().__setitem__(fd, obj)
        self.changed.add(fd)

    def __delitem__(self, fd: int) -> None:
        super().__delitem__(fd)
        self.changed.add(fd)

    def clear(self) -> None:
        self.changed.update(self)
        super().clear()


class EpollLoop:
    """One epoll set kept in step with a :class:`ChannelMap`; :meth:`once` is one pass of the loop."""

    def __init__(self, map: ChannelMap) -> None:
        self.map = map
        self.epoll = select.epoll()
        self.registered: dict[int, tuple[Any, int]] = {}  # fd -> (dispatcher, mask), as epoll knows them
        self.watch: set[int] = set(map)  # to re-ask before the next wait
        self.listeners: set[int] = set()  # re-asked before every wait
        self.nudged: collections.deque[int] = collections.deque()  # from worker threads

    def _forget(self, fd: int) -> None:
        self.registered.pop(fd, None)
        try:
            self.epoll.unregister(fd)
        except OSError:  # already closed (epoll dropped it then), or the number now belongs to a new socket
            pass

    def _update(self, fd: int) -> bool:
        """Bring fd's registration in line with what its dispatcher now waits for; True if the sweep is due."""
        obj = self.map.get(fd)
        known = self.registered.get(fd)
        if known is not None and known[0] is not obj:
            self._forget(fd)
            known = None
        if obj is None:
            self.listeners.discard(fd)
            return False
        cleanup = getattr(obj, "next_channel_cleanup", None)
        mask = _READ if obj.readable() else 0
        if not obj.accepting and obj.writable():
            mask |= _WRITE
        swept = cleanup is not None and getattr(obj, "next_channel_cleanup", None) != cleanup
        if known is None:
            if mask:
                self.epoll.register(fd, mask)
                self.registered[fd] = (obj, mask)
        elif mask != known[1]:
            if mask:
                self.epoll.modify(fd, mask)
                self.registered[fd] = (obj, mask)
            else:  # waiting for nothing: unregistered, or a hang-up would be reported on every pass
                self._forget(fd)
        if obj.accepting:
            self.listeners.add(fd)
        return swept

    def once(self, timeout: float) -> None:
        """Re-ask what may have changed, wait up to ``timeout`` seconds, handle the events."""
        watch = self.watch
        watch |= self.map.changed
        self.map.changed.clear()
        watch |= self.listeners
        nudged = self.nudged
        while nudged:
            watch.add(nudged.popleft())
        swept = False
        for fd in watch:
            swept = self._update(fd) or swept
        watch.clear()
        if swept:  # maintenance may have marked any connection for closing
            for fd in list(self.map):
                self._update(fd)
        try:
            events = self.epoll.poll(timeout)
        except InterruptedError:
            return
        for fd, flags in events:
            known = self.registered.get(fd)
            if known is None or self.map.get(fd) is not known[0]:
                continue  # closed earlier in this pass
            wasyncore.readwrite(known[0], flags)
            watch.add(fd)

    def close(self) -> None:
        self.epoll.close()


class NudgingChannel:
    """Mixin for waitress's channel: while a worker serves it, the trigger it pulls names it to the loop."""

    _fileno: int | None

    def service(self) -> None:
        _serving.fd = self._fileno
        try:
            super().service()  # type: ignore[misc]
        finally:
            _serving.fd = None


def _pull_trigger(listener: Any, loop: EpollLoop) -> None:
    """The listener's ``pull_trigger``: wake the loop, naming the connection this thread is serving."""
    fd = getattr(_serving, "fd", None)
    if fd is not None:
        loop.nudged.append(fd)
    listener.trigger.pull_trigger()


class EpollShim:
    """What waitress calls ``server.asyncore``: its dispatcher class, and a ``loop`` running on epoll."""

    dispatcher = wasyncore.dispatcher

    def __init__(self, map: ChannelMap) -> None:
        self.epoll_loop = EpollLoop(map)

    def loop(self, timeout: float = 30.0, use_poll: bool = False, map: Any = None, count: int | None = None) -> None:
        """wasyncore.loop's contract: pass after pass while the map holds anything (``count`` passes at most)."""
        while self.epoll_loop.map and (count is None or count > 0):
            self.epoll_loop.once(timeout)
            if count is not None:
                count -= 1


def fit_loop(server: Any, map: ChannelMap) -> None:
    """Run ``server`` (made by waitress's ``create_server`` with ``map``, its channels
    :class:`NudgingChannel`) on an epoll loop, where the system has one."""
    if not hasattr(select, "epoll"):
        return
    shim = EpollShim(map)
    server.asyncore = shim
    for listener in (server, *map.values()):  # a MultiSocketServer holds several listeners
        if getattr(listener, "accepting", False):
            listener.pull_trigger = functools.partial(_pull_trigger, listener, shim.epoll_loop)
