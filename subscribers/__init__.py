"""The subscriber store: readers, consent events, signed tokens, opt-in, leaving, import and export.

Other packages use only the names below (the contract in the team brief).
"""

from .forget import forget, on_forget
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

__all__ = [
    "BadToken",
    "Event",
    "Registration",
    "SubscribeOutcome",
    "Subscriber",
    "compact_token",
    "confirm",
    "confirm_url",
    "confirmed_since",
    "forget",
    "get_subscriber",
    "is_confirmed",
    "iter_confirmed",
    "make_token",
    "mark_bounced",
    "mark_complained",
    "on_forget",
    "read_compact_token",
    "read_token",
    "record_event",
    "register",
    "subscribe",
    "unsubscribe",
    "unsubscribe_url",
]
