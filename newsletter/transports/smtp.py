"""SMTP delivery over one reused connection, pipelining each envelope when the server allows it.

A small client on a plain socket instead of ``smtplib``: with PIPELINING (RFC 2920)
``MAIL``, ``RCPT`` and ``DATA`` travel in one write, and :meth:`SMTPTransport.send_many`
sends each message's end together with the next envelope, so a message costs one
round trip instead of smtplib's four; that is most of the difference at thousands
of messages a second.  Replies become :class:`Reply` or :class:`TransportError`.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .base import CanonicalMessage, Outgoing, Reply, Transport, TransportError
from .smtp_session import CLOSING_CODES, SECURITY_MODES, Dropped, SMTPSession

if TYPE_CHECKING:
    from ..settings import Settings

log = logging.getLogger(__name__)

__all__ = ["SECURITY_MODES", "SMTPTransport", "prepare_data", "refuse_plain_password"]

_BARE_NEWLINE = re.compile(rb"\r?\n")


def prepare_data(message: bytes) -> bytes:
    """The DATA payload: CRLF line ends, leading dots doubled (RFC 5321 4.5.2), ``.`` terminator."""
    if isinstance(message, CanonicalMessage):
        return message + b".\r\n" if message.endswith(b"\r\n") else message + b"\r\n.\r\n"
    if message.count(b"\n") != message.count(b"\r\n"):
        message = _BARE_NEWLINE.sub(b"\r\n", message)
    if message.startswith(b"."):
        message = b"." + message
    message = message.replace(b"\r\n.", b"\r\n..")
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return message + b".\r\n"


def refuse_plain_password(settings: Settings) -> None:
    """:class:`ConfigError` when ``[smtp]`` would send a password in clear without the editor's say-so."""
    smtp = settings.smtp
    if smtp.username and smtp.security == "none" and not smtp.allow_plain_password:
        raise ConfigError(
            f"[smtp] security = 'none' with a username would send the password to {smtp.host} unencrypted; "
            "use security = 'starttls' (port 587) or 'tls' (port 465), or set [smtp] allow_plain_password = "
            "true if the network to the relay is trusted")


