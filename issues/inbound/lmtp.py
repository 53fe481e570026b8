"""An LMTP listener (aiosmtpd) that an MTA such as Postfix hands returned mail to.

Postfix: ``transport_maps`` entry ``bounces.example.com lmtp:inet:127.0.0.1:8024``.
Each message goes through :func:`~issues.inbound.process.process_message` in a worker
thread; a message we could not store gets a 451 so the MTA keeps it and retries.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP

from newsletter.workspace import Workspace

from .process import process_message

log = logging.getLogger(__name__)


class InboundHandler:
    """aiosmtpd handler: one LMTP reply per recipient, all alike (the message is processed once)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list) -> str:
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        sender = envelope.mail_from or ""
        raw = f"Return-Path: <{sender}>\r\n".encode() + envelope.original_content
        label = f"lmtp:{session.peer[0] if session.peer else '?'} to {','.join(envelope.rcpt_tos)}"
        work = functools.partial(
            process_message, self.ws, raw, source="lmtp", label=label[:200], envelope=list(envelope.rcpt_tos)
        )
        try:
            outcome = await asyncio.get_running_loop().run_in_executor(None, work)
        except Exception as exc:  # the database is locked or broken: let the MTA keep the message
            log.exception("could not process a message from %s", sender or "<>")
            reply = f"451 4.3.0 Cannot process the message now ({type(exc).__name__}); try again later"
        else:
            reply = f"250 2.0.0 {outcome.outcome}: {outcome.kind or 'message'}"
            log.info("%s from <%s>: %s, %s (%s)", label, sender, outcome.outcome, outcome.kind, outcome.detail)
        return "\r\n".join([reply] * max(1, len(envelope.rcpt_tos)))


class LMTPController(Controller):
    """aiosmtpd's threaded controller speaking LMTP instead of SMTP."""

    def __init__(self, ws: Workspace, host: str, port: int) -> None:
        self.max_bytes = int(ws.settings.inbound.max_message_bytes)
        super().__init__(InboundHandler(ws), hostname=host, port=port, ready_timeout=10.0)

    def factory(self) -> LMTP:
        return LMTP(self.handler, data_size_limit=self.max_bytes, enable_SMTPUTF8=True,
                    ident="newsletter inbound LMTP")


def start_lmtp(ws: Workspace, host: str | None = None, port: int | None = None) -> LMTPController:
    """Start the listener in a background thread (``[inbound] lmtp_host`` / ``lmtp_port`` by default)."""
    controller = LMTPController(
        ws, host or str(ws.settings.inbound.lmtp_host), int(port if port is not None else ws.settings.inbound.lmtp_port)
    )
    controller.start()
    return controller
