"""Sending an issue: freeze it, snapshot the readers into the outbox, deliver, record.

``sender.send_issue`` runs a send: ``freeze`` stores the rendered copy, ``outbox`` holds one
row per reader, ``pipeline`` with its ``dispatcher``, per-provider ``lanes``, ``workers`` and
``recorder`` delivers through a transport; ``message`` builds each reader's mail,
``rehearsal`` does test sends and dry runs, ``outcome`` says where a send stands.
"""

from __future__ import annotations

from newsletter.lazy import lazy_exports

# Where each name lives; a module is imported when one of its names is first read.
__getattr__ = lazy_exports(__name__, {
    "outbox": "",
    "freeze_issue": "freeze",
    "IssueMessage": "message",
    "Recipient": "message",
    "envelope_recipient": "message",
    "issues_sent_to": "outbox",
    "outbox_db": "outbox",
    "send_status": "outbox",
    "sent_message": "outbox",
    "EXIT_FAILURES": "outcome",
    "outcome_of": "outcome",
    "ProviderMap": "providers",
    "limits_for": "providers",
    "provider_settings": "providers",
    "send_test": "rehearsal",
    "write_dry_run": "rehearsal",
    "DeliveryOptions": "sender",
    "NothingToSend": "sender",
    "ReaderMessages": "sender",
    "TokenBucket": "sender",
    "pending_readers": "outbox",
    "send_issue": "sender",
    "stop_on_signals": "sender",
})

__all__ = [
    "DeliveryOptions", "EXIT_FAILURES", "IssueMessage", "NothingToSend", "ProviderMap", "ReaderMessages", "Recipient",
    "TokenBucket", "envelope_recipient", "freeze_issue", "issues_sent_to", "limits_for", "outbox",
    "outbox_db", "outcome_of", "pending_readers", "provider_settings", "send_issue", "send_status",
    "send_test", "sent_message", "stop_on_signals", "write_dry_run",
]
