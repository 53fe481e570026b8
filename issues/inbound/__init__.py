"""Mail that comes back: bounces (DSNs), complaints (ARF), mailto unsubscribes, subscribe requests.

Fed from files, Maildirs and mboxes, an IMAP mailbox, or an LMTP listener; all go
through :func:`issues.inbound.process.process_message`.
"""

from __future__ import annotations

from . import erase  # noqa: F401  (registers the forget hook)
from .process import Outcome, process_message
from .stats import feedback_by_issue, inbound_status, issue_feedback

__all__ = ["Outcome", "feedback_by_issue", "inbound_status", "issue_feedback", "process_message"]
