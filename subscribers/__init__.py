"""The subscriber store: readers, consent events, signed tokens, opt-in, leaving, import and export.

Other packages use only the names below (the contract in the team brief, held by
tests/test_import_contracts.py); the tables are this package's own.
"""

from __future__ import annotations

from newsletter.lazy import lazy_exports

# Where each name lives; a module is imported when one of its names is first read.
__getattr__ = lazy_exports(__name__, {
    "InvalidAddress": "addresses",
    "validate_address": "addresses",
    "Traces": "erasure",
    "forget": "forgetting",
    "on_forget": "forgetting",
    "contacts_of": "roster",
    "count_confirmed": "roster",
    "note_event": "roster",
    "snapshot_confirmed": "roster",
    "status_of": "roster",
    "Registration": "signup",
    "SubscribeOutcome": "signup",
    "confirm": "signup",
    "register": "signup",
    "subscribe": "signup",
    "Event": "store",
    "Subscriber": "store",
    "confirmed_since": "store",
    "get_subscriber": "store",
    "is_confirmed": "store",
    "confirmed_among": "store",
    "iter_confirmed": "store",
    "mark_bounced": "store",
    "mark_complained": "store",
    "record_event": "store",
    "unsubscribe": "store",
    "BadToken": "tokens",
    "compact_token": "tokens",
    "confirm_url": "tokens",
    "make_token": "tokens",
    "read_compact_token": "tokens",
    "read_token": "tokens",
    "unsubscribe_token": "tokens",
    "unsubscribe_url": "tokens",
    "unsubscribe_url_base": "tokens",
    "BounceTarget": "verp",
    "ReaderAddresses": "verp",
    "bounce_base": "verp",
    "bounce_sender": "verp",
    "parse_bounce_address": "verp",
    "parse_unsubscribe_address": "verp",
    "sender_domain": "verp",
    "unsubscribe_mailto": "verp",
    "blueprint": "web:bp",
    "mail_worker": "web:mail_worker",
})

__all__ = [
    "BadToken", "BounceTarget", "Event", "InvalidAddress", "ReaderAddresses", "Registration", "SubscribeOutcome",
    "Subscriber", "Traces", "blueprint", "bounce_base", "bounce_sender", "compact_token", "confirm",
    "confirm_url", "confirmed_among", "confirmed_since", "contacts_of", "count_confirmed", "forget",
    "get_subscriber", "is_confirmed", "iter_confirmed", "mail_worker", "make_token", "mark_bounced", "mark_complained",
    "note_event", "on_forget", "parse_bounce_address", "parse_unsubscribe_address", "read_compact_token",
    "read_token", "record_event", "register", "sender_domain", "snapshot_confirmed", "status_of",
    "subscribe", "unsubscribe", "unsubscribe_mailto", "unsubscribe_token", "unsubscribe_url", "unsubscribe_url_base",
    "validate_address",
]
