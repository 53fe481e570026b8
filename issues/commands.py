"""The ``issue``, ``send``, ``preview``, ``serve``, ``inbound`` and ``doctor`` commands, gathered for cli.py."""

from __future__ import annotations

from .cli_doctor import doctor
from .cli_inbound import inbound
from .cli_issue import issue
from .cli_send import send
from .cli_web import preview, serve

COMMANDS: list = [doctor, inbound, issue, send, serve, preview]