class SMTPTransport(SMTPSession, Transport):
    """Deliver through one SMTP server, keeping the connection open between messages.

    ``security`` is ``none`` (plain), ``starttls`` (upgrade after EHLO; refuse to go
    on without it) or ``tls`` (TLS from the first byte, usually port 465).  A dropped
    connection is reopened on the next :meth:`send`.
    """

    @classmethod
    def from_settings(cls, settings: Settings) -> SMTPTransport:
        """A transport from the ``[smtp]`` section (password from ``NEWSLETTER_SMTP_PASSWORD``).

        A login over a connection without TLS is refused unless ``allow_plain_password`` says so.
        """
        smtp = settings.smtp
        refuse_plain_password(settings)
        return cls(
            smtp.host,
            smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=smtp.password,
            timeout=float(smtp.timeout),
            ssl_context=ssl.create_default_context(cafile=smtp.cafile) if smtp.cafile else None,
        )


    def send(self, sender: str, recipients: list[str], message: bytes) -> Reply:
        """Deliver one message; on a reused connection found dead before the body went out, retry once."""
        data = prepare_data(message)
        for attempt in (1, 2):
            reused = self._sock is not None and self.messages_on_connection > 0
            if self._sock is None:
                self.connect()
            try:
                reply = self._transaction(sender, recipients, data)
            except Dropped as exc:
                if attempt == 1 and reused and exc.before_body:
                    log.debug("%s: reused connection was closed; reconnecting", self.where)
                    continue
                raise exc.error from None
            return reply
        raise AssertionError("unreachable")

    def _mail_command(self, sender: str, recipients: list[str], data: bytes) -> bytes:
        params = ""
        if "size" in self.extensions:
            params += f" SIZE={len(data)}"
        if "8bitmime" in self.extensions and not data.isascii():
            params += " BODY=8BITMIME"
        if not (sender.isascii() and all(r.isascii() for r in recipients)):
            params += " SMTPUTF8"  # RFC 6531: UTF-8 addresses (and the headers naming them) follow
        return f"MAIL FROM:<{sender}>{params}\r\n".encode()

    def _envelope(self, sender: str, recipients: list[str], data: bytes) -> list[bytes]:
        """The commands before the message body: [RSET], MAIL, RCPT..., DATA."""
        for address in (sender, *recipients):
            if "\r" in address or "\n" in address or ">" in address:
                raise TransportError(553, f"address {address!r} is not acceptable", temporary=False)
            if not address.isascii() and "smtputf8" not in self.extensions:
                raise TransportError(553, f"address {address!r} needs SMTPUTF8, which {self.where} does not offer; "
                                     "send through a server that does", enhanced="5.6.7", temporary=False)
        commands = [b"RSET\r\n"] if self._needs_rset else []
        self._needs_rset = False
        commands.append(self._mail_command(sender, recipients, data))
        commands.extend(f"RCPT TO:<{r}>\r\n".encode() for r in recipients)
        commands.append(b"DATA\r\n")
        return commands

    def _read_envelope(self, commands: list[bytes], recipients: list[str], pipelined: bool) -> list[str]:
        """Read the envelope's replies (writing each command first unless pipelined); the accepted recipients.

        Raises :class:`TransportError` for a refusal (the session stays usable) and
        :class:`Dropped` when the connection is gone.
        """
        mail_index = len(commands) - len(recipients) - 2
        replies: list[tuple[int, str]] = []
        for i, command in enumerate(commands):
            if not pipelined:
                if command == b"DATA\r\n" and not any(c in (250, 251) for c, _ in replies[mail_index + 1 :]):
                    break  # every recipient refused: no DATA
                self._write(command)
            reply = self._read_reply()
            replies.append(reply)
            if reply[0] in CLOSING_CODES:
                raise self._error(*reply)
            if not pipelined and i == mail_index and reply[0] != 250:
                break  # MAIL refused: no point sending RCPT/DATA one by one
        replies = replies[mail_index:]
        mail_reply, rcpt_replies = replies[0], replies[1 : 1 + len(recipients)]
        data_reply = replies[1 + len(recipients)] if len(replies) > 1 + len(recipients) else (503, "not sent")
        accepted = [r for r, reply in zip(recipients, rcpt_replies, strict=False) if reply[0] in (250, 251)]
        if data_reply[0] == 354 and (mail_reply[0] != 250 or not accepted):
            self._write(b".\r\n")  # a server that said 354 anyway gets an empty, ended message
            self._read_reply()
            data_reply = (503, "no valid recipients")
        if data_reply[0] != 354:
            self._needs_rset = mail_reply[0] == 250
            if mail_reply[0] != 250:
                raise self._error(*mail_reply)
            refused = [reply for reply in rcpt_replies if reply[0] not in (250, 251)]
            raise self._error(*(refused[0] if refused else data_reply))
        return accepted

    def _final(self, recipients: list[str], accepted: list[str]) -> Reply:
        """Read the answer to the end of a message body."""
        code, text = self._read_reply(before_body=False)
        if code != 250:
            raise self._error(code, text)
        self.messages_on_connection += 1
        if len(accepted) < len(recipients):
            text += f" (refused: {', '.join(r for r in recipients if r not in accepted)})"
        return Reply(code, text)

    def _transaction(self, sender: str, recipients: list[str], data: bytes) -> Reply:
        commands = self._envelope(sender, recipients, data)
        pipelined = "pipelining" in self.extensions
        if pipelined:
            self._write(b"".join(commands))
        accepted = self._read_envelope(commands, recipients, pipelined)
        self._write(data, before_body=False)
        return self._final(recipients, accepted)

    def send_many(self, messages: Iterable[Outgoing],
                  before_body: Callable[[], None] | None = None) -> Iterator[tuple[Any, Reply | TransportError]]:
        """Deliver messages in turn; with PIPELINING each body travels with the next envelope.

        One round trip per message instead of two: the end of message N, then MAIL,
        RCPT and DATA of message N+1 go out in one write (RFC 2920 allows message
        content first in a group).  ``messages`` is read lazily, two items ahead: the one after
        next is built while the server reads a body, not while the connection waits for us.
        """
        if self._sock is None:
            try:
                self.connect()
            except TransportError:
                pass  # the per-message path reports it for each message
        if "pipelining" not in self.extensions:
            yield from super().send_many(messages, before_body)
            return
        items = iter(messages)
        ahead: list[Outgoing] = []  # the message after the next, built while the server reads a body

        def pull() -> Outgoing | None:
            return ahead.pop() if ahead else next(items, None)

        current = pull()
        # the envelope of `current` and its DATA payload, when the envelope is already on the wire
        written: tuple[list[bytes], bytes] | None = None
        while current is not None:
            tag, sender, recipients, message = current
            upcoming, upcoming_written, upcoming_error = None, None, None
            try:
                if self._sock is None:
                    self.connect()
                    written = None
                if written is None:
                    data = prepare_data(message)
                    envelope = self._envelope(sender, recipients, data)
                    self._write(b"".join(envelope))
                else:
                    envelope, data = written
                accepted = self._read_envelope(envelope, recipients, pipelined=True)
                upcoming = pull()
                tail = b""
                if upcoming is not None:
                    try:
                        upcoming_data = prepare_data(upcoming[3])
                        upcoming_written = (self._envelope(upcoming[1], upcoming[2], upcoming_data), upcoming_data)
                        tail = b"".join(upcoming_written[0])
                    except TransportError as exc:
                        upcoming_error = exc
                if before_body is not None:
                    before_body()
                self._write(data + tail, before_body=False)
                if upcoming is not None and not ahead:
                    following = next(items, None)  # built now, while the server takes this body
                    if following is not None:
                        ahead.append(following)
                outcome: Reply | TransportError = self._final(recipients, accepted)
            except TransportError as exc:
                outcome = exc
            except Dropped as exc:
                outcome = exc.error
            yield tag, outcome
            if upcoming_error is not None:
                yield upcoming[0], upcoming_error  # type: ignore[index]
                upcoming = None
            current = upcoming if upcoming is not None else pull()
            written = upcoming_written if upcoming is not None and self._sock is not None else None
