"""SMTP delivery over one reused connection, pipelining each envelope when the server allows it.

A small client on a plain socket instead of ``smtplib``: with PIPELINING (RFC 2920)
``MAIL``, ``RCPT`` and ``DATA`` travel in one write, and :meth:`SMTPTransport.send_many`
sends each message's end together with the next envelope, so a message costs one
round trip instead of smtplib's four; that is most of the difference at thousands
of messages a second.  Replies become :class:`Reply` or :class:`TransportError`.
"""

from __future__ import annotations

import base64
import logging
import re
import socket
import ssl
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .base import CanonicalMessage, Outgoing, Reply, Transport, TransportError

if TYPE_CHECKING:
    from ..settings import Settings

log = logging.getLogger(__name__)

SECURITY_MODES = ("none", "starttls", "tls")
_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\s+")
_BARE_NEWLINE = re.compile(rb"\r?\n")
# Replies after which the server closes the connection (RFC 5321 4.2.2).
_CLOSING_CODES = (421,)


class _Dropped(Exception):
    """The connection broke; ``before_body`` says whether the message was not yet transmitted."""

    def __init__(self, error: TransportError, before_body: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.before_body = before_body


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


def _split_reply(code: int, text: str) -> tuple[str, str]:
    """``"5.1.1 User unknown"`` -> ``("5.1.1", "User unknown")``."""
    m = _ENHANCED.match(text)
    return (m.group(1), text[m.end():]) if m else ("", text)


class SMTPTransport(Transport):
    """Deliver through one SMTP server, keeping the connection open between messages.

    ``security`` is ``none`` (plain), ``starttls`` (upgrade after EHLO; refuse to go
    on without it) or ``tls`` (TLS from the first byte, usually port 465).  A dropped
    connection is reopened on the next :meth:`send`.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ConfigError(f"[smtp] security = {security!r} is not known; use 'none', 'starttls' or 'tls'")
        self.host = host
        self.port = int(port)
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname
        self.extensions: dict[str, str] = {}
        self.messages_on_connection = 0
        self._sock: socket.socket | None = None
        self._reader = None
        self._needs_rset = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SMTPTransport:
        """A transport from the ``[smtp]`` section (password from ``NEWSLETTER_SMTP_PASSWORD``)."""
        smtp = settings.smtp
        return cls(
            smtp.host,
            smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=smtp.password,
            timeout=float(smtp.timeout),
        )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    # -- connection ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        """Open the connection: greeting, EHLO, STARTTLS or TLS, AUTH.  Idempotent."""
        if self._sock is not None:
            return
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise TransportError(0, f"cannot connect to {self.where}: {reason}", temporary=True) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if self.security == "tls":
                sock = self._context().wrap_socket(sock, server_hostname=self.host)
            self._attach(sock)
            self._expect(self._read_reply(), 220, "greeting")
            self._ehlo()
            if self.security == "starttls":
                if "starttls" not in self.extensions:
                    raise ConfigError(
                        f"SMTP server {self.where} does not offer STARTTLS; "
                        "set [smtp] security = 'tls' or 'none' if that is intended"
                    )
                self._expect(self._command(b"STARTTLS\r\n"), 220, "STARTTLS")
                self._attach(self._context().wrap_socket(self._sock, server_hostname=self.host))
                self._ehlo()
            if self.username:
                self._login()
        except ssl.SSLError as exc:
            self._abort()
            raise ConfigError(f"TLS with {self.where} failed: {exc.reason or exc}; check [smtp] security") from exc
        except _Dropped as exc:
            raise exc.error from None
        except BaseException:
            self._abort()
            raise
        self.messages_on_connection = 0
        self._needs_rset = False

    def check(self) -> None:
        self.connect()

    def _context(self) -> ssl.SSLContext:
        if self.ssl_context is None:
            self.ssl_context = ssl.create_default_context()
        return self.ssl_context

    def _attach(self, sock: socket.socket) -> None:
        self._sock = sock
        self._reader = sock.makefile("rb")

    def _hostname(self) -> str:
        if self.local_hostname:
            return self.local_hostname
        name = socket.gethostname()
        if "." in name:
            return name
        addr = self._sock.getsockname()[0]  # type: ignore[union-attr]
        return f"[IPv6:{addr}]" if ":" in addr else f"[{addr}]"

    def _ehlo(self) -> None:
        code, text = self._command(f"EHLO {self._hostname()}\r\n".encode())
        if code != 250:
            code, text = self._command(f"HELO {self._hostname()}\r\n".encode())
            self._expect((code, text), 250, "HELO")
            self.extensions = {}
            return
        extensions: dict[str, str] = {}
        for line in text.splitlines()[1:]:
            keyword, _, params = line.partition(" ")
            extensions[keyword.lower()] = params
        self.extensions = extensions

    def _login(self) -> None:
        mechanisms = self.extensions.get("auth", "").upper().split()
        user, password = self.username, self.password
        if "PLAIN" in mechanisms or not mechanisms:
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            reply = self._command(f"AUTH PLAIN {token}\r\n".encode())
        elif "LOGIN" in mechanisms:
            reply = self._command(b"AUTH LOGIN\r\n")
            if reply[0] == 334:
                reply = self._command(base64.b64encode(user.encode()) + b"\r\n")
            if reply[0] == 334:
                reply = self._command(base64.b64encode(password.encode()) + b"\r\n")
        else:
            raise ConfigError(f"SMTP server {self.where} offers only AUTH {' '.join(mechanisms)}; PLAIN or LOGIN needed")
        if reply[0] != 235:
            raise ConfigError(
                f"SMTP server {self.where} refused the login of {user!r}: {reply[0]} {reply[1]}; "
                "check [smtp] username and NEWSLETTER_SMTP_PASSWORD"
            )

    def _expect(self, reply: tuple[int, str], code: int, step: str) -> None:
        if reply[0] != code:
            self._abort()
            raise self._error(reply[0], f"{step}: {reply[1]}")

    def close(self) -> None:
        """Say QUIT (briefly) and close; the next :meth:`send` reconnects."""
        if self._sock is None:
            return
        try:
            self._sock.settimeout(min(self.timeout, 2.0))
            self._sock.sendall(b"QUIT\r\n")
            self._reader.readline()  # type: ignore[union-attr]
        except (OSError, ValueError):
            pass
        self._abort()

    def _abort(self) -> None:
        sock, reader = self._sock, self._reader
        self._sock = self._reader = None
        self.extensions = {}
        for thing in (reader, sock):
            if thing is not None:
                try:
                    thing.close()
                except OSError:
                    pass

    # -- protocol -----------------------------------------------------------------------------

    def _lost(self, what: str, before_body: bool) -> _Dropped:
        self._abort()
        return _Dropped(TransportError(0, f"{self.where}: {what}", temporary=True, connection_lost=True), before_body)

    def _write(self, data: bytes, before_body: bool = True) -> None:
        try:
            self._sock.sendall(data)  # type: ignore[union-attr]
        except (OSError, AttributeError) as exc:
            raise self._lost(f"connection lost while writing ({exc})", before_body) from exc

    def _read_reply(self, before_body: bool = True) -> tuple[int, str]:
        lines: list[str] = []
        try:
            while True:
                line = self._reader.readline(8192)  # type: ignore[union-attr]
                if not line:
                    raise self._lost("server closed the connection", before_body)
                lines.append(line[4:].rstrip(b"\r\n").decode("utf-8", "replace"))
                if line[3:4] != b"-":
                    return int(line[:3]), "\n".join(lines)
        except TimeoutError as exc:
            raise self._lost(f"no answer within {self.timeout:g}s", before_body) from exc
        except ValueError as exc:
            raise self._lost(f"unreadable reply {line[:60]!r}", before_body) from exc
        except OSError as exc:
            raise self._lost(f"connection lost while reading ({exc})", before_body) from exc

    def _command(self, line: bytes) -> tuple[int, str]:
        self._write(line)
        return self._read_reply()

    def _error(self, code: int, text: str) -> TransportError:
        enhanced, detail = _split_reply(code, text)
        closing = code in _CLOSING_CODES
        if closing:
            self._abort()
        return TransportError(code, detail.replace("\n", " "), enhanced=enhanced, connection_lost=closing)

    def send(self, sender: str, recipients: list[str], message: bytes) -> Reply:
        """Deliver one message; on a reused connection found dead before the body went out, retry once."""
        data = prepare_data(message)
        for attempt in (1, 2):
            reused = self._sock is not None and self.messages_on_connection > 0
            if self._sock is None:
                self.connect()
            try:
                reply = self._transaction(sender, recipients, data)
            except _Dropped as exc:
                if attempt == 1 and reused and exc.before_body:
                    log.debug("%s: reused connection was closed; reconnecting", self.where)
                    continue
                raise exc.error from None
            return reply
        raise AssertionError("unreachable")

    def _mail_command(self, sender: str, data: bytes) -> bytes:
        params = ""
        if "size" in self.extensions:
            params += f" SIZE={len(data)}"
        if "8bitmime" in self.extensions and not data.isascii():
            params += " BODY=8BITMIME"
        if "smtputf8" in self.extensions and not sender.isascii():
            params += " SMTPUTF8"
        return f"MAIL FROM:<{sender}>{params}\r\n".encode()

    def _envelope(self, sender: str, recipients: list[str], data: bytes) -> list[bytes]:
        """The commands before the message body: [RSET], MAIL, RCPT..., DATA."""
        for address in (sender, *recipients):
            if "\r" in address or "\n" in address or ">" in address:
                raise TransportError(553, f"address {address!r} is not acceptable", temporary=False)
        commands = [b"RSET\r\n"] if self._needs_rset else []
        self._needs_rset = False
        commands.append(self._mail_command(sender, data))
        commands.extend(f"RCPT TO:<{r}>\r\n".encode() for r in recipients)
        commands.append(b"DATA\r\n")
        return commands

    def _read_envelope(self, commands: list[bytes], recipients: list[str], pipelined: bool) -> list[str]:
        """Read the envelope's replies (writing each command first unless pipelined); the accepted recipients.

        Raises :class:`TransportError` for a refusal (the session stays usable) and
        :class:`_Dropped` when the connection is gone.
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
            if reply[0] in _CLOSING_CODES:
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

    def send_many(self, messages: Iterable[Outgoing]) -> Iterator[tuple[Any, Reply | TransportError]]:
        """Deliver messages in turn; with PIPELINING each body travels with the next envelope.

        One round trip per message instead of two: the end of message N, then MAIL,
        RCPT and DATA of message N+1 go out in one write (RFC 2920 allows message
        content first in a group).  ``messages`` is read lazily, one item ahead.
        """
        if self._sock is None:
            try:
                self.connect()
            except TransportError:
                pass  # the per-message path reports it for each message
        if "pipelining" not in self.extensions:
            yield from super().send_many(messages)
            return
        items = iter(messages)
        current = next(items, None)
        written: list[bytes] | None = None  # the envelope of `current`, when already on the wire
        while current is not None:
            tag, sender, recipients, message = current
            upcoming, upcoming_written, upcoming_error = None, None, None
            try:
                if self._sock is None:
                    self.connect()
                    written = None
                data = prepare_data(message)
                if written is None:
                    written = self._envelope(sender, recipients, data)
                    self._write(b"".join(written))
                accepted = self._read_envelope(written, recipients, pipelined=True)
                upcoming = next(items, None)
                tail = b""
                if upcoming is not None:
                    try:
                        upcoming_written = self._envelope(upcoming[1], upcoming[2], prepare_data(upcoming[3]))
                        tail = b"".join(upcoming_written)
                    except TransportError as exc:
                        upcoming_error = exc
                self._write(data + tail, before_body=False)
                outcome: Reply | TransportError = self._final(recipients, accepted)
            except TransportError as exc:
                outcome = exc
            except _Dropped as exc:
                outcome = exc.error
            yield tag, outcome
            if upcoming_error is not None:
                yield upcoming[0], upcoming_error  # type: ignore[index]
                upcoming = None
            current = upcoming if upcoming is not None else next(items, None)
            written = upcoming_written if upcoming is not None and self._sock is not None else None
