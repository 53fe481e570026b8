"""Signed tokens: links in mail (confirm, unsubscribe) and short ones for mail local parts.

Link tokens are itsdangerous signatures with one salt per purpose, so a token made
for one purpose never passes as another.  A confirmation token carries the reader's
current confirmation nonce (a new one per opt-in round), so a link from an earlier
round cannot confirm a later one, and expires after ``[subscribers]
confirm_expiry_days``.  An unsubscribe token names one reader and never expires.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import want_bytes

from newsletter import clock
from newsletter.errors import ConfigError, NewsletterError, NotFound
from newsletter.workspace import Workspace

from .schema import database

PURPOSES = ("confirm", "unsubscribe")

COMPACT_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
COMPACT_SEPARATOR = "9"  # not a base32 digit, so the numbers split unambiguously
COMPACT_MAC_CHARS = 16  # 80 bits of HMAC-SHA256
COMPACT_MAX_LENGTH = 40

_MESSAGES = {
    "tampered": "this link is damaged or was not made by us; copy the whole link from the email",
    "expired": "this link has expired; subscribe again to get a new one",
    "wrong_purpose": "this link is meant for something else; use the matching link from the email",
    "unknown_reader": "this link names a reader we do not have (any more)",
}


class BadToken(NewsletterError):
    """A token that is refused; ``reason`` is one of tampered, expired, wrong_purpose, unknown_reader."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or _MESSAGES[reason])
        self.reason = reason


MIN_KEY_BYTES = 16


def signing_key(ws: Workspace) -> bytes:
    """The workspace secret, refused when empty or short (say, a key file read half-written)."""
    key = ws.secret_key
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            "the token signing key is missing or too short; set NEWSLETTER_SECRET_KEY "
            f"or check {ws.settings.paths.secret_key_file} in the workspace"
        )
    return key


class _ClockSigner(TimestampSigner):
    """Timestamps from :mod:`newsletter.clock` (tests move time for expiry); derived keys cached.

    A send makes one unsubscribe link per reader, so the per-call key derivation
    itsdangerous would repeat is done once per (key, salt) instead.
    """

    def get_timestamp(self) -> int:
        return int(clock.utcnow().timestamp())

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        return _derived_key(key, want_bytes(self.salt), self.key_derivation, self.digest_method)


@lru_cache(maxsize=64)
def _derived_key(secret_key: bytes, salt: bytes, key_derivation: str, digest_method: Any) -> bytes:
    signer = TimestampSigner(secret_key, salt=salt, key_derivation=key_derivation, digest_method=digest_method)
    return TimestampSigner.derive_key(signer)


@lru_cache(maxsize=16)
def _cached_serializer(secret_key: bytes, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"newsletter.subscribers.{purpose}", signer=_ClockSigner)


def _serializer(ws: Workspace, purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}; use one of {', '.join(PURPOSES)}")
    return _cached_serializer(signing_key(ws), purpose)


def _reader_row(ws: Workspace, subscriber_id: int) -> tuple[int, str] | None:
    """(id, confirm_nonce) of a reader who still exists (not forgotten), else None."""
    return database(ws).execute(
        "SELECT id, confirm_nonce FROM subscribers WHERE id = ? AND forgotten_at IS NULL", [subscriber_id]
    ).fetchone()


_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


class KeyedHash:
    """HMAC (RFC 2104) under one key, the padded key's two hash states made once.

    The same bytes as :func:`hmac.digest`; a send signs four values per reader, and
    copying two prepared states costs a third of setting up OpenSSL's HMAC each time.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes, digest: Any) -> None:
        new = (lambda data=b"": hashlib.new(digest, data)) if isinstance(digest, str) else digest
        block = new().block_size
        if len(key) > block:
            key = new(key).digest()
        key = key.ljust(block, b"\0")
        self._inner, self._outer = new(key.translate(_IPAD)), new(key.translate(_OPAD))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


@lru_cache(maxsize=16)
def _unsubscribe_signing(secret_key: bytes) -> KeyedHash:
    """The unsubscribe serializer's signature, with the derived key and digest taken from itsdangerous itself."""
    signer = _cached_serializer(secret_key, "unsubscribe").make_signer()
    return KeyedHash(signer.derive_key(), signer.digest_method)


