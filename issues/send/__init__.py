"""send."""

from __future__ import annotations

from . import outbox
from .freeze import freeze_issue
from .message import IssueMessage, Recipient, envelope_recipient
from .outbox import issues_sent_to, outbox_db, send_status, sent_message
from .outcome import outcome_of
from .providers import ProviderMap, limits_for, provider_settings
from .rehearsal import send_test, write_dry_run
from .sender import (
    DeliveryOptions,
    NothingToSend,
    ReaderMessages,
    TokenBucket,
    pending_readers,
    send_issue,
    stop_on_signals,
)

__all__ = [
    "DeliveryOptions", "IssueMessage", "NothingToSend", "ProviderMap", "ReaderMessages", "Recipient",
    "TokenBucket", "envelope_recipient", "freeze_issue", "issues_sent_to", "limits_for", "outbox", "outbox_db",
    "outcome_of", "pending_readers", "provider_settings", "send_issue", "send_status", "send_test", "sent_message",
    "stop_on_signals", "write_dry_run",
]
