"""DKIM (RFC 6376) for every mail: the workspace's key, the signature, the DNS record to publish.

Signing is ``rsa-sha256`` with ``relaxed/relaxed`` canonicalisation, computed here
and signed by ``cryptography`` (OpenSSL): dkimpy's pure-Python RSA takes about
17 ms a message, which would cap a send near 60 messages a second; this takes well
under one.  The tests verify every signature with dkimpy.  From, Subject,
List-Unsubscribe and List-Unsubscribe-Post (and the other singletons) are
over-signed: listed once more than they occur, so nobody can add a second copy.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError

KEY_BITS = 2048
# Signed, each once more than it occurs (over-signing); a header absent from a message is signed as absent.
SIGNED_HEADERS = (
    "from", "to", "subject", "date", "message-id", "reply-to", "list-id", "list-unsubscribe",
    "list-unsubscribe-post", "mime-version", "content-type", "auto-submitted", "feedback-id",
)
_SIGNED_KEYS = tuple((name, name.encode()) for name in SIGNED_HEADERS)
_WSP_RUN = re.compile(rb"[ \t]+")
_TRAILING_WSP = re.compile(rb"[ \t]+\r\n")
_FIELD_START = re.compile(rb"\r\n(?![ \t])")


def generate_key(path: Path) -> bytes:
    """Write a new 2048-bit RSA private key to ``path`` (mode 0600, never visible half-written); its PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd, tmp = tempfile.mkstemp(prefix=".dkim.", dir=path.parent)  # mkstemp makes the file 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return pem


def _load_private(pem: bytes, where: str):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"[dkim] key_file {where}: not a usable PEM private key ({exc}); "
                          "make a new one with 'openssl genrsa -out dkim.pem 2048'") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 1024:
        raise ConfigError(f"[dkim] key_file {where}: an RSA key of 2048 bits is needed")
    return key


def public_record(pem: bytes, where: str = "the DKIM key") -> str:
    """The TXT record value to publish at ``<selector>._domainkey.<domain>``: ``v=DKIM1; k=rsa; p=...``."""
    from cryptography.hazmat.primitives import serialization

    public = _load_private(pem, where).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode("ascii")


@functools.lru_cache(maxsize=256)
def relaxed_header(field: bytes) -> bytes:
    """One header field (with its CRLF) in relaxed canonical form (RFC 6376 3.4.2).

    Cached: a send signs the same static fields (From, Subject, List-Id, ...) in every message.
    """
    name, _, value = field.partition(b":")
    value = _WSP_RUN.sub(b" ", value.replace(b"\r\n", b"")).strip(b" \t")
    return name.strip().lower() + b":" + value + b"\r\n"


def relaxed_lines(piece: bytes) -> bytes:
    """Runs of WSP as one space and none before a line end: relaxed body form of whole lines (RFC 6376 3.4.4).

    Pieces that start and end at line boundaries can be canonicalised apart and joined.
    """
    if b"\t" in piece or b"  " in piece:
        piece = _WSP_RUN.sub(b" ", piece)
    return _TRAILING_WSP.sub(b"\r\n", piece) if b" \r\n" in piece else piece


def relaxed_body(body: bytes) -> bytes:
    """The body in relaxed canonical form: :func:`relaxed_lines`, without empty lines at the end."""
    body = relaxed_lines(body).rstrip(b"\r\n")
    return body + b"\r\n" if body else b""


class DkimSigner:
    """Signs message bytes for one domain and selector; :meth:`header` gives the DKIM-Signature line."""

    def __init__(self, pem: bytes, selector: str, domain: str, where: str = "the DKIM key") -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        self.key = _load_private(pem, where)
        self.selector, self.domain = selector, domain
        self._padding, self._hash = padding.PKCS1v15(), hashes.SHA256()  # made once, not per message

    def header(self, message: bytes) -> bytes:
        """The ``DKIM-Signature`` header field (CRLF-ended) for ``message`` (CRLF line ends)."""
        head, _, body = message.partition(b"\r\n\r\n")
        return self.header_for(head, hashlib.sha256(relaxed_body(body)).digest())

    def header_for(self, head: bytes, body_hash: bytes) -> bytes:
        """The ``DKIM-Signature`` field for a header block and the SHA-256 of its canonical body."""
        fields: dict[bytes, list[bytes]] = {}
        for field in _FIELD_START.split(head):
            fields.setdefault(field.split(b":", 1)[0].strip().lower(), []).append(field + b"\r\n")
        names: list[str] = []
        signed = b""
        for name, key in _SIGNED_KEYS:
            present = fields.get(key, ())
            for field in reversed(present):  # bottom-up, as verifiers select them
                signed += relaxed_header(field)
            names += [name] * (len(present) + 1)
        tags = (f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={self.domain}; s={self.selector}; "
                f"t={int(time.time())}; h={':'.join(names)}; bh={_BH_SLOT}; b=")
        # Folded once per second and header list: the body hash has a fixed length and no ';' or ':'.
        unsigned = b"DKIM-Signature: " + _fold(tags).replace(_BH_SLOT, base64.b64encode(body_hash).decode()).encode()
        data = signed + relaxed_header(unsigned + b"\r\n")[:-2]
        signature = base64.b64encode(self.key.sign(data, self._padding, self._hash)).decode()
        return unsigned + _fold_b64(signature) + b"\r\n"


_BH_SLOT = "#" * 44  # where the body hash goes: as long as a SHA-256 in base64


@functools.lru_cache(maxsize=64)
def _fold(tags: str) -> str:
    """Tag list folded after ``;`` and ``:`` into lines under 78 characters."""
    out, line = [], "DKIM-Signature: "
    for piece in re.findall(r"[^;:]*[;:]?", tags):
        if piece and len(line) + len(piece) > 76 and line.strip():
            out.append(line)
            line = " "
        line += piece.lstrip() if line == " " else piece
    out.append(line)
    return "\r\n".join(out)[len("DKIM-Signature: "):]


def _fold_b64(value: str) -> bytes:
    return "\r\n ".join([value[:40], *(value[i:i + 72] for i in range(40, len(value), 72))]).encode("ascii")


def signer_from_settings(settings, path_of: Callable[[str], Path], from_domain: str) -> DkimSigner | None:
    """The workspace's signer when ``[dkim] key_file`` is set (domain defaults to the From domain)."""
    dkim = settings.dkim
    if not dkim.key_file:
        return None
    path = path_of(str(dkim.key_file))
    selector = str(dkim.selector).strip()
    if not selector:
        raise ConfigError("[dkim] selector is empty; set it to the selector published in DNS")
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"[dkim] key_file {path}: {exc.strerror}; point it at a PEM private key "
                          "(or empty key_file to send unsigned)") from None
    return _cached_signer(pem, selector, (str(dkim.domain).strip() or from_domain).lower(), str(path))


_SIGNERS: dict[tuple, DkimSigner] = {}


def _cached_signer(pem: bytes, selector: str, domain: str, where: str) -> DkimSigner:
    key = (hashlib.sha256(pem).digest(), selector, domain)
    signer = _SIGNERS.get(key)
    if signer is None:
        if len(_SIGNERS) > 16:
            _SIGNERS.clear()
        signer = _SIGNERS[key] = DkimSigner(pem, selector, domain, where)
    return signer
