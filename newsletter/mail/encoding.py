"""Wire encodings for mail: quoted-printable bodies, folded and RFC 2047-encoded header lines.

Everything returns CRLF-ended bytes that are valid SMTP DATA as they stand (no line
starts with ``.``), so a message joined from these pieces needs no further pass.
"""

from __future__ import annotations

import binascii
import re
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from ..errors import InvalidInput

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SIMPLE_NAME = re.compile(r"^[A-Za-z0-9 .'_-]{0,60}$")


def quoted_printable(data: bytes) -> bytes:
    """RFC 2045 quoted-printable with CRLF line ends and no line starting with ``.`` (encoded ``=2E``).

    ``data`` is taken to start at the beginning of a line, as every piece here does.
    """
    encoded = binascii.b2a_qp(data).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if encoded.startswith(b"."):
        encoded = b"=2E" + encoded[1:]
    return encoded.replace(b"\r\n.", b"\r\n=2E")


_QP_AS_IS = re.compile(rb"[!-<>-~]{0,76}")  # printable ASCII but "=", no space, one line: its own encoding


def quoted_printable_value(data: bytes) -> bytes:
    """:func:`quoted_printable` of a per-reader value; a short plain one (most addresses) is returned as it is."""
    if _QP_AS_IS.fullmatch(data) and data[:1] != b".":
        return data
    return quoted_printable(data)


def crlf(text: str) -> str:
    """``text`` with every line end as CRLF."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def fold_ascii(name: str, value: str, width: int = 78) -> bytes:
    """``Name: value`` folded at spaces into lines of at most ``width`` octets where words allow."""
    lines, line = [], f"{name}:"
    for word in value.split(" "):
        if len(line) + 1 + len(word) > width and line.strip() and ":" != line[-1]:
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def header_block(fields: list[tuple[str, str, str]]) -> bytes:
    """Header lines, folded; non-ASCII values RFC 2047-encoded by the stdlib; CRLF-ended.

    Each field is (header, value, where the value comes from), so a refusal names what to fix.
    """
    block = b""
    for name, value, origin in fields:
        if CONTROL.search(value):
            raise InvalidInput(f"header {name} {value!r} (from {origin}) contains a line break or control "
                               "character; remove it")
        if value.isascii():
            block += fold_ascii(name, value)
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


def address_header(name: str | None, email: str, header: str = "To") -> bytes:
    """``To:`` line for one reader: the name quoted when plain, RFC 2047-encoded otherwise, folded."""
    name = CONTROL.sub(" ", name or "").strip()
    if not name:
        line = f"{header}: {email}\r\n"
    elif _SIMPLE_NAME.match(name) and email.isascii():  # what formataddr gives: quoted only for a "."
        quote = '"' if "." in name else ""
        line = f"{header}: {quote}{name}{quote} <{email}>\r\n"
    elif _SIMPLE_NAME.match(name):
        line = f"{header}: {formataddr((name, email))}\r\n"
    else:
        line = f"{header}: " + "\r\n ".join([*encoded_words(name), f"<{email}>"]) + "\r\n"
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
