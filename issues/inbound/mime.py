"""Small helpers over the stdlib email package for reading returned mail safely.

Returned mail is often malformed; these never raise on bad headers or charsets.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import hashlib
import re
from email.message import Message
from email.utils import getaddresses

# Headers that differ between two deliveries of the same message (trace, mbox and Maildir
# bookkeeping); left out of the content hash so a message fed twice is seen as the same.
TRACE_HEADERS = {
    "return-path", "delivered-to", "x-original-to", "x-envelope-to", "envelope-to", "received",
    "x-envelope-from", "status", "x-status", "x-uid", "x-keywords", "content-length", "lines",
    "x-mozilla-status", "x-mozilla-status2",
}


def parse_bytes(raw: bytes) -> Message:
    """Parse a whole message; the compat32 policy keeps malformed headers readable."""
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def header_text(msg: Message, name: str) -> str:
    """A header as one line of text ('' when absent or undecodable)."""
    value = msg.get(name)
    if value is None:
        return ""
    try:
        parts = email.header.decode_header(str(value))
        text = "".join(
            chunk.decode(charset or "ascii", "replace") if isinstance(chunk, bytes) else chunk
            for chunk, charset in parts
        )
    except (LookupError, ValueError, TypeError):
        text = str(value)
    return " ".join(text.split())


def bare_address(text: str) -> str:
    """``' <Jane@Example.org>'`` → ``'jane@example.org'``: the one comparable form of an address here."""
    return text.strip().strip("<>").lower()


def addresses(msg: Message, *names: str) -> list[str]:
    """Lower-cased bare addresses found in the given headers, in order."""
    found = []
    for name in names:
        for value in msg.get_all(name, []) or []:
            for _, addr in getaddresses([str(value)]):
                addr = bare_address(addr)
                if "@" in addr and addr not in found:
                    found.append(addr)
    return found


def content_hash(raw: bytes) -> str:
    """SHA-256 of the message without its trace headers (see :data:`TRACE_HEADERS`)."""
    head, sep, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    kept, skipping = [], False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        if line.startswith(b"From ") and not kept:  # an mbox separator line
            skipping = True
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("ascii", "replace")
        skipping = name in TRACE_HEADERS
        if not skipping:
            kept.append(line)
    return hashlib.sha256(b"\n".join(kept) + sep + body.rstrip(b"\n")).hexdigest()


def _decoded_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, "replace")
    except LookupError:
        text = payload.decode("utf-8", "replace")
    if part.get_content_type() == "text/html":
        text = re.sub(r"<(br|/p|/div|/tr|/li)[^>]*>", "\n", text, flags=re.I)
        text = re.sub(r"<[^>]+>", " ", text)
        text = re.sub(r"&nbsp;", " ", text)
        text = re.sub(r"&lt;", "<", re.sub(r"&gt;", ">", re.sub(r"&amp;", "&", text)))
    return text


def text_parts(msg: Message, *, skip_original: bool = False) -> list[str]:
    """The decoded text of every text/* part, optionally not looking inside a returned original."""
    out: list[str] = []

    def visit(part: Message) -> None:
        ctype = part.get_content_type()
        if skip_original and ctype in ("message/rfc822", "text/rfc822-headers", "message/global"):
            return
        if part.is_multipart():
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    visit(sub)
        elif part.get_content_maintype() == "text":
            out.append(_decoded_text(part))

    visit(msg)
    return out


def embedded_original(msg: Message) -> Message | None:
    """The returned original (message/rfc822, or just its headers as text/rfc822-headers), if any."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            if isinstance(payload, str):
                return email.message_from_string(payload, policy=email.policy.compat32)
        if ctype in ("text/rfc822-headers", "message/global-headers"):
            raw = part.get_payload(decode=True) or b""
            return email.message_from_bytes(raw, policy=email.policy.compat32)
    return None
