"""Reader addresses and names: validation, the one normalised form per reader, header safety.

Validation is email-validator's (syntax, internationalised domains, DNS only when
``[subscribers] check_deliverability`` asks).  The plain shape most addresses have is
decided by :mod:`.address_syntax` without it (a million-row import stays quick, a command
that checks one address starts quickly); anything else goes to the library, imported then.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple

from newsletter.errors import InvalidInput

from .address_syntax import (
    EMAIL_MAX_LENGTH,
    LOCAL_PART_MAX_LENGTH,
    normalized_key,
    plain_address,
    split_plain,
)

MAX_NAME_LENGTH = 200

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


def validate_email(address: str, **options: Any) -> Any:
    """email-validator's check, loaded on first use (most addresses never need it; start-up stays quick)."""
    from email_validator import validate_email as library_check

    return library_check(address, **options)


@lru_cache(maxsize=65536)
def _ascii_domain(domain: str, check_deliverability: bool) -> str:
    """Validate a domain once (per process): its ASCII (IDNA) form, or raise EmailNotValidError."""
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
    if not check_deliverability and (plain := plain_address(address)) is not None:
        return Address(*plain)  # the common case, decided without the library
    if _CONTROL.search(address):  # CR/LF could forge a header: never an address, never a crash
        raise InvalidAddress(f"address {address!r} contains a line break, control character or "
                             "non-UTF-8 byte; remove it")
    address = address.strip()
    if not address:
        raise InvalidAddress("the address is empty; type an email address like jane@example.com")
    from email_validator import EmailNotValidError

    try:
        if not check_deliverability and (plain := plain_address(address)) is not None:
            return Address(*plain)
        if (split := split_plain(address)) is not None:  # a plain local part: the domain is checked once
            local, domain = split
            ascii_domain = _ascii_domain(domain.lower(), check_deliverability)
            if len(local) <= LOCAL_PART_MAX_LENGTH and len(local) + 1 + len(ascii_domain) <= EMAIL_MAX_LENGTH:
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