def _b64(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def unsubscribe_token(ws: Workspace, subscriber_id: int) -> str:
    """The unsubscribe token, byte for byte what itsdangerous makes, without its per-call layers.

    A send makes one per reader: the JSON of an integer under ten digits never
    compresses, so the payload is its plain base64; the timestamp and signature are
    itsdangerous's own.  A longer one (zlib might shorten it) goes through itsdangerous.
    """
    if not 0 <= subscriber_id < 10**9:
        return _serializer(ws, "unsubscribe").dumps(int(subscriber_id))
    mac = _unsubscribe_signing(signing_key(ws))
    stamp = int(clock.utcnow().timestamp())
    value = _b64(str(int(subscriber_id)).encode()) + b"." + _b64(stamp.to_bytes(8, "big").lstrip(b"\x00"))
    return (value + b"." + _b64(mac.digest(value))).decode("ascii")


def make_token(ws: Workspace, purpose: str, subscriber_id: int) -> str:
    """A signed token for ``purpose`` ("confirm" or "unsubscribe") naming reader ``subscriber_id``."""
    serializer = _serializer(ws, purpose)
    if purpose == "unsubscribe":
        return unsubscribe_token(ws, subscriber_id)
    row = _reader_row(ws, subscriber_id)
    if row is None:
        raise NotFound(f"no reader with id {subscriber_id}")
    return serializer.dumps([row[0], row[1]])


def _load(ws: Workspace, token: str, purpose: str) -> Any:
    max_age = int(ws.settings.subscribers.confirm_expiry_days) * 86400 if purpose == "confirm" else None
    try:
        return _serializer(ws, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise BadToken("expired") from None
    except BadSignature:
        for other in PURPOSES:
            if other != purpose:
                try:
                    _serializer(ws, other).loads(token)
                except BadSignature:
                    continue
                raise BadToken("wrong_purpose") from None
        raise BadToken("tampered") from None


def read_confirm_token(ws: Workspace, token: str) -> tuple[int, str]:
    """(reader id, confirmation nonce) from a valid confirmation token, or raise :class:`BadToken`."""
    payload = _load(ws, token, "confirm")
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)):
        raise BadToken("tampered")
    if _reader_row(ws, payload[0]) is None:
        raise BadToken("unknown_reader")
    return payload[0], str(payload[1])


def read_token(ws: Workspace, token: str, purpose: str) -> int:
    """The reader id in a valid ``purpose`` token, or raise :class:`BadToken` with the reason."""
    if purpose == "confirm":
        return read_confirm_token(ws, token)[0]
    payload = _load(ws, token, purpose)
    if not isinstance(payload, int) or isinstance(payload, bool):
        raise BadToken("tampered")
    if _reader_row(ws, payload) is None:
        raise BadToken("unknown_reader")
    return payload


def _public_url(ws: Workspace) -> str:
    return str(ws.settings.site.public_url).rstrip("/")


def unsubscribe_url(ws: Workspace, subscriber_id: int) -> str:
    """The one-click unsubscribe link for one reader (never expires)."""
    return unsubscribe_url_base(ws) + unsubscribe_token(ws, subscriber_id)


def unsubscribe_url_base(ws: Workspace) -> str:
    """Every unsubscribe link up to its token (a send looks it up once for all its readers)."""
    return f"{_public_url(ws)}/unsubscribe/"


def confirm_url(ws: Workspace, subscriber_id: int) -> str:
    """The confirmation link for one reader's current opt-in round."""
    return f"{_public_url(ws)}/confirm/{make_token(ws, 'confirm', subscriber_id)}"


