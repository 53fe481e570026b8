"""The one mail builder: every message the project sends (issues, tests, confirmations, welcomes) is made here.

A :class:`MailTemplate` is built once per mail kind (an issue, a confirmation):
static headers and the two quoted-printable parts, cut at the per-reader
placeholders.  :meth:`MailTemplate.build` fills one :class:`Recipient` in with a
join, adds Date, To, Message-ID and, for readers, ``List-Unsubscribe`` (https and
mailto) with ``List-Unsubscribe-Post`` (RFC 8058), then DKIM-signs the result.

Values are encoded on their own and joined in with soft line breaks (``=``CRLF) on
both sides, so any name or URL length still gives lines under 78 octets and a
valid encoding, and no per-reader work touches the big literal parts.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import make_msgid, parseaddr
from typing import TYPE_CHECKING

from ..errors import ConfigError, InvalidInput
from ..personalise import Segments, field_values
from ..transports import CanonicalMessage
from .dkim import DkimSigner, relaxed_lines, signer_from_settings
from .encoding import (
    CONTROL,
    address_header,
    crlf,
    date_header,
    header_block,
    quoted_printable,
    quoted_printable_value,
)

if TYPE_CHECKING:
    from ..workspace import Workspace

SOFT_BREAK = b"=\r\n"
PREAMBLE = b"This is a multi-part message in MIME format.\r\n"
_UNSAFE_ADDRESS = re.compile(r"[\x00-\x20\x7f<>]")


def sender_domain(ws: Workspace) -> str:
    """The domain of ``[site] from`` (Message-IDs, DKIM and the default bounce/unsubscribe mailboxes use it)."""
    return domain_of_from(str(ws.settings.site["from"]))


@functools.lru_cache(maxsize=64)
def domain_of_from(from_header: str) -> str:
    """The domain of a From header's address; :class:`ConfigError` when it has none."""
    local, at, domain = parseaddr(from_header)[1].rpartition("@")
    if not (local and at and domain):
        raise ConfigError(f"[site] from = {from_header!r} has no address; use 'Name <news@example.com>'")
    return domain.lower()


def list_id(ws: Workspace) -> str:
    """``[delivery] list_id`` or ``Site Name <site-name.<from domain>>`` (RFC 2919)."""
    configured = str(ws.settings.delivery.list_id).strip()
    if configured:
        return configured
    label = re.sub(r"[^a-z0-9]+", "-", str(ws.settings.site.name).lower()).strip("-") or "newsletter"
    return f"{ws.settings.site.name} <{label}.{sender_domain(ws)}>"


def feedback_id(ws: Workspace, campaign: str, mail_type: str) -> str:
    """A ``Feedback-ID`` value (Gmail's feedback loop): ``campaign:list:type:sender domain``.

    The list is the site name as a slug; fields are kept to letters, digits, ``.`` and ``-``.
    """
    def part(value: str) -> str:
        return re.sub(r"[^a-z0-9.-]+", "-", value.lower()).strip("-")

    fields = [part(campaign), part(str(ws.settings.site.name)) or "newsletter", part(mail_type), sender_domain(ws)]
    return ":".join(f for f in fields if f)


def dkim_signer(ws: Workspace) -> DkimSigner | None:
    """The workspace's DKIM signer, or None when ``[dkim] key_file`` is empty (mail goes out unsigned)."""
    return signer_from_settings(ws.settings, ws.path, sender_domain(ws))


def envelope_recipient(email: str) -> str:
    """The address for RCPT TO, refusing anything that could smuggle a command."""
    if _UNSAFE_ADDRESS.search(email) or "@" not in email:
        raise InvalidInput(f"address {email!r} cannot be used as a recipient")
    return email


class EncodedPart:
    """One body part cut at its placeholders, literals already quoted-printable."""

    __slots__ = ("pieces", "canonical", "fields", "names")

    def __init__(self, text: str) -> None:
        cut = Segments(crlf(text).encode("utf-8"))
        self.fields = cut.slots
        self.names = frozenset(self.fields)
        self.pieces: list[bytes] = []
        literals = cut.literals
        for i, literal in enumerate(literals):
            encoded = quoted_printable(literal) if literal else b""
            # soft line breaks around every value: a value always starts and ends its own line
            self.pieces.append((SOFT_BREAK if i else b"") + encoded + (SOFT_BREAK if i < len(literals) - 1 else b""))
        # DKIM's relaxed body form of each piece, made once: every piece starts and ends at a line boundary
        self.canonical = [relaxed_lines(piece) for piece in self.pieces]

    def fill(self, values: Mapping[str, bytes], canonical: bool = False) -> list[bytes]:
        """The part's encoded bytes for one reader, as pieces to join (``values``: encoded per field).

        With ``canonical`` the literal pieces are in DKIM's relaxed form (``values`` must be too).
        """
        pieces = self.canonical if canonical else self.pieces
        out = [pieces[0]]
        for i, field in enumerate(self.fields, 1):
            out.append(values[field])
            out.append(pieces[i])
        return out


