"""Every way a token can fail: tampered, expired, wrong purpose, another reader's, unknown reader."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from test_subscribers_helpers import MovableClock, install_clock

import subscribers
from subscribers import BadToken
from subscribers.tokens import COMPACT_MAX_LENGTH


@pytest.fixture
def moving_clock(monkeypatch: pytest.MonkeyPatch) -> MovableClock:
    return install_clock(monkeypatch)


@pytest.fixture
def two_readers(workspace):
    for address in ("ann@example.com", "bob@example.com"):
        subscribers.subscribe(workspace, address, source="cli", confirmed=True, consent_text="test")
    return [subscribers.get_subscriber(workspace, a).id for a in ("ann@example.com", "bob@example.com")]


def reason(ws, token, purpose):
    with pytest.raises(BadToken) as excinfo:
        subscribers.read_token(ws, token, purpose)
    return excinfo.value.reason


def test_round_trip(workspace, two_readers):
    ann, bob = two_readers
    for purpose in ("confirm", "unsubscribe"):
        assert subscribers.read_token(workspace, subscribers.make_token(workspace, purpose, ann), purpose) == ann
        assert subscribers.read_token(workspace, subscribers.make_token(workspace, purpose, bob), purpose) == bob
    assert subscribers.confirm_url(workspace, ann).startswith("https://news.example.com/confirm/")
    assert subscribers.unsubscribe_url(workspace, ann).startswith("https://news.example.com/unsubscribe/")


@pytest.mark.parametrize("purpose", ["confirm", "unsubscribe"])
def test_tampered(workspace, two_readers, purpose):
    token = subscribers.make_token(workspace, purpose, two_readers[0])
    # Flip a character inside the signature: the last one carries unused padding bits, so changing
    # it can decode to the very same bytes (a flaky test, not a weak token).
    at = len(token) - 5
    flipped = token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]
    assert reason(workspace, flipped, purpose) == "tampered"
    assert reason(workspace, "", purpose) == "tampered"
    assert reason(workspace, "not-a-token", purpose) == "tampered"


@pytest.mark.parametrize("purpose", ["confirm", "unsubscribe"])
def test_another_readers_token_cannot_be_made_from_ones_own(workspace, two_readers, purpose):
    """Swapping in another reader's id breaks the signature: a token names exactly one reader."""
    ann, bob = two_readers
    token = subscribers.make_token(workspace, purpose, ann)
    payload, rest = token.split(".", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data = [bob, data[1]] if isinstance(data, list) else bob
    forged = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    assert reason(workspace, f"{forged}.{rest}", purpose) == "tampered"


def test_a_token_from_another_workspace_key_is_tampered(workspace, two_readers, tmp_path, monkeypatch):
    from newsletter.init import init_workspace

    other = init_workspace(tmp_path / "other")
    subscribers.subscribe(other, "ann@example.com", source="cli", confirmed=True, consent_text="test")
    token = subscribers.make_token(other, "unsubscribe", 1)
    assert reason(workspace, token, "unsubscribe") == "tampered"
    other.close()


def test_confirm_token_expires(workspace, moving_clock):
    subscribers.subscribe(workspace, "slow@example.com")
    reader = subscribers.get_subscriber(workspace, "slow@example.com")
    token = subscribers.make_token(workspace, "confirm", reader.id)
    moving_clock.advance(days=6, hours=23)
    assert subscribers.read_token(workspace, token, "confirm") == reader.id
    moving_clock.advance(hours=2)
    assert reason(workspace, token, "confirm") == "expired"
    with pytest.raises(BadToken):
        subscribers.confirm(workspace, token)
    assert subscribers.get_subscriber(workspace, reader.id).status == "pending"


def test_confirm_expiry_follows_the_setting(tmp_path, monkeypatch, moving_clock):
    from newsletter.init import init_workspace

    monkeypatch.setenv("NEWSLETTER_SUBSCRIBERS_CONFIRM_EXPIRY_DAYS", "1")
    ws = init_workspace(tmp_path / "short")
    subscribers.subscribe(ws, "quick@example.com")
    token = subscribers.make_token(ws, "confirm", 1)
    moving_clock.advance(hours=25)
    assert reason(ws, token, "confirm") == "expired"
    ws.close()


def test_unsubscribe_token_never_expires(workspace, two_readers, moving_clock):
    token = subscribers.make_token(workspace, "unsubscribe", two_readers[0])
    moving_clock.advance(days=3650)
    assert subscribers.read_token(workspace, token, "unsubscribe") == two_readers[0]


def test_wrong_purpose_both_ways(workspace, two_readers):
    confirm_token = subscribers.make_token(workspace, "confirm", two_readers[0])
    unsubscribe_token = subscribers.make_token(workspace, "unsubscribe", two_readers[0])
    assert reason(workspace, confirm_token, "unsubscribe") == "wrong_purpose"
    assert reason(workspace, unsubscribe_token, "confirm") == "wrong_purpose"
    with pytest.raises(BadToken) as excinfo:
        subscribers.confirm(workspace, unsubscribe_token)
    assert excinfo.value.reason == "wrong_purpose"


def test_unknown_reader(workspace, two_readers):
    token = subscribers.make_token(workspace, "unsubscribe", 999)
    assert reason(workspace, token, "unsubscribe") == "unknown_reader"
    forgotten = subscribers.make_token(workspace, "unsubscribe", two_readers[1])
    subscribers.forget(workspace, two_readers[1])
    assert reason(workspace, forgotten, "unsubscribe") == "unknown_reader"


def test_bad_token_messages_are_one_line(workspace):
    for why in ("tampered", "expired", "wrong_purpose", "unknown_reader"):
        error = BadToken(why)
        assert error.reason == why and "\n" not in str(error)


def test_compact_tokens(workspace):
    token = subscribers.compact_token(workspace, "bounce", 202647, 1_000_000)
    assert len(token) <= COMPACT_MAX_LENGTH and token.isalnum() and token == token.lower()
    assert subscribers.read_compact_token(workspace, "bounce", token) == (202647, 1_000_000)
    assert subscribers.read_compact_token(workspace, "bounce", token.upper()) == (202647, 1_000_000)
    assert subscribers.read_compact_token(workspace, "unsubscribe", subscribers.compact_token(workspace, "unsubscribe", 7)) == (7,)
    assert subscribers.compact_token(workspace, "bounce", 0) != subscribers.compact_token(workspace, "bounce", 1)


@pytest.mark.parametrize("mangle", [
    lambda t: ("b" if t[0] != "b" else "c") + t[1:],  # another number
    lambda t: t[:-1] + ("a" if t[-1] != "a" else "b"),  # another MAC
    lambda t: t[:-2],
    lambda t: "",
    lambda t: t + "x",
    lambda t: "1" + t,  # not in the alphabet
])
def test_compact_token_tampering(workspace, mangle):
    token = subscribers.compact_token(workspace, "bounce", 42, 7)
    with pytest.raises(BadToken) as excinfo:
        subscribers.read_compact_token(workspace, "bounce", mangle(token))
    assert excinfo.value.reason == "tampered"


def test_compact_token_purpose_and_limits(workspace):
    token = subscribers.compact_token(workspace, "bounce", 42)
    with pytest.raises(BadToken):
        subscribers.read_compact_token(workspace, "unsubscribe", token)
    with pytest.raises(ValueError):
        subscribers.compact_token(workspace, "bounce", 2**200)
    with pytest.raises(ValueError):
        subscribers.compact_token(workspace, "bounce", -1)


def test_an_empty_or_short_key_is_refused(workspace):
    from newsletter.errors import ConfigError

    workspace.__dict__["secret_key"] = b""  # as if the key file had been read before it was written
    with pytest.raises(ConfigError, match="signing key"):
        subscribers.make_token(workspace, "unsubscribe", 1)
    with pytest.raises(ConfigError):
        subscribers.compact_token(workspace, "bounce", 1)
    with pytest.raises(ConfigError):
        subscribers.subscribe(workspace, "a@example.com")


@pytest.mark.parametrize("reader_id", [0, 1, 7, 999, 2**31, 10**15])
def test_the_unsubscribe_token_made_directly_is_the_one_itsdangerous_makes(workspace, moving_clock, reader_id):
    """A send makes it with hmac directly (one per reader): byte for byte itsdangerous's own token."""
    from subscribers.tokens import _serializer, unsubscribe_token

    for _ in range(3):
        assert unsubscribe_token(workspace, reader_id) == _serializer(workspace, "unsubscribe").dumps(reader_id)
        moving_clock.advance(days=400, seconds=17)


@pytest.mark.parametrize("number", [0, 1, 31, 32, 1023, 1024, 1025, 32**3 - 1, 32**3, 2**40 + 5])
def test_compact_token_numbers_round_trip_across_digit_boundaries(workspace, number):
    token = subscribers.compact_token(workspace, "bounce", number, 3)
    assert subscribers.read_compact_token(workspace, "bounce", token) == (number, 3)
    assert token[:-16].split("9")[0][:1] != "a" or number == 0  # no leading zero digit


def test_a_sends_signer_makes_the_same_compact_tokens(workspace):
    from subscribers.tokens import CompactSigner

    signer = CompactSigner(workspace)
    for number in (0, 5, 70_000, 10**9):
        assert signer.token("message-id", number, 12) == subscribers.compact_token(workspace, "message-id", number, 12)


@pytest.mark.parametrize("digest", ["sha256", "sha1", hashlib.sha512])
@pytest.mark.parametrize("key_length", [0, 16, 64, 65, 200])
def test_a_keyed_hash_is_hmac(digest, key_length):
    from subscribers.tokens import KeyedHash

    key = bytes(range(key_length % 256)) * (key_length // 256 + 1)
    key = key[:key_length]
    mac = KeyedHash(key, digest)
    for message in (b"", b"bounce\x00abc", b"x" * 300):
        assert mac.digest(message) == hmac.digest(key, message, digest)
