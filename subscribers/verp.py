"""Addresses that carry a signed reader token: the VERP envelope sender and the unsubscribe mailto.

Each issue goes out from ``bounces+<token>@domain`` where the token (see
:func:`subscribers.compact_token`) names the reader and the issue number, so a
bounce arriving there says exactly who bounced on which issue without parsing
the bounce's text.  ``unsubscribe+<token>@domain`` is the mailto in
List-Unsubscribe.  The inbound side parses both with the functions below.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from email.utils import parseaddr

from newsletter.errors import ConfigError
from newsletter.mail import domain_of_from as _domain_of
from newsletter.mail import sender_domain
from newsletter.workspace import Workspace

from .tokens import BadToken, CompactSigner, read_compact_token

log = logging.getLogger(__name__)

__all__ = ["BounceTarget", "ReaderAddresses", "bounce_base", "bounce_sender", "parse_bounce_address", "parse_unsubscribe_address",
           "sender_domain", "unsubscribe_mailto"]

BOUNCE_PURPOSE = "bounce"
UNSUBSCRIBE_PURPOSE = "unsubscribe"


@dataclass(frozen=True)
class BounceTarget:
    """Whom a bounce concerns: the reader and the issue number their message belonged to."""

    subscriber_id: int
    issue_number: int


def _mailbox(ws: Workspace, setting: str, default_local: str) -> tuple[str, str]:
    """(local part, domain) of ``[delivery] <setting>``, or ``default_local@<from domain>`` when unset."""
    return _split_mailbox(setting, str(ws.settings.delivery[setting]).strip(), default_local,
                          str(ws.settings.site["from"]))


@functools.lru_cache(maxsize=64)
def _split_mailbox(setting: str, configured: str, default_local: str, from_header: str) -> tuple[str, str]:
    if not configured:
        return default_local, _domain_of(from_header)
    local, sep, domain = configured.rpartition("@")
    if not sep or not local or not domain or "+" in local:
        raise ConfigError(
            f"[delivery] {setting} = {configured!r} must be a plain address like {default_local}@example.com"
        )
    return local, domain.lower()


def bounce_base(ws: Workspace) -> str:
    """The plain bounce mailbox (``[delivery] bounce_address`` or ``bounces@<from domain>``)."""
    local, domain = _mailbox(ws, "bounce_address", "bounces")
    return f"{local}@{domain}"


def bounce_sender(ws: Workspace, subscriber_id: int, issue_number: int) -> str:
    """The VERP envelope sender for one reader's copy of one issue: ``bounces+<token>@domain``."""
    return ReaderAddresses(ws).bounce_sender(subscriber_id, issue_number)


def unsubscribe_mailto(ws: Workspace, subscriber_id: int) -> str:
    """The address a reader's mail client writes to for List-Unsubscribe: ``unsubscribe+<token>@domain``."""
    return ReaderAddresses(ws).unsubscribe_mailto(subscriber_id)


class ReaderAddresses:
    """:func:`bounce_sender` and :func:`unsubscribe_mailto` for many readers, the mailboxes looked up once (a send)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @functools.cached_property
    def bounce(self) -> tuple[str, str]:
        return _mailbox(self.ws, "bounce_address", "bounces")

    @functools.cached_property
    def unsubscribe(self) -> tuple[str, str]:
        return _mailbox(self.ws, "unsubscribe_address", "unsubscribe")

    @functools.cached_property
    def signer(self) -> CompactSigner:
        """The compact-token signer, its key looked up once for all the readers."""
        return CompactSigner(self.ws)

    def bounce_sender(self, subscriber_id: int, issue_number: int) -> str:
        local, domain = self.bounce
        return f"{local}+{self.signer.token(BOUNCE_PURPOSE, subscriber_id, issue_number)}@{domain}"

    def unsubscribe_mailto(self, subscriber_id: int) -> str:
        local, domain = self.unsubscribe
        return f"{local}+{self.signer.token(UNSUBSCRIBE_PURPOSE, subscriber_id)}@{domain}"


def _token_of(ws: Workspace, address: str, setting: str, default_local: str) -> str | None:
    """The ``<token>`` of ``local+<token>@domain`` when local and domain are ours, else None."""
    address = parseaddr(address.strip())[1] or address.strip().strip("<>")
    local, sep, domain = address.rpartition("@")
    base_local, base_domain = _mailbox(ws, setting, default_local)
    prefix, plus, token = local.partition("+")
    if not sep or not plus or prefix.lower() != base_local.lower() or domain.lower() != base_domain:
        return None
    return token


def _numbers_of(ws: Workspace, address: str, setting: str, default_local: str, purpose: str) -> tuple[int, ...]:
    """The numbers in the token of one of our ``local+<token>@domain`` addresses; () if not ours or forged."""
    token = _token_of(ws, address, setting, default_local)
    if token is None:
        return ()
    try:
        return read_compact_token(ws, purpose, token)
    except BadToken:
        log.warning("%s address %r carries a token we did not make", default_local, address)
        return ()


def parse_bounce_address(ws: Workspace, address: str) -> BounceTarget | None:
    """The reader and issue a VERP bounce address names; None if it is not ours or the token is forged."""
    numbers = _numbers_of(ws, address, "bounce_address", "bounces", BOUNCE_PURPOSE)
    return BounceTarget(numbers[0], numbers[1]) if len(numbers) == 2 else None


def parse_unsubscribe_address(ws: Workspace, address: str) -> int | None:
    """The reader id in an ``unsubscribe+<token>@domain`` address; None if not ours or forged."""
    numbers = _numbers_of(ws, address, "unsubscribe_address", "unsubscribe", UNSUBSCRIBE_PURPOSE)
    return numbers[0] if len(numbers) == 1 else None
