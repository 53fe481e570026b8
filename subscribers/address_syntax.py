"""The plain shape most addresses have, checked without loading email-validator.

``plain_address`` accepts a dot-atom local part (ASCII, or with letters and digits of other
scripts already in NFC form) at an LDH domain that email-validator would accept, and returns
what the library would make of it with the reader's normalised key; ``None`` means "ask the
library" (quoted local parts, IDNA, special-use or odd domains, over-long parts, other
Unicode).  The rules copied from the library below are checked against
the library itself in tests/test_subscribers_addresses.py, so an upgrade that changes
them fails a test instead of letting the two disagree.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# email_validator.rfc_constants: ATEXT, HOSTNAME_LABEL/DOT_ATOM_TEXT_HOSTNAME, DOMAIN_NAME_REGEX, limits.
ATEXT = r"a-zA-Z0-9_!#\$%&\'\*\+\-/=\?\^`\{\|\}~"
HOSTNAME_LABEL = r"(?:(?:[a-zA-Z0-9][a-zA-Z0-9\-]*)?[a-zA-Z0-9])"
DOT_ATOM_TEXT_HOSTNAME = re.compile(HOSTNAME_LABEL + r"(?:\." + HOSTNAME_LABEL + r")*\Z")
DOMAIN_NAME_REGEX = re.compile(r"[A-Za-z]\Z")  # the TLD ends with a letter
DNS_LABEL_LENGTH_LIMIT = 63
DOMAIN_MAX_LENGTH = 253
LOCAL_PART_MAX_LENGTH = 64
EMAIL_MAX_LENGTH = 254
# email_validator.SPECIAL_USE_DOMAIN_NAMES: refused, with every name under them.
SPECIAL_USE_DOMAIN_NAMES = ("arpa", "invalid", "local", "localhost", "onion", "test")
_SPECIAL_USE_TLDS = frozenset(SPECIAL_USE_DOMAIN_NAMES)  # each is one label: a domain is under one by its TLD

# email_validator.rfc_constants.CASE_INSENSITIVE_MAILBOX_NAMES: the library lower-cases these local parts.
CASE_INSENSITIVE_MAILBOX_NAMES = frozenset({
    "info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster", "hostmaster", "usenet",
    "news", "webmaster", "www", "uucp", "ftp",
})

# A dot-atom local part and an ASCII domain; anything else goes to the library whole.
_PLAIN_ADDRESS = re.compile(rf"([{ATEXT}]+(?:\.[{ATEXT}]+)*)@([A-Za-z0-9.-]+)\Z")
_INTL_ATEXT = ATEXT + "\u0080-\U0010FFFF"


@lru_cache(maxsize=1)
def _intl_address() -> re.Pattern[str]:
    """The same shape with a local part of any script (compiled on first use: ~15 ms, which a command
    that checks one ASCII address should not pay)."""
    return re.compile(rf"([{_INTL_ATEXT}]+(?:\.[{_INTL_ATEXT}]+)*)@([A-Za-z0-9.-]+)\Z")

_RESERVED_LDH = re.compile(r"(?:^|\.)(?!xn)..--")  # R-LDH labels ("ab--"), refused unless Punycode


def normalized_key(local: str, ascii_domain: str) -> str:
    """The reader's identity: local part and IDNA (ASCII) domain, both lower-cased.

    RFC 5321 lets a server treat the local part case-sensitively, but practically no
    mailbox provider does; treating ``Jane@`` and ``jane@`` as two readers would mail
    one person twice and let an unsubscribe under one spelling miss the other.
    """
    return f"{local.lower()}@{ascii_domain.lower()}"


def plain_ascii_domain(domain: str) -> bool:
    """True when the library would accept lower-case ASCII ``domain`` unchanged (syntax only).

    The library's own checks for the one shape that needs no IDNA or Unicode work: LDH
    labels, a dot, a TLD ending in a letter, not special-use.  Punycode, reserved labels
    and anything else are left to the library.
    """
    return (
        len(domain) <= DOMAIN_MAX_LENGTH
        and "." in domain
        and DOT_ATOM_TEXT_HOSTNAME.match(domain) is not None
        and "xn--" not in domain
        and _RESERVED_LDH.search(domain) is None
        and all(len(label) <= DNS_LABEL_LENGTH_LIMIT for label in domain.split("."))
        and DOMAIN_NAME_REGEX.search(domain) is not None
        and domain.rpartition(".")[2] not in _SPECIAL_USE_TLDS
    )


@lru_cache(maxsize=65536)
def _plain_domain(domain: str) -> str | None:
    """``domain`` lower-cased when it is plain, else None (once per distinct spelling)."""
    lowered = domain.lower()
    return lowered if plain_ascii_domain(lowered) else None


def split_plain(text: str) -> tuple[str, str] | None:
    """(local part, domain) when ``text`` is a dot-atom ASCII local part at an ASCII domain, else None."""
    match = _PLAIN_ADDRESS.match(text)
    return None if match is None else match.groups()


def _plain_intl_local(local: str) -> bool:
    """True for a local part whose non-ASCII characters are all letters or digits, already in NFC form.

    The library accepts these unchanged (a subset of what it allows: no marks, symbols or
    punctuation outside ASCII, nothing its NFC step would alter).
    """
    return unicodedata.is_normalized("NFC", local) and all(
        c.isascii() or unicodedata.category(c)[0] in "LN" for c in local
    )


def plain_address(text: str) -> tuple[str, str] | None:
    """(address to send to, normalised key) when ``text`` has the plain shape; None to ask the library."""
    match = _PLAIN_ADDRESS.match(text)
    if match is None:
        if text.isascii() or (match := _intl_address().match(text)) is None or not _plain_intl_local(match[1]):
            return None
    local, domain = match.groups()
    ascii_domain = _plain_domain(domain)
    if ascii_domain is None or len(local) > LOCAL_PART_MAX_LENGTH:
        return None
    lowered = local.lower()
    if lowered in CASE_INSENSITIVE_MAILBOX_NAMES and local.isascii():
        local = lowered
    address = f"{local}@{ascii_domain}"
    if len(address) > EMAIL_MAX_LENGTH or (not address.isascii() and len(address.encode()) > EMAIL_MAX_LENGTH):
        return None
    return address, f"{lowered}@{ascii_domain}"
