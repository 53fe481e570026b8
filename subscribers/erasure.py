"""What forgetting a reader must reach: the erasers every store declares, and the traces they look for.

A package that keeps personal data about readers in a store of its own declares an eraser
in ``pyproject.toml``, group ``newsletter.erasers`` (``name = "package.module:function"``).
:func:`declared_erasers` loads them all from the installed metadata at the first ``forget``,
so erasure never depends on which modules a script happened to import; a declared eraser
that cannot be loaded stops ``forget`` before anything is changed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from newsletter.db import has_table
from newsletter.errors import ConfigError
from newsletter.workspace import Workspace

from .roster import identifier
from .verp import bounce_base, parse_bounce_address, unsubscribe_mailto

GROUP = "newsletter.erasers"
MASK = "…"

# eraser(ws, db, traces): erase what this store holds about the reader, inside forget's transaction.
Eraser = Callable[[Workspace, Any, "Traces"], None]


@functools.cache
def declared_erasers() -> tuple[tuple[str, Eraser], ...]:
    """(name, function) of every eraser the installed packages declare, in name order."""
    found = sorted(entry_points(group=GROUP), key=lambda ep: ep.name)
    if not found:
        raise ConfigError(
            f"no erasers are declared (entry point group {GROUP!r}): the package is not installed, so "
            "forgetting a reader could leave their data behind. Install it with: pip install -e ."
        )
    erasers = []
    for point in found:
        try:
            erasers.append((point.name, point.load()))
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"the eraser {point.name!r} ({point.value}) declared in pyproject.toml cannot be loaded: {exc}; "
                "nothing was forgotten. Reinstall the package (pip install -e .)"
            ) from exc
    return tuple(erasers)


@dataclass(frozen=True)
class Traces:
    """What names one reader in stored text: their address spellings and the signed addresses of their mail.

    ``addresses`` are lower-case, longest first; ``mailto`` is their List-Unsubscribe address;
    a VERP bounce address names them when its token carries their id (any issue).
    """

    ws: Workspace
    subscriber_id: int | None
    normalized: str
    addresses: tuple[str, ...]
    mailto: str | None

    def _verp_pattern(self) -> re.Pattern[str]:
        local, _, domain = bounce_base(self.ws).partition("@")
        return re.compile(rf"{re.escape(local)}\+[a-z0-9]+@{re.escape(domain)}", re.IGNORECASE)

    def _ours(self, text: str) -> list[str]:
        """The VERP bounce addresses in ``text`` whose token names this reader."""
        if self.subscriber_id is None:
            return []
        found = []
        for address in set(self._verp_pattern().findall(text)):
            target = parse_bounce_address(self.ws, address)
            if target is not None and target.subscriber_id == self.subscriber_id:
                found.append(address)
        return found

    def needles(self, text: str) -> list[str]:
        """Every spelling in ``text`` (case-insensitive) that names the reader, longest first."""
        fixed = [*self.addresses, *([self.mailto] if self.mailto else [])]
        return sorted({*fixed, *self._ours(text)}, key=len, reverse=True)

    def found_in(self, text: str) -> bool:
        """Whether ``text`` names the reader."""
        lowered = text.lower()
        return any(needle.lower() in lowered for needle in self.needles(text))

    def like_patterns(self) -> list[str]:
        """SQL ``LIKE`` patterns (match them against ``lower(column)``) that any text naming the reader fits.

        A cheap first sieve before :meth:`found_in` / :meth:`mask`; it may let more through.
        """
        patterns = [f"%{a}%" for a in self.addresses] + ([f"%{self.mailto}%"] if self.mailto else [])
        if self.subscriber_id is not None:
            local, _, domain = bounce_base(self.ws).lower().partition("@")
            patterns.append(f"%{local}+%@{domain}%")
        return patterns

    def mask(self, text: str) -> str:
        """``text`` with everything naming the reader replaced by ``…``."""
        pattern = re.compile("|".join(re.escape(n) for n in self.needles(text)), re.IGNORECASE)
        return pattern.sub(MASK, text)

    def mask_rows(self, db: Any, table: str, column: str = "detail") -> int:
        """Mask the reader in ``column`` of their own rows of ``table`` (one with ``id`` and ``subscriber_id``).

        For an eraser whose store keeps text per reader (a server's reply quoting the address, say).
        Returns how many rows changed; nothing for an address that was never a reader.
        """
        if self.subscriber_id is None or not has_table(db, identifier(table)):
            return 0
        column = identifier(column)
        rows = db.execute(
            f"SELECT id, {column} FROM {table} WHERE subscriber_id = ? AND {column} IS NOT NULL", [self.subscriber_id]
        ).fetchall()
        changed = [(masked, row_id) for row_id, text in rows if (masked := self.mask(text)) != text]
        db.conn.executemany(f"UPDATE {table} SET {column} = ? WHERE id = ?", changed)
        return len(changed)


def traces_of(ws: Workspace, subscriber_id: int | None, normalized: str, email: str | None = None) -> Traces:
    """The traces of a reader being forgotten (``subscriber_id`` None: an address that was never a reader)."""
    spellings = {normalized.lower(), *([email.lower()] if email else [])}
    mailto = unsubscribe_mailto(ws, subscriber_id).lower() if subscriber_id is not None else None
    return Traces(ws, subscriber_id, normalized, tuple(sorted(spellings, key=len, reverse=True)), mailto)
