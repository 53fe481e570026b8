"""The line between building mail and delivering it: envelope and bytes in, the server's answer out.

Like httpx's transports, one small class with one method on plain primitives, so
the sender does not care whether a message goes to Postfix, SES or a folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# One message for :meth:`Transport.send_many`: (caller's tag, envelope sender, recipients, bytes).
Outgoing = tuple[Any, str, list[str], bytes]


@dataclass(frozen=True)
class Reply:
    """The server's answer to one message: an SMTP code and its text."""

    code: int
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300


class CanonicalMessage(bytes):
    """Message bytes promised to use CRLF line ends only and to have no line starting with ``.``.

    Such a message is valid SMTP DATA as it stands, so the SMTP transport skips its
    line-end and dot-stuffing pass (two scans of the whole message) for it.
    """

    __slots__ = ()


class TransportError(Exception):
    """A message was not accepted.

    ``code`` is the SMTP reply code (0 when the connection failed before an answer),
    ``temporary`` says whether trying again later may succeed, ``recipient_level``
    whether the refusal concerns the recipient address (5.1.x), and
    ``connection_lost`` whether the transport must reconnect before the next send, and
    ``unreachable`` whether the server could not be reached or did not answer in time
    (the signs of a server that is down, as opposed to one that hung up once).
    """

    def __init__(
        self,
        code: int,
        text: str,
        *,
        temporary: bool | None = None,
        enhanced: str = "",
        connection_lost: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(f"{code} {enhanced + ' ' if enhanced else ''}{text}".strip())
        self.code = code
        self.text = text
        self.enhanced = enhanced
        self.temporary = (code == 0 or 400 <= code < 500) if temporary is None else temporary
        self.connection_lost = connection_lost or unreachable
        self.unreachable = unreachable

    @property
    def recipient_level(self) -> bool:
        """A permanent refusal of the address itself (``5.1.x``, or 550/551/553 without a status)."""
        if self.temporary:
            return False
        if self.enhanced:
            return self.enhanced.startswith("5.1.")
        return self.code in (550, 551, 553)


class Transport:
    """Base class: deliver one message; keep any connection open between calls."""

    def send(self, sender: str, recipients: list[str], message: bytes) -> Reply:
        """Deliver ``message`` from envelope ``sender`` to ``recipients``; raise :class:`TransportError`."""
        raise NotImplementedError

    def send_many(self, messages: Iterable[Outgoing],
                  before_body: Callable[[], None] | None = None) -> Iterator[tuple[Any, Reply | TransportError]]:
        """Deliver ``(tag, sender, recipients, message)`` items in turn, yielding ``(tag, reply or error)``.

        ``messages`` is read lazily, so a caller can decide about each item just before
        it goes out.  ``before_body`` is called before each message's content is sent
        (after the previous message's answer was yielded): a caller can hold the next
        message there until it has stored the last answer.  Transports that can overlap
        messages (SMTP pipelining) override this.
        """
        for tag, sender, recipients, message in messages:
            if before_body is not None:
                before_body()
            try:
                yield tag, self.send(sender, recipients, message)
            except TransportError as exc:
                yield tag, exc

    def check(self) -> None:
        """Make sure messages can go out now (connect, log in); raise :class:`TransportError` if not.

        A send calls it once before it starts, so a server that is down is one clear
        error instead of a failure per reader.
        """

    def close(self) -> None:
        """Release any connection; the transport may be used again afterwards."""

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
