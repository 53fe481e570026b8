"""The issue as MIME bytes, built once; one reader's message is a join of pre-encoded pieces.

Both parts are quoted-printable.  The rendered HTML and text are cut at the
per-reader placeholders and every literal piece is encoded once; a reader's
values are encoded on their own and joined in with soft line breaks (``=``CRLF)
on both sides, so any name or URL length still gives lines under 78 octets and
a valid encoding, and no per-reader work touches the big literal parts.
"""

from __future__ import annotations

import binascii
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from newsletter.errors import ConfigError, InvalidInput
from newsletter.personalise import Segments, field_values
from newsletter.transports import CanonicalMessage
from newsletter.workspace import Workspace
from subscribers.verp import feedback_id, sender_domain

TEST_PREFIX = "[TEST] "
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE_ADDRESS = re.compile(r"[\x00-\x20\x7f<>]")
_SIMPLE_NAME = re.compile(r"^[A-Za-z0-9 .'_-]{0,60}$")
SOFT_BREAK = b"=\r\n"
DKIM_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"list-id", b"list-unsubscribe",
    b"list-unsubscribe-post", b"mime-version", b"content-type", b"reply-to", b"feedback-id",
)


def quoted_printable(data: bytes) -> bytes:
    """RFC 2045 quoted-printable with CRLF line ends and no line starting with ``.`` (encoded ``=2E``).

    ``data`` is taken to start at the beginning of a line, as every piece here does.
    """
    encoded = binascii.b2a_qp(data).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if encoded.startswith(b"."):
        encoded = b"=2E" + encoded[1:]
    return encoded.replace(b"\r\n.", b"\r\n=2E")


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


class EncodedPart:
    """One body part cut at its placeholders, literals already quoted-printable."""

    __slots__ = ("pieces", "fields", "names")

    def __init__(self, text: str) -> None:
        cut = Segments(_crlf(text).encode("utf-8"))
        self.fields = cut.slots
        self.names = frozenset(self.fields)
        self.pieces: list[bytes] = []
        literals = cut.literals
        for i, literal in enumerate(literals):
            encoded = quoted_printable(literal) if literal else b""
            # soft line breaks around every value: a value always starts and ends its own line
            self.pieces.append((SOFT_BREAK if i else b"") + encoded + (SOFT_BREAK if i < len(literals) - 1 else b""))

    def fill(self, values: Mapping[str, bytes]) -> list[bytes]:
        """The part's encoded bytes for one reader, as pieces to join (``values``: encoded per field)."""
        pieces = self.pieces
        out = [pieces[0]]
        for i, field in enumerate(self.fields, 1):
            out.append(values[field])
            out.append(pieces[i])
        return out


@dataclass(frozen=True)
class Recipient:
    """One reader's fields for a message: who, and their own unsubscribe routes."""

    email: str
    name: str | None
    unsubscribe_url: str
    unsubscribe_mailto: str
    message_id: str


def _fold_ascii(name: str, value: str, width: int = 78) -> bytes:
    """``Name: value`` folded at spaces into lines of at most ``width`` octets where words allow."""
    lines, line = [], f"{name}:"
    for word in value.split(" "):
        if len(line) + 1 + len(word) > width and line.strip() and ":" != line[-1]:
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _header_block(fields: list[tuple[str, str, str]]) -> bytes:
    """Header lines, folded; non-ASCII values RFC 2047-encoded by the stdlib; CRLF-ended.

    Each field is (header, value, where the value comes from), so a refusal names what to fix.
    """
    block = b""
    for name, value, origin in fields:
        if _CONTROL.search(value):
            raise InvalidInput(f"header {name} {value!r} (from {origin}) contains a line break or control "
                               "character; remove it")
        if value.isascii():
            block += _fold_ascii(name, value)
        else:
            message = EmailMessage(policy=SMTP)
            message[name] = value
            block += bytes(message).split(b"\r\n\r\n", 1)[0] + b"\r\n"
    return block


def encoded_words(text: str, room: int = 45) -> list[str]:
    """``text`` as RFC 2047 ``B`` encoded-words of at most ``room`` UTF-8 bytes each (75 characters max).

    Words break only between characters, so each decodes on its own.
    """
    words, chunk, size = [], [], 0
    for char in text:
        width = len(char.encode("utf-8"))
        if size + width > room and chunk:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += width
    if chunk:
        words.append("".join(chunk))
    return ["=?utf-8?b?" + binascii.b2a_base64(w.encode("utf-8"), newline=False).decode("ascii") + "?="
            for w in words]


def address_header(name: str | None, email: str) -> bytes:
    """``To:`` line for one reader: the name quoted when plain, RFC 2047-encoded otherwise, folded."""
    name = _CONTROL.sub(" ", name or "").strip()
    if not name:
        line = f"To: {email}\r\n"
    elif _SIMPLE_NAME.match(name):
        line = f"To: {formataddr((name, email))}\r\n"
    else:
        line = "To: " + "\r\n ".join([*encoded_words(name), f"<{email}>"]) + "\r\n"
    # An internationalised address goes as raw UTF-8 (RFC 6532); the transport then asks for SMTPUTF8.
    return line.encode("ascii" if email.isascii() else "utf-8")


_date_cache: list = [0, b""]