@dataclass(frozen=True)
class Recipient:
    """One reader's fields for a message: who, the Message-ID, and (for readers) their unsubscribe routes."""

    email: str
    name: str | None
    unsubscribe_url: str
    unsubscribe_mailto: str
    message_id: str


class MailTemplate:
    """A message kind's static headers and encoded parts, filled and signed per recipient.

    ``headers`` are extra (name, value, origin) fields such as ``Auto-Submitted``;
    ``list_headers`` adds List-Id (a newsletter mail rather than a one-off notice);
    ``mail_type`` (and ``campaign``) make its ``Feedback-ID``.
    """

    def __init__(self, ws: Workspace, subject: str, html: str, text: str, *,
                 headers: tuple[tuple[str, str, str], ...] = (), list_headers: bool = True,
                 subject_origin: str = "the subject", mail_type: str = "", campaign: str = "") -> None:
        self.domain = sender_domain(ws)
        boundary = f"=_nl_{secrets.token_hex(12)}"  # "=_" never occurs in quoted-printable text
        fields = [("From", str(ws.settings.site["from"]), "[site] from"), ("Subject", subject, subject_origin)]
        if ws.settings.site.reply_to:
            fields.append(("Reply-To", str(ws.settings.site.reply_to), "[site] reply_to"))
        if list_headers:
            fields.append(("List-Id", list_id(ws), "[delivery] list_id, or [site] name"))
        if mail_type:
            fields.append(("Feedback-ID", feedback_id(ws, campaign, mail_type), "[site] name and from"))
        fields.extend(headers)
        self.static_headers = header_block(fields) + (
            b"MIME-Version: 1.0\r\n"
            b'Content-Type: multipart/alternative; boundary="' + boundary.encode() + b'"\r\n'
        )
        part_head = "\r\n--{b}\r\nContent-Type: text/{kind}; charset=\"utf-8\"\r\n" \
                    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        self.text_head = part_head.format(b=boundary, kind="plain").encode()
        self.html_head = part_head.format(b=boundary, kind="html").encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.text = EncodedPart(text)
        self.html = EncodedPart(html)
        self.fields = self.text.names | self.html.names
        self.signer = dkim_signer(ws)

    def new_message_id(self) -> str:
        return make_msgid(domain=self.domain)

    def build(self, reader: Recipient, date: str | None = None) -> CanonicalMessage:
        """The complete signed message for one reader (CRLF line ends, ready for SMTP DATA).

        ``date`` is the Date header's value (RFC 5322), now when not given.
        """
        raw, escaped = field_values(
            {"unsubscribe_url": reader.unsubscribe_url, "email": reader.email, "name": reader.name}, self.fields
        )
        text_values = {f: quoted_printable_value(raw[f]) for f in self.text.names}
        # a value HTML escaping leaves alone (most addresses and links) is encoded once for both parts
        html_values = {f: text_values[f] if f in text_values and escaped[f] == raw[f] else quoted_printable_value(escaped[f])
                       for f in self.html.names}
        if CONTROL.search(reader.unsubscribe_url + reader.unsubscribe_mailto + reader.message_id):
            raise InvalidInput(f"a header value for {reader.email!r} contains a line break or control character")
        unsubscribe = b""
        if reader.unsubscribe_url:
            unsubscribe = (f"List-Unsubscribe: <{reader.unsubscribe_url}>,\r\n <mailto:{reader.unsubscribe_mailto}>\r\n"
                           "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n").encode()
        head = b"".join([
            date_header() if date is None else f"Date: {date}\r\n".encode("ascii"),
            self.static_headers,
            address_header(reader.name, reader.email),
            f"Message-ID: {reader.message_id}\r\n".encode(),
            unsubscribe,
        ])
        body = [PREAMBLE, self.text_head, *self.text.fill(text_values), self.html_head,
                *self.html.fill(html_values), self.tail]
        if self.signer is None:
            return CanonicalMessage(b"".join([head, b"\r\n", *body]))
        # The body hash from the pieces' canonical forms, made once: only the reader's values are new.
        digest = hashlib.sha256(PREAMBLE + self.text_head)
        for piece in self.text.fill({f: relaxed_lines(v) for f, v in text_values.items()}, canonical=True):
            digest.update(piece)
        digest.update(self.html_head)
        for piece in self.html.fill({f: relaxed_lines(v) for f, v in html_values.items()}, canonical=True):
            digest.update(piece)
        digest.update(self.tail)
        signature = self.signer.header_for(head.rstrip(b"\r\n"), digest.digest())
        return CanonicalMessage(b"".join([signature, head, b"\r\n", *body]))
