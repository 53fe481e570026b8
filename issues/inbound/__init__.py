"""Mail that comes back: bounces (DSNs), complaints (ARF), mailto unsubscribes, subscribe requests.

Fed from files, Maildirs and mboxes, an IMAP mailbox, or an LMTP listener; all go
through :func:`issues.inbound.process.process_message`. Forgetting a reader reaches
this store through :func:`issues.inbound.erase.erase_reader`, declared in pyproject.toml
(``newsletter.erasers``), so it never depends on this package having been imported.
"""

from __future__ import annotations

from newsletter.lazy import lazy_exports

# Where each name lives; a module is imported when one of its names is first read.
__getattr__ = lazy_exports(__name__, {
    "start_lmtp": "lmtp",
    "Outcome": "process",
    "process_message": "process",
    "fetch_imap": "sources",
    "process_path": "sources",
    "feedback_by_issue": "stats",
    "inbound_status": "stats",
    "issue_feedback": "stats",
})

__all__ = [
    "Outcome", "feedback_by_issue", "fetch_imap", "inbound_status", "issue_feedback", "process_message",
    "process_path", "start_lmtp",
]