def date_header() -> bytes:
    """``Date:`` of now (the string is remade once a second)."""
    now = int(time.time())
    if _date_cache[0] != now:
        # +0000, not the obsolete "GMT" zone name (RFC 5322 section 4.3)
        _date_cache[:] = [now, f"Date: {format_datetime(datetime.fromtimestamp(now, UTC))}\r\n".encode("ascii")]
    return _date_cache[1]


def list_id(ws: Workspace) -> str:
    """``[delivery] list_id`` or ``Site Name <site-name.<from domain>>`` (RFC 2919)."""
    configured = str(ws.settings.delivery.list_id).strip()
    if configured:
        return configured
    label = re.sub(r"[^a-z0-9]+", "-", str(ws.settings.site.name).lower()).strip("-") or "newsletter"
    return f"{ws.settings.site.name} <{label}.{sender_domain(ws)}>"


def _dkim_signer(ws: Workspace) -> Callable[[bytes], bytes] | None:
    """A function returning the DKIM-Signature header for a message, when ``[dkim]`` names a key."""
    settings = ws.settings.dkim
    if not settings.key_file:
        return None
    import dkim

    path = ws.path(settings.key_file)
    try:
        key = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"[dkim] key_file {path}: {exc.strerror}; point it at a PEM private key") from None
    selector = str(settings.selector).encode()
    domain = (str(settings.domain) or sender_domain(ws)).encode()
    if not selector:
        raise ConfigError("[dkim] selector is empty; set it to the selector published in DNS")

    def sign(message: bytes) -> bytes:
        try:
            return dkim.sign(message, selector, domain, key, include_headers=list(DKIM_HEADERS),
                             canonicalize=(b"relaxed", b"relaxed"))
        except dkim.KeyFormatError as exc:
            raise ConfigError(f"[dkim] key_file {path}: not a usable private key ({exc})") from None

    return sign


class IssueMessage:
    """The issue's message template: static headers and encoded parts, filled per reader."""

    def __init__(self, ws: Workspace, subject: str, html: str, text: str, *, test: bool = False,
                 campaign: str = "") -> None:
        self.domain = sender_domain(ws)
        self.test = test
        if test:
            subject = TEST_PREFIX + subject
        boundary = f"=_nl_{secrets.token_hex(12)}"  # "=_" never occurs in quoted-printable text
        fields = [("From", str(ws.settings.site["from"]), "[site] from"), ("Subject", subject, "the issue's subject")]
        if ws.settings.site.reply_to:
            fields.append(("Reply-To", str(ws.settings.site.reply_to), "[site] reply_to"))
        fields.append(("List-Id", list_id(ws), "[delivery] list_id, or [site] name"))
        fields.append(("Feedback-ID", feedback_id(ws, campaign, "test" if test else "issue"), "[site] name and from"))
        self.static_headers = _header_block(fields) + (
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
            b"MIME-Version: 1.0\r\n"
            b'Content-Type: multipart/alternative; boundary="' + boundary.encode() + b'"\r\n'
        )
        if test:
            self.static_headers += b"X-Newsletter-Test: yes\r\n"
        part_head = "\r\n--{b}\r\nContent-Type: text/{kind}; charset=\"utf-8\"\r\n" \
                    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        self.text_head = part_head.format(b=boundary, kind="plain").encode()
        self.html_head = part_head.format(b=boundary, kind="html").encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.text = EncodedPart(text)
        self.html = EncodedPart(html)
        self.fields = self.text.names | self.html.names
        self.sign = _dkim_signer(ws)

    def new_message_id(self) -> str:
        return make_msgid(domain=self.domain)

    def build(self, reader: Recipient) -> bytes:
        """The complete message for one reader (CRLF line ends, ready for SMTP DATA)."""
        raw, escaped = field_values(
            {"unsubscribe_url": reader.unsubscribe_url, "email": reader.email, "name": reader.name}, self.fields
        )
        text_values = {f: quoted_printable(raw[f]) for f in self.text.names}
        html_values = {f: quoted_printable(escaped[f]) for f in self.html.names}
        if _CONTROL.search(reader.unsubscribe_url + reader.unsubscribe_mailto + reader.message_id):
            raise InvalidInput(f"a header value for {reader.email!r} contains a line break or control character")
        unsubscribe = f"List-Unsubscribe: <{reader.unsubscribe_url}>,\r\n <mailto:{reader.unsubscribe_mailto}>\r\n"
        pieces = [
            date_header(),
            self.static_headers,
            address_header(reader.name, reader.email),
            f"Message-ID: {reader.message_id}\r\n".encode(),
            unsubscribe.encode(),
            b"\r\nThis is a multi-part message in MIME format.\r\n",
            self.text_head,
            *self.text.fill(text_values),
            self.html_head,
            *self.html.fill(html_values),
            self.tail,
        ]
        message = b"".join(pieces)
        if self.sign is not None:
            message = self.sign(message) + message
        return CanonicalMessage(message)


def envelope_recipient(email: str) -> str:
    """The address for RCPT TO, refusing anything that could smuggle a command."""
    if _UNSAFE_ADDRESS.search(email) or "@" not in email:
        raise InvalidInput(f"address {email!r} cannot be used as a recipient")
    return email
