"""Recognise auto-replies (out-of-office, vacation, autoresponders): ignored, never counted as bounces.

Follows RFC 3834 (``Auto-Submitted``) first, then the vendor headers and subject
lines that Exchange, Gmail and common autoresponders use.
"""

from __future__ import annotations

import re
from email.message import Message

from .mime import header_text

AUTO_SUBJECT_RE = re.compile(
    r"^(auto(matic)?[ -]?(reply|response|antwort)|auto:|out of (the )?office|ooo\b|away from (my|the) "
    r"(office|desk)|on vacation|vacation (reply|notice)|i am (currently )?(away|out)|abwesenheitsnotiz"
    r"|r[ée]ponse automatique|respuesta autom[áa]tica|fuera de la oficina|risposta automatica)",
    re.I,
)


def auto_reply_reason(msg: Message) -> str | None:
    """Why ``msg`` is an auto-reply (the header or subject that says so), else None."""
    auto = header_text(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation"):
        if msg.get(name) is not None:
            return f"{name} header"
    suppress = header_text(msg, "X-Auto-Response-Suppress").lower()
    if suppress and any(w in suppress for w in ("all", "oof", "autoreply")):
        return f"X-Auto-Response-Suppress: {suppress}"
    precedence = header_text(msg, "Precedence").lower()
    if precedence in ("auto_reply", "bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    subject = header_text(msg, "Subject")
    if AUTO_SUBJECT_RE.search(subject.strip()):
        return f"subject {subject[:80]!r}"
    return None
