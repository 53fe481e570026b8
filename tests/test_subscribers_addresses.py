"""The address fast path accepts and normalises exactly what email-validator does."""

from __future__ import annotations

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from subscribers.addresses import InvalidAddress, _plain_ascii_domain, validate_address

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
