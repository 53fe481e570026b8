"""The ``issue``, ``send``, ``preview``, ``serve``, ``inbound``, ``doctor``, ``run``, ``approve`` and ``schedule`` commands."""

from __future__ import annotations

from .cli_doctor import doctor
from .cli_inbound import inbound
from .cli_issue import issue
from .cli_routine import approve, run_command, schedule
from .cli_send import send
from .cli_web import preview, serve

COMMANDS: list = [doctor, inbound, issue, send, serve, preview, run_command, approve, schedule]
