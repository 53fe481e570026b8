"""A real SMTP server on loopback (aiosmtpd) with answers a script sets: for the tests and the send benchmark.

    with SmtpSink() as sink:
        sink.answer("greylisted@example.org", "451 4.7.1 Try again later")   # once, then accepted
        sink.always("gone@example.org", "550 5.1.1 No such user")
        sink.drop_at(5)                      # hang up on the 5th DATA, storing nothing
        ... send to 127.0.0.1:sink.port ...
        sink.count("someone@example.org")    # copies accepted for that recipient

Used by the send and inbound (bounce) tests (``tests/smtp_sink.py`` re-exports it) and
by ``bench/scripted_sink.py``, which runs it in a process of its own.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


@dataclass(frozen=True)
class Received:
    """One message the sink accepted: envelope and raw bytes (CRLF line ends as sent)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    mail_options: tuple[str, ...] = ()

    def parse(self) -> EmailMessage:
        """The message parsed by the standard library (modern policy)."""
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


class ScriptedHandler:
    """aiosmtpd handler: records accepted messages and answers as scripted."""

    def __init__(self, pipelining: bool = True, keep_bodies: bool = True) -> None:
        self.pipelining = pipelining
        self.keep_bodies = keep_bodies  # False: only envelopes are kept (a benchmark's thousands of messages)
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self._once: dict[str, collections.deque[str]] = collections.defaultdict(collections.deque)
        self._always: dict[str, str] = {}
        self.reply_everyone: str | None = None
        self._drops: set[int] = set()
        self.hang_from: int | None = None
        self._delays: dict[str, float] = {}
        self.data_commands = 0
        self.connections = 0
        self.open_connections = 0  # sessions whose client has not closed or been cut off yet
        self.greylist_every = 0  # answer 451 to the first RCPT of one distinct recipient in this many
        self._greylisted: set[str] = set()
        self.greylist_domains: set[str] = set()  # answer 451 to the first RCPT of every recipient at these
        self.on_message: Callable[[Received], None] | None = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        if self.pipelining and "250-PIPELINING" not in responses:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        key = address.lower()
        delay = self._delays.get(key.rpartition("@")[2])
        if delay:
            await asyncio.sleep(delay)
        with self.lock:
            queued = self._once.get(key)
            reply = queued.popleft() if queued else self._always.get(key) or self.reply_everyone
            if not reply and key not in self._greylisted and (
                    key.rpartition("@")[2] in self.greylist_domains
                    or (self.greylist_every and zlib.crc32(key.encode()) % self.greylist_every == 0)):
                self._greylisted.add(key)
                reply = "451 4.7.1 Greylisted, please try again later"
        if reply:
            if reply.startswith("421"):
                await server.push(reply)
                server.transport.close()
                return "421 closing"  # never seen: the connection is gone
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.data_commands += 1
            drop = self.data_commands in self._drops
            hang = self.hang_from is not None and self.data_commands >= self.hang_from
        if hang:
            await asyncio.sleep(3600)  # the body arrived; the answer never comes
        if drop:
            server.transport.abort()
            await asyncio.sleep(3600)  # cancelled by connection_lost
        content = envelope.original_content or envelope.content
        received = Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(content) if self.keep_bodies else b"",
                            tuple(envelope.mail_options))
        with self.lock:
            self.messages.append(received)
        if self.on_message is not None:
            self.on_message(received)
        return "250 2.0.0 Ok: queued"


