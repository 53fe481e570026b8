"""The address fast path accepts and normalises exactly what email-validator does."""

from __future__ import annotations

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from subscribers import address_syntax
from subscribers.address_syntax import plain_address
from subscribers.address_syntax import plain_ascii_domain as _plain_ascii_domain
from subscribers.addresses import InvalidAddress, validate_address

TRICKY_DOMAINS = [
    "example.com", "a.b.c.d.e", "x.co", "mail-1.example.org", "1.example.com", "ab--cd.com", "xn--bcher-kva.example",
    "xn--.com", "-lead.com", "trail-.com", "a..b.com", ".com", "com.", "localhost", "host.local", "box.internal",
    "foo.invalid", "foo.test", "foo.onion", "foo.arpa", "10.0.0.1", "foo.123", "foo.c0m", "a" * 63 + ".com",
    "a" * 64 + ".com", ".".join(["abcdefghi"] * 26) + ".com", "UPPER.EXAMPLE.COM".lower(), "home.arpa", "x.y-",
    "under_score.com", "ex--ample.com", "exa--mple.com", "nodot",
]


def _library(domain: str) -> str | None:
    try:
        return validate_email(f"x@{domain}", check_deliverability=False).ascii_domain
    except EmailNotValidError:
        return None


@pytest.mark.parametrize("domain", TRICKY_DOMAINS)
def test_the_fast_domain_check_never_accepts_what_the_library_refuses(domain):
    if _plain_ascii_domain(domain):
        assert _library(domain) == domain


def test_the_fast_domain_check_agrees_on_random_domains():
    rng = random.Random(5)
    alphabet = "abcxyz019-."
    accepted = 0
    for _ in range(5000):
        domain = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14))) + rng.choice(["", ".com", ".x1", ".io"])
        if _plain_ascii_domain(domain):
            accepted += 1
            assert _library(domain) == domain, domain
    assert accepted > 500  # the fast path is actually taken


@pytest.mark.parametrize("address", ["Jane.Doe@Example.COM", "j+tag@sub.example.org", "ü@exämple.de", "a@xn--bcher-kva.example"])
def test_addresses_normalise_like_the_library(address):
    ours = validate_address(address)
    theirs = validate_email(address, check_deliverability=False)
    assert ours.normalized == f"{theirs.local_part.lower()}@{theirs.ascii_domain.lower()}"
    assert ours.email == (theirs.ascii_email or theirs.normalized)


@pytest.mark.parametrize("address", ["a@localhost", "a@b..com", "a@-x.com", "a@x.invalid", "a@ab--c.com"])
def test_refused_addresses_say_why(address):
    with pytest.raises(InvalidAddress, match="not a valid email address"):
        validate_address(address)


def test_the_copied_rules_are_the_librarys():
    """address_syntax keeps its own copy of the library's rules (so it loads without it); they must match."""
    import email_validator
    from email_validator import rfc_constants

    assert address_syntax.ATEXT == rfc_constants.ATEXT
    assert address_syntax.DOT_ATOM_TEXT_HOSTNAME.pattern == rfc_constants.DOT_ATOM_TEXT_HOSTNAME.pattern
    assert address_syntax.DOMAIN_NAME_REGEX.pattern == rfc_constants.DOMAIN_NAME_REGEX.pattern
    for name in ("DNS_LABEL_LENGTH_LIMIT", "DOMAIN_MAX_LENGTH", "LOCAL_PART_MAX_LENGTH", "EMAIL_MAX_LENGTH"):
        assert getattr(address_syntax, name) == getattr(rfc_constants, name), name
    assert sorted(address_syntax.SPECIAL_USE_DOMAIN_NAMES) == sorted(email_validator.SPECIAL_USE_DOMAIN_NAMES)
    assert all("." not in name for name in address_syntax.SPECIAL_USE_DOMAIN_NAMES)  # so one is known by its TLD


TRICKY_ADDRESSES = [
    "jane@example.com", "Jane.Doe@Example.COM", "j+tag@sub.example.org", "o'brien@example.ie", "x!#$%&'*+/=?^_`{|}~-@a.io",
    "a.b.c@example.com", ".lead@example.com", "trail.@example.com", "dou..ble@example.com", "a" * 64 + "@example.com",
    "a" * 65 + "@example.com", "a@" + "b" * 63 + ".com", "a@" + "b" * 64 + ".com",
    "a" * 64 + "@" + ".".join(["c" * 60] * 3) + ".com", "a" * 60 + "@" + ".".join(["c" * 61] * 3) + ".org",
    "jane@localhost", "jane@mail.local", "jane@x.test", "jane@ab--cd.com", "jane@xn--bcher-kva.de", "jane@-x.com",
    "jane@x-.com", "jane@x.c0m", "jane@x.123", "jane@10.0.0.1", "jane@[10.0.0.1]", '"quoted"@example.com',
    "jane@exa_mple.com", "jane@example.com.", "jane@.example.com", "jane@@example.com", "jane@", "@example.com",
    "jane doe@example.com", "jané@example.com", "jane@exämple.com", "JANE@EXAMPLE.COM", "postmaster@example.com",
    "jane@EXAMPLE.CoM", "1@2.io", "jane@a.b", "jane@example.invalid", "jane@home.arpa", "jane@foo.onion",
    "Info@Example.com", "POSTMASTER@example.com", "Www@example.com", "infos@example.com", "køde16@Hotmail.com",
    "Ødegaard@example.no", "ÆØÅ.æøå@example.no", "jöhn.dœ@example.de", "ä\u0308x@example.com", "\u0308ax@example.com",
    "a\u0301b@example.com", "a\u00e1b@example.com", "名前@example.jp", "١٢٣@example.eg", "x\u200bx@example.com",
    "x\u00a0x@example.com", "x\u2028x@example.com", "x\ue000x@example.com", "mar\u212aeting@example.com",
    "x€@example.com", "x¿@example.com", "ø" * 64 + "@example.com", "ø" * 65 + "@example.com",
    "ø" * 60 + "@" + ".".join(["c" * 60] * 3) + ".com", "ø" * 30 + "@" + ".".join(["c" * 60] * 3) + ".com",
    "jane@bücher.de", "ø@xn--bcher-kva.de", "ø..x@example.com", "ø.@example.com", "ø@example",
]


def _library_address(address: str) -> tuple[str, str] | None:
    try:
        found = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    domain = found.ascii_domain or found.domain
    return (found.ascii_email or found.normalized), f"{found.local_part.lower()}@{domain.lower()}"


@pytest.mark.parametrize("address", TRICKY_ADDRESSES)
def test_the_plain_shape_agrees_with_the_library(address):
    """What the fast path decides, the library decides the same way; what it leaves, validate_address still agrees."""
    theirs = _library_address(address)
    ours = plain_address(address)
    if ours is not None:
        assert ours == theirs
    try:
        whole = tuple(validate_address(address))
    except InvalidAddress:
        whole = None
    assert whole == theirs


def test_the_plain_shape_agrees_on_random_addresses():
    rng = random.Random(11)
    locals_ = "abcXYZ09.+-_'!øÅ名\u0301\u00a0€"
    accepted = 0
    for _ in range(3000):
        local = "".join(rng.choice(locals_) for _ in range(rng.randint(1, 12)))
        domain = "".join(rng.choice("abcXY09-.") for _ in range(rng.randint(1, 12))) + rng.choice(["", ".com", ".Io", ".x1"])
        address = f"{local}@{domain}"
        ours = plain_address(address)
        if ours is not None:
            accepted += 1
            assert ours == _library_address(address), address
    assert accepted > 300
