"""The ``issue``, ``send``, ``preview``, ``serve``, ``inbound``, ``run``, ``approve`` and ``schedule`` commands."""

from __future__ import annotations

from .cli_inbound import inbound
from .cli_issue import issue
from .cli_routine import approve, run_command, schedule
from .cli_send import send
from .cli_web import preview, serve

COMMANDS: list = [inbound, issue, send, serve, preview, run_command, approve, schedule]