class _CountingSMTP(SMTP):
    """aiosmtpd's session, counting open connections, so a test can wait until a killed client's are closed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        with self.event_handler.lock:
            self.event_handler.connections += 1
            self.event_handler.open_connections += 1
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        with self.event_handler.lock:
            self.event_handler.open_connections -= 1


class _CountingController(Controller):
    def factory(self) -> SMTP:
        return _CountingSMTP(self.handler, **self.SMTP_kwargs)


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 (free port) driven by a :class:`ScriptedHandler`."""

    def __init__(self, pipelining: bool = True, smtputf8: bool = False, *, port: int | None = None,
                 keep_bodies: bool = True) -> None:
        self.handler = ScriptedHandler(pipelining, keep_bodies)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.controller = _CountingController(
            self.handler, hostname=self.host, port=self.port, server_hostname="sink.test", ready_timeout=10,
            enable_SMTPUTF8=smtputf8,
        )

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    # -- scripting ------------------------------------------------------------------------------

    def answer(self, address: str, *replies: str) -> None:
        """Answer the next RCPTs for ``address`` with ``replies`` in turn, then accept it."""
        with self.handler.lock:
            self.handler._once[address.lower()].extend(replies)

    def always(self, address: str, reply: str) -> None:
        """Answer every RCPT for ``address`` with ``reply`` (e.g. ``"550 5.1.1 No such user"``)."""
        with self.handler.lock:
            self.handler._always[address.lower()] = reply

    def clear(self, address: str) -> None:
        """Forget every scripted answer for ``address``: accept it again."""
        with self.handler.lock:
            self.handler._once.pop(address.lower(), None)
            self.handler._always.pop(address.lower(), None)

    def refuse_everyone(self, reply: str | None) -> None:
        """Answer every RCPT with ``reply`` (None: back to accepting)."""
        with self.handler.lock:
            self.handler.reply_everyone = reply

    def drop_at(self, *data_numbers: int) -> None:
        """Drop the connection, without answering or storing, at these DATA commands (1-based, all sessions)."""
        with self.handler.lock:
            self.handler._drops.update(data_numbers)

    def hang_from(self, data_number: int | None) -> None:
        """From this DATA on (1-based, all sessions), take the message and never answer (None: answer again)."""
        with self.handler.lock:
            self.handler.hang_from = data_number

    def greylist(self, every: int) -> None:
        """Plain greylisting: 451 to the first RCPT of one distinct recipient in ``every`` (by a hash of
        the address, so the same ones each run); its retry is accepted.  0: none."""
        with self.handler.lock:
            self.handler.greylist_every = every

    def greylist_domain(self, domain: str) -> None:
        """Greylist every new sender at ``domain``: 451 to each recipient's first RCPT there, then accepted."""
        with self.handler.lock:
            self.handler.greylist_domains.add(domain.lower())

    def was_greylisted(self, address: str) -> bool:
        """Whether ``address`` has had its greylisting 451 (so a message accepted now is its retry)."""
        with self.handler.lock:
            return address.lower() in self.handler._greylisted

    def slow_domain(self, domain: str, seconds: float) -> None:
        """Answer every RCPT for an address at ``domain`` only after ``seconds``."""
        with self.handler.lock:
            self.handler._delays[domain.lower()] = seconds

    # -- results --------------------------------------------------------------------------------

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def open_connections(self) -> int:
        with self.handler.lock:
            return self.handler.open_connections

    def wait_closed(self, limit: float = 10.0) -> bool:
        """Wait until every client connection is closed (a killed sender's included), so that what it
        had written is read and counted; False if some are still open after ``limit`` seconds."""
        deadline = time.monotonic() + limit
        while self.open_connections and time.monotonic() < deadline:
            time.sleep(0.005)
        return not self.open_connections

    def counts(self) -> collections.Counter[str]:
        """How many copies each recipient got."""
        return collections.Counter(r.lower() for m in self.messages for r in m.rcpt_tos)

    def count(self, address: str) -> int:
        return self.counts()[address.lower()]

    def settings_env(self) -> dict[str, str]:
        """Environment that points a workspace's SMTP transport at this sink."""
        return {
            "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
            "NEWSLETTER_SMTP_HOST": self.host,
            "NEWSLETTER_SMTP_PORT": str(self.port),
            "NEWSLETTER_SMTP_SECURITY": "none",
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
