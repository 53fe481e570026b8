"""The subscriber store: readers, consent events, signed tokens, opt-in, leaving, import and export.

Other packages use only the names below (the contract in the team brief, held by
tests/test_import_contracts.py); the tables are this package's own.
"""

from newsletter.lazy import lazy_exports

from .addresses import InvalidAddress, validate_address
from .erasure import Traces
from .forget import forget, on_forget
from .roster import contacts_of, count_confirmed, note_event, snapshot_confirmed, status_of
from .signup import Registration, SubscribeOutcome, confirm, register, subscribe
from .store import (
    Event,
    Subscriber,
    confirmed_since,
    get_subscriber,
    is_confirmed,
    iter_confirmed,
    mark_bounced,
    mark_complained,
    record_event,
    unsubscribe,
)
from .tokens import (
    BadToken,
    compact_token,
    confirm_url,
    make_token,
    read_compact_token,
    read_token,
    unsubscribe_url,
)
from .verp import (
    BounceTarget,
    bounce_base,
    bounce_sender,
    parse_bounce_address,
    parse_unsubscribe_address,
    sender_domain,
    unsubscribe_mailto,
)

# The web side loads Flask, so it is imported on first use: ``from subscribers import blueprint``.
__getattr__ = lazy_exports(__name__, {"blueprint": "web:bp", "mail_worker": "web:mail_worker"})

__all__ = [
    "BadToken",
    "BounceTarget",
    "Event",
    "InvalidAddress",
    "Registration",
    "SubscribeOutcome",
    "Subscriber",
    "Traces",
    "blueprint",
    "bounce_base",
    "bounce_sender",
    "compact_token",
    "confirm",
    "confirm_url",
    "confirmed_since",
    "contacts_of",
    "count_confirmed",
    "forget",
    "get_subscriber",
    "is_confirmed",
    "iter_confirmed",
    "mail_worker",
    "make_token",
    "mark_bounced",
    "mark_complained",
    "note_event",
    "on_forget",
    "parse_bounce_address",
    "parse_unsubscribe_address",
    "read_compact_token",
    "read_token",
    "record_event",
    "register",
    "sender_domain",
    "snapshot_confirmed",
    "status_of",
    "subscribe",
    "unsubscribe",
    "unsubscribe_mailto",
    "unsubscribe_url",
    "validate_address",
]
