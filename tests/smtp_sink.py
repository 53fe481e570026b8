"""The loopback SMTP sink the tests use: :mod:`newsletter.smtp_sink` (``from smtp_sink import SmtpSink``)."""

from newsletter.smtp_sink import Received, ScriptedHandler, SmtpSink, free_port

__all__ = ["Received", "ScriptedHandler", "SmtpSink", "free_port"]
