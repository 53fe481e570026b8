"""The suppression list: keyed hashes of forgotten addresses, so nothing can silently add them back.

Only an HMAC of the normalised address (keyed with the workspace secret) is kept:
the list cannot be read back into addresses, but a given address can be checked.
Rotating the secret key empties the list in effect; keep the key.
"""

from __future__ import annotations

import hashlib
import hmac

from newsletter import clock
from newsletter.db import Database
from newsletter.workspace import Workspace

from .tokens import signing_key


def suppression_hash(ws: Workspace, normalized: str) -> str:
    """The keyed hash stored for a normalised address."""
    return hmac.new(signing_key(ws), b"suppression\x00" + normalized.encode(), hashlib.sha256).hexdigest()


def is_suppressed(db: Database, digest: str) -> bool:
    return db.execute("SELECT 1 FROM suppressions WHERE hash = ?", [digest]).fetchone() is not None


def suppress(db: Database, digest: str, reason: str) -> None:
    """Add a hash to the list (inside the caller's transaction); adding it twice is harmless."""
    db.execute(
        "INSERT INTO suppressions (hash, reason, at) VALUES (?, ?, ?) ON CONFLICT(hash) DO NOTHING",
        [digest, reason, clock.now_iso()],
    )
