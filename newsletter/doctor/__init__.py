"""``newsletter doctor``: check the set-up before mail goes out, and say per item what to do.

:func:`local_checks` needs no network (settings, file modes, the DKIM key and its
alignment); ``send`` runs it first and stops on an error.  :func:`run_doctor` adds
the DNS records (printed ready to paste, then looked up), the SMTP relay (without
sending) and the public pages.

The network parts (dnspython, urllib, the SMTP probe) are imported on first use, so
the pre-send checks load only :mod:`.local`.
"""

from __future__ import annotations

from ..errors import NewsletterError
from ..lazy import lazy_exports
from ..workspace import Workspace
from .checks import ERROR, OK, WARNING, Check, Report

# Where each name lives; a module is imported when one of its names is first read.
__getattr__ = lazy_exports(__name__, {
    "aligned": "local",
    "local_checks": "local",
    "expected_records": "dns_records",
    "make_resolver": "dns_records",
    "zone_line": "dns_records",
})

__all__ = ["ERROR", "OK", "WARNING", "Check", "Report", "aligned", "dkim_public_record", "expected_records", "local_checks",
           "make_resolver", "run_doctor", "zone_line"]


def dkim_public_record(ws: Workspace) -> str | None:
    """The DKIM TXT record value for the workspace's key, or None without a usable key."""
    from ..mail.dkim import public_record

    if not ws.settings.dkim.key_file:
        return None
    try:
        return public_record(ws.path(ws.settings.dkim.key_file).read_bytes())
    except (OSError, NewsletterError):
        return None  # local_checks has said what is wrong with the key


def run_doctor(ws: Workspace, *, network: bool = True, nameserver: str | None = None,
               message_size: int | None = None) -> Report:
    """Every check in order: local ones, then (with ``network``) DNS, SMTP and the public pages."""
    from .dns_records import check_dns, make_resolver
    from .local import local_checks
    from .probes import check_public_url, check_smtp

    report = local_checks(ws)
    if not network:
        return report
    check_dns(ws, report, make_resolver(nameserver), dkim_public_record(ws))
    if ws.settings.delivery.transport == "smtp":
        check_smtp(ws, report, message_size)
    check_public_url(ws, report)
    return report
