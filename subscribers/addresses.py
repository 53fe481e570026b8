"""Reader addresses and names: validation, the one normalised form per reader, header safety.

Validation is email-validator's (syntax, internationalised domains, DNS only when
``[subscribers] check_deliverability`` asks).  A fast path for plain ASCII local
parts, with the domain validated once per distinct domain, keeps a million-row
import quick while accepting and normalising exactly what the library would.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import (
    DNS_LABEL_LENGTH_LIMIT,
    DOMAIN_MAX_LENGTH,
    DOMAIN_NAME_REGEX,
    DOT_ATOM_TEXT_HOSTNAME,
)

from newsletter.errors import InvalidInput

MAX_NAME_LENGTH = 200
MAX_LOCAL_LENGTH = 64
MAX_ADDRESS_LENGTH = 254

_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
# A dot-atom local part and an ASCII domain; anything else goes to email-validator whole.
_PLAIN_ADDRESS = re.compile(rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@([A-Za-z0-9.-]+)\Z")
# C0/C1 controls, DEL and the Unicode line/paragraph separators could break a header line;
# lone surrogates are bytes that were not UTF-8 (read with errors="surrogateescape").
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAME_ADDR = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^<>"]*?))\s*<([^<>]*)>\s*\Z')


class InvalidAddress(InvalidInput):
    """An address that cannot belong to a reader; the message names it and why."""


class Address(NamedTuple):
    """A validated address: ``email`` to send to, ``normalized`` to recognise the reader by.

    A tuple, not a dataclass: an import makes a million of them.
    """

    email: str
    normalized: str


def refuse_controls(value: str, what: str) -> str:
    """Return ``value`` unless it holds CR, LF or another control character (header injection)."""
    if _CONTROL.search(value):
        raise InvalidInput(f"{what} {value!r} contains a line break, control character or non-UTF-8 byte; remove it")
    return value


def clean_name(name: str | None) -> str | None:
    """A reader's display name: trimmed, no control characters, at most 200 characters; '' is None."""
    if name is None:
        return None
    name = refuse_controls(name, "name").strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"name {name[:40]!r}... is longer than {MAX_NAME_LENGTH} characters; shorten it")
    return name or None


def normalized_key(local: str, ascii_domain: str) -> str:
    """The reader's identity: local part and IDNA (ASCII) domain, both lower-cased.

    RFC 5321 lets a server treat the local part case-sensitively, but practically no
    mailbox provider does; treating ``Jane@`` and ``jane@`` as two readers would mail
    one person twice and let an unsubscribe under one spelling miss the other.
    """
    return f"{local.lower()}@{ascii_domain.lower()}"


_RESERVED_LDH = re.compile(r"(?:^|\.)(?!xn)..--")  # R-LDH labels ("ab--"), refused unless Punycode


def _plain_ascii_domain(domain: str) -> bool:
    """True when the library would accept lower-case ASCII ``domain`` unchanged (syntax only).

    The same checks as email-validator's, with its own patterns and special-use list, for
    the one shape that needs no IDNA or Unicode work: LDH labels, a dot, a letter TLD.
    Punycode, reserved labels and anything else go to the library itself.
    """
    return (
        len(domain) <= DOMAIN_MAX_LENGTH
        and "." in domain
        and DOT_ATOM_TEXT_HOSTNAME.match(domain) is not None
        and "xn--" not in domain
        and _RESERVED_LDH.search(domain) is None
        and all(len(label) <= DNS_LABEL_LENGTH_LIMIT for label in domain.split("."))
        and DOMAIN_NAME_REGEX.search(domain) is not None
        and not any(domain == d or domain.endswith("." + d) for d in SPECIAL_USE_DOMAIN_NAMES)
    )


@lru_cache(maxsize=65536)
def _ascii_domain(domain: str, check_deliverability: bool) -> str:
    """Validate a domain once (per process): its ASCII (IDNA) form, or raise EmailNotValidError."""
    if not check_deliverability and _plain_ascii_domain(domain):
        return domain
    return validate_email(f"x@{domain}", check_deliverability=check_deliverability).ascii_domain


def _validate_slow(text: str, check_deliverability: bool) -> Address:
    result = validate_email(text, check_deliverability=check_deliverability)
    ascii_domain = result.ascii_domain or result.domain
    email = result.ascii_email or result.normalized
    return Address(email=email, normalized=normalized_key(result.local_part, ascii_domain))


def validate_address(address: str, *, check_deliverability: bool = False) -> Address:
    """Validate and normalise ``address``; raise :class:`InvalidAddress` saying what is wrong."""
    if not isinstance(address, str):
        raise InvalidAddress(f"address {address!r} is not text")
    plain = _PLAIN_ADDRESS.match(address)  # the common case: no spaces, no controls, ASCII local part
    if plain is None:
        if _CONTROL.search(address):  # CR/LF could forge a header: never an address, never a crash
            raise InvalidAddress(f"address {address!r} contains a line break, control character or "
                                 "non-UTF-8 byte; remove it")
        address = address.strip()
        if not address:
            raise InvalidAddress("the address is empty; type an email address like jane@example.com")
        plain = _PLAIN_ADDRESS.match(address)
    try:
        if plain is not None:
            local, domain = plain.groups()
            ascii_domain = _ascii_domain(domain.lower(), check_deliverability)
            if len(local) <= MAX_LOCAL_LENGTH and len(local) + 1 + len(ascii_domain) <= MAX_ADDRESS_LENGTH:
                return Address(f"{local}@{ascii_domain}", normalized_key(local, ascii_domain))
        return _validate_slow(address, check_deliverability)
    except EmailNotValidError as exc:
        raise InvalidAddress(f"{address!r} is not a valid email address: {exc}") from None


def split_name_address(cell: str) -> tuple[str | None, str]:
    """``'Jane Doe <jane@example.com>'`` → ``('Jane Doe', 'jane@example.com')``; a bare address → ``(None, it)``."""
    if "<" not in cell:
        return None, cell
    match = _NAME_ADDR.match(cell)
    if not match:
        return None, cell
    quoted, bare, addr = match.groups()
    name = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
    return (name.strip() or None), addr.strip()