# --- compact tokens for email local parts (unsubscribe+<t>@, bounces+<t>@) -----------------------


def _b32_int(number: int) -> str:
    """``number`` in base 32 (:data:`COMPACT_ALPHABET`), no leading zero digit; ten bits per step."""
    if number < 0:
        raise ValueError(f"compact tokens hold non-negative integers, not {number}")
    digits = ""
    while number >= 1024:
        number, low = divmod(number, 1024)
        digits = _B32_PAIRS[low] + digits
    return (COMPACT_ALPHABET[number] if number < 32 else _B32_PAIRS[number]) + digits


def _int_b32(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + COMPACT_ALPHABET.index(char)
    return value


@lru_cache(maxsize=16)
def _compact_key(secret_key: bytes) -> KeyedHash:
    return KeyedHash(hmac.new(secret_key, b"newsletter.compact-token", hashlib.sha256).digest(), "sha256")


# Every pair of base32 digits (10 bits): 80 bits of MAC are 8 lookups, as base64.b32encode spells them.
_B32_PAIRS = [a + b for a in COMPACT_ALPHABET for b in COMPACT_ALPHABET]


def _mac_text(key: KeyedHash, purpose: str, body: str) -> str:
    digest = key.digest(f"{purpose}\x00{body}".encode())
    bits = int.from_bytes(digest[:10], "big")  # a send makes three per reader: no slow b32encode
    p = _B32_PAIRS
    return (p[bits >> 70] + p[(bits >> 60) & 1023] + p[(bits >> 50) & 1023] + p[(bits >> 40) & 1023]
            + p[(bits >> 30) & 1023] + p[(bits >> 20) & 1023] + p[(bits >> 10) & 1023] + p[bits & 1023])


def _compact_mac(ws: Workspace, purpose: str, body: str) -> str:
    return _mac_text(_compact_key(signing_key(ws)), purpose, body)


class CompactSigner:
    """:func:`compact_token` for many tokens of one workspace, its key looked up once (a send makes three per reader)."""

    __slots__ = ("_key",)

    def __init__(self, ws: Workspace) -> None:
        self._key = _compact_key(signing_key(ws))

    def token(self, purpose: str, *ints: int) -> str:
        """A short token (``[a-z0-9]``, at most 40 characters) carrying ``ints``, keyed to ``purpose``."""
        if not ints:
            raise ValueError("a compact token carries at least one integer")
        body = COMPACT_SEPARATOR.join([_b32_int(int(n)) for n in ints])
        token = body + _mac_text(self._key, purpose, body)
        if len(token) > COMPACT_MAX_LENGTH:
            raise ValueError(f"integers {ints} are too large for a {COMPACT_MAX_LENGTH}-character token")
        return token


def compact_token(ws: Workspace, purpose: str, *ints: int) -> str:
    """A short token (``[a-z0-9]``, at most 40 characters) carrying ``ints``, keyed to ``purpose``."""
    return CompactSigner(ws).token(purpose, *ints)


def read_compact_token(ws: Workspace, purpose: str, token: str) -> tuple[int, ...]:
    """The integers in a compact token made for ``purpose``; :class:`BadToken` ("tampered") otherwise.

    Mail systems may change the case of a local part, so the token is read case-insensitively.
    """
    token = token.strip().lower()
    body, mac = token[:-COMPACT_MAC_CHARS], token[-COMPACT_MAC_CHARS:]
    valid_chars = set(COMPACT_ALPHABET + COMPACT_SEPARATOR)
    if len(token) > COMPACT_MAX_LENGTH or not body or not set(body) <= valid_chars:
        raise BadToken("tampered")
    if not hmac.compare_digest(mac, _compact_mac(ws, purpose, body)):
        raise BadToken("tampered")
    parts = body.split(COMPACT_SEPARATOR)
    if any(not part for part in parts):
        raise BadToken("tampered")
    return tuple(_int_b32(part) for part in parts)
