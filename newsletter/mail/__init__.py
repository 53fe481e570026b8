"""The mail kernel: one builder for every message, its encodings, and DKIM.

Issues (``issues``) and subscriber mails (``subscribers``) both build their
messages with :class:`MailTemplate`, so headers, Message-IDs, the List-* headers
and the DKIM signature are made in one place.
"""

from .builder import (
    EncodedPart,
    MailTemplate,
    Recipient,
    dkim_signer,
    domain_of_from,
    envelope_recipient,
    list_id,
    sender_domain,
)
from .dkim import SIGNED_HEADERS, DkimSigner, generate_key, public_record
from .encoding import address_header, date_header, encoded_words, quoted_printable

__all__ = [
    "SIGNED_HEADERS", "DkimSigner", "EncodedPart", "MailTemplate", "Recipient", "address_header", "date_header",
    "dkim_signer", "domain_of_from", "encoded_words", "envelope_recipient", "generate_key", "list_id",
    "public_record", "quoted_printable", "sender_domain",
]
