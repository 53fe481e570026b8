"""The ``issue``, ``send``, ``preview``, ``serve``, ``inbound``, ``doctor``, ``run``, ``approve`` and ``schedule`` commands."""

from __future__ import annotations

from .doctor import doctor
from .inbound import inbound
from .issue import issue
from .routine import approve, run_command, schedule
from .send import send
from .web import preview, serve

COMMANDS: list = [doctor, inbound, issue, send, serve, preview, run_command, approve, schedule]
