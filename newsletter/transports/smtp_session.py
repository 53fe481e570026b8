"""An SMTP session on a plain socket: connect, TLS, EHLO, AUTH, and reading and writing replies.

The mail transaction on top of it (envelopes, pipelining, message bodies) is
:class:`newsletter.transports.smtp.SMTPTransport`.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import struct
import sys

from ..errors import ConfigError
from .base import TransportError

SECURITY_MODES = ("none", "starttls", "tls")
_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\s+")
# Timeouts kept by the kernel (a timeval of two C longs, as Linux has it); elsewhere Python's own.
OS_TIMEOUTS = sys.platform.startswith("linux")
# Replies after which the server closes the connection (RFC 5321 4.2.2).
CLOSING_CODES = (421,)


class Dropped(Exception):
    """The connection broke; ``before_body`` says whether the message was not yet transmitted."""

    def __init__(self, error: TransportError, before_body: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.before_body = before_body


def split_reply(code: int, text: str) -> tuple[str, str]:
    """``"5.1.1 User unknown"`` -> ``("5.1.1", "User unknown")``."""
    m = _ENHANCED.match(text)
    return (m.group(1), text[m.end():]) if m else ("", text)


class SMTPSession:
    """One connection to an SMTP server, opened on demand; ``security`` is ``none``, ``starttls`` or ``tls``."""

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
        self._buffer = b""  # bytes received and not yet read as reply lines
        self._needs_rset = False

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
            raise TransportError(0, f"cannot connect to {self.where}: {reason}", temporary=True,
                                 unreachable=True) from exc
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
                self._sock.settimeout(self.timeout)  # the handshake with Python's own timeout, as on a TLS port
                self._attach(self._context().wrap_socket(self._sock, server_hostname=self.host))
                self._ehlo()
            if self.username:
                self._login()
        except ssl.SSLError as exc:
            self._abort()
            raise ConfigError(f"TLS with {self.where} failed: {exc.reason or exc}; check [smtp] security") from exc
        except Dropped as exc:
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
        if OS_TIMEOUTS and not isinstance(sock, ssl.SSLSocket):
            # The kernel keeps the timeout (SO_RCVTIMEO/SO_SNDTIMEO) on a blocking socket: each read or
            # write is one system call, where Python's own timeout polls before every one.
            seconds = max(self.timeout, 0.001)
            timeval = struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
            sock.settimeout(None)
        self._sock = sock
        self._buffer = b""

    def _readline(self) -> bytes:
        """One line (with its end) from the connection; what is left when it closes; at most 8 KB."""
        while True:
            end = self._buffer.find(b"\n", 0, 8192)
            if end >= 0 or len(self._buffer) >= 8192:
                cut = end + 1 if end >= 0 else 8192
                line, self._buffer = self._buffer[:cut], self._buffer[cut:]
                return line
            chunk = self._sock.recv(65536)  # type: ignore[union-attr]
            if not chunk:
                line, self._buffer = self._buffer, b""
                return line
            self._buffer += chunk

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
            self._readline()
        except (OSError, ValueError):
            pass
        self._abort()

    def _abort(self) -> None:
        sock, self._sock, self._buffer = self._sock, None, b""
        self.extensions = {}
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    # -- protocol -----------------------------------------------------------------------------

    def _lost(self, what: str, before_body: bool, unreachable: bool = False) -> Dropped:
        self._abort()
        error = TransportError(0, f"{self.where}: {what}", temporary=True, connection_lost=True, unreachable=unreachable)
        return Dropped(error, before_body)

    def _write(self, data: bytes, before_body: bool = True) -> None:
        try:
            self._sock.sendall(data)  # type: ignore[union-attr]
        except (OSError, AttributeError) as exc:
            raise self._lost(f"connection lost while writing ({exc})", before_body) from exc

    def _read_reply(self, before_body: bool = True) -> tuple[int, str]:
        buffer = self._buffer
        end = buffer.find(b"\n", 0, 8192)
        if end > 3 and buffer[3] == 32 and buffer[:3].isdigit():  # a whole one-line reply already read
            self._buffer = buffer[end + 1:]
            return int(buffer[:3]), buffer[4:end].rstrip(b"\r\n").decode("utf-8", "replace")
        lines: list[str] = []
        try:
            while True:
                line = self._readline()
                if not line:
                    raise self._lost("server closed the connection", before_body)
                lines.append(line[4:].rstrip(b"\r\n").decode("utf-8", "replace"))
                if line[3:4] != b"-":
                    return int(line[:3]), "\n".join(lines)
        except (TimeoutError, BlockingIOError) as exc:  # BlockingIOError: the kernel's timeout ran out
            raise self._lost(f"no answer within {self.timeout:g}s", before_body, unreachable=True) from exc
        except ValueError as exc:
            raise self._lost(f"unreadable reply {line[:60]!r}", before_body) from exc
        except OSError as exc:
            raise self._lost(f"connection lost while reading ({exc})", before_body) from exc

    def _command(self, line: bytes) -> tuple[int, str]:
        self._write(line)
        return self._read_reply()

    def _error(self, code: int, text: str) -> TransportError:
        enhanced, detail = split_reply(code, text)
        closing = code in CLOSING_CODES
        if closing:
            self._abort()
        return TransportError(code, detail.replace("\n", " "), enhanced=enhanced, connection_lost=closing)

