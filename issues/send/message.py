"""The issue as a mail: :class:`IssueMessage` is the kernel's :class:`~newsletter.mail.MailTemplate` for issues.

The building (headers, encodings, List-* headers, DKIM) lives in :mod:`newsletter.mail`,
shared with the subscriber mails; this adds what only issues have: the ``[TEST]``
subject and header of a test send.
"""

from __future__ import annotations

from newsletter.mail import (
    MailTemplate,
    Recipient,
    address_header,
    date_header,
    encoded_words,
    envelope_recipient,
    list_id,
    quoted_printable,
)
from newsletter.workspace import Workspace

__all__ = ["IssueMessage", "Recipient", "TEST_PREFIX", "address_header", "date_header", "encoded_words",
           "envelope_recipient", "list_id", "quoted_printable"]

TEST_PREFIX = "[TEST] "


class IssueMessage(MailTemplate):
    """The issue's message template: static headers and encoded parts, filled and signed per reader."""

    def __init__(self, ws: Workspace, subject: str, html: str, text: str, *, test: bool = False,
                 campaign: str = "") -> None:
        self.test = test
        extra = (("X-Newsletter-Test", "yes", "a test send"),) if test else ()
        super().__init__(ws, TEST_PREFIX + subject if test else subject, html, text, headers=extra,
                         subject_origin="the issue's subject", mail_type="test" if test else "issue",
                         campaign=campaign)
