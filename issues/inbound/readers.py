"""Finding the reader (and the issue) a returned message is about, from the clues it carries.

Signed clues come first (the VERP return path, a mailto or https unsubscribe
token); a bare address is only a fallback, since anyone can write one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from issues.build import issue_id_for_number
from issues.send import sent_message
from newsletter.errors import NotFound
from newsletter.workspace import Workspace
from subscribers import BadToken, get_subscriber, parse_bounce_address, parse_unsubscribe_address, read_token

from .mime import addresses, bare_address, header_text

UNSUBSCRIBE_LINK_RE = re.compile(r"/unsubscribe/([A-Za-z0-9_.\-]+)")
MAILTO_RE = re.compile(r"mailto:([^>?\s,]+)", re.I)
MESSAGE_ID_RE = re.compile(r"<[^<>\s]+@[^<>\s]+>")


@dataclass(frozen=True)
class Reader:
    """A reader found for a returned message, how we know, and the issue when known."""

    subscriber_id: int
    issue_id: str | None
    found_by: str  # "verp", "unsubscribe address", "unsubscribe link", "message-id", "address"

    def with_issue(self, issue_id: str | None) -> Reader:
        return Reader(self.subscriber_id, issue_id, self.found_by)


def tagged_token(address: str, tag: str) -> str | None:
    """``bounces+abc@x`` with tag ``bounces`` → ``abc``; None when the address is not so tagged."""
    local = bare_address(address).rpartition("@")[0]
    prefix = f"{tag.lower()}+"
    return local[len(prefix):] if local.startswith(prefix) and len(local) > len(prefix) else None


def issue_for_number(ws: Workspace, number: int) -> str | None:
    """The issue id with this number, if there is one."""
    return issue_id_for_number(ws, number)


def reader_from_return_path(ws: Workspace, address: str) -> Reader | None:
    """The reader and issue a VERP bounce address names, or None when it is not ours or is forged."""
    found = parse_bounce_address(ws, address)
    if found is None:
        return None
    return Reader(found.subscriber_id, issue_for_number(ws, found.issue_number), "verp")


def reader_from_unsubscribe_address(ws: Workspace, address: str) -> Reader | None:
    """The reader an ``unsubscribe+<token>@`` address names (signed), or None."""
    found = parse_unsubscribe_address(ws, address)
    return Reader(found, None, "unsubscribe address") if found is not None else None


def reader_from_unsubscribe_link(ws: Workspace, text: str) -> Reader | None:
    """The reader an https one-click unsubscribe link in ``text`` names, or None."""
    for m in UNSUBSCRIBE_LINK_RE.finditer(text):
        try:
            return Reader(read_token(ws, m.group(1), "unsubscribe"), None, "unsubscribe link")
        except BadToken:
            continue
    return None


def reader_by_address(ws: Workspace, address: str) -> Reader | None:
    """The reader with this address, or None."""
    try:
        return Reader(get_subscriber(ws, address).id, None, "address")
    except NotFound:
        return None


def message_ids(*messages: Message | None) -> list[str]:
    """Message-IDs a returned message points at: the original's own, then References and friends."""
    found: list[str] = []
    for msg in messages:
        if msg is None:
            continue
        for name in ("Message-ID", "X-Original-Message-ID", "In-Reply-To", "References"):
            for m in MESSAGE_ID_RE.finditer(header_text(msg, name)):
                if m.group(0) not in found:
                    found.append(m.group(0))
    return found


def reader_from_original(ws: Workspace, original: Message | None) -> Reader | None:
    """The reader a returned copy of one of our messages names: VERP, Message-ID, unsubscribe clues."""
    if original is None:
        return None
    for address in addresses(original, "Return-Path"):
        found = reader_from_return_path(ws, address)
        if found:
            return found
    for message_id in message_ids(original):
        sent = sent_message(ws, message_id)
        if sent:
            return Reader(sent[1], sent[0], "message-id")
    unsubscribe = header_text(original, "List-Unsubscribe")
    for m in MAILTO_RE.finditer(unsubscribe):
        found = reader_from_unsubscribe_address(ws, m.group(1))
        if found:
            return found
    return reader_from_unsubscribe_link(ws, unsubscribe)
