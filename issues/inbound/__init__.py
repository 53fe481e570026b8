"""Mail that comes back: bounces (DSNs), complaints (ARF), mailto unsubscribes, subscribe requests.

Fed from files, Maildirs and mboxes, an IMAP mailbox, or an LMTP listener; all go
through :func:`issues.inbound.process.process_message`. Forgetting a reader reaches
this store through :func:`issues.inbound.erase.erase_reader`, declared in pyproject.toml
(``newsletter.erasers``), so it never depends on this package having been imported.
"""

from __future__ import annotations

from newsletter.lazy import lazy_exports

from .process import Outcome, process_message
from .stats import feedback_by_issue, inbound_status, issue_feedback

# Readers of mailboxes and the LMTP listener pull in imaplib / aiosmtpd: imported on first use.
__getattr__ = lazy_exports(__name__, {"process_path": "sources", "fetch_imap": "sources", "start_lmtp": "lmtp"})

__all__ = [
    "Outcome",
    "feedback_by_issue",
    "fetch_imap",
    "inbound_status",
    "issue_feedback",
    "process_message",
    "process_path",
    "start_lmtp",
]
