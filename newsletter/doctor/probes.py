"""Network checks that send nothing: the SMTP relay (EHLO, TLS, AUTH, extensions) and the public pages."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request

from ..errors import NewsletterError
from ..transports import SMTPTransport, TransportError
from ..workspace import Workspace
from .checks import ERROR, OK, WARNING, Report


def check_smtp(ws: Workspace, report: Report, message_size: int | None = None) -> None:
    """Connect as a send would (greeting, EHLO, STARTTLS or TLS, AUTH), read the extensions, say QUIT."""
    smtp = ws.settings.smtp
    where = f"{smtp.host}:{smtp.port}"
    try:
        session = SMTPTransport.from_settings(ws.settings)
        session.timeout = min(session.timeout, 10.0)
        session.connect()
    except TransportError as exc:
        report.add("smtp", "connect", ERROR, f"{where}: {exc.text or exc}",
                   "check [smtp] host and port, and that the relay is up and reachable from here")
        return
    except NewsletterError as exc:
        report.add("smtp", "connect", ERROR, str(exc))
        return
    try:
        extensions = dict(session.extensions)
        encrypted = isinstance(session._sock, ssl.SSLSocket)
    finally:
        session.close()
    report.add("smtp", "connect", OK, f"{where} answers EHLO ({smtp.security})")
    if encrypted:
        report.add("smtp", "tls", OK, f"the connection is encrypted ({'STARTTLS' if smtp.security == 'starttls' else 'TLS'})")
    elif "starttls" in extensions:
        report.add("smtp", "tls", WARNING, f"{where} offers STARTTLS but [smtp] security = \"none\": mail to the "
                   "relay travels in clear", "set [smtp] security = \"starttls\"")
    else:
        report.add("smtp", "tls", WARNING, f"the connection to {where} is not encrypted",
                   "use a relay with STARTTLS or TLS unless it runs on this machine")
    if smtp.username:
        report.add("smtp", "auth", OK, f"logged in as {smtp.username}")
    elif "auth" in extensions:
        report.add("smtp", "auth", WARNING, f"{where} offers AUTH ({extensions['auth']}) but no [smtp] username "
                   "is set; a relay usually wants a login", "set [smtp] username and NEWSLETTER_SMTP_PASSWORD")
    if "smtputf8" in extensions:
        report.add("smtp", "smtputf8", OK, "SMTPUTF8 offered: readers with internationalised addresses get mail")
    else:
        report.add("smtp", "smtputf8", WARNING, f"{where} does not offer SMTPUTF8: readers with an address like "
                   "zoë@example.org cannot be mailed (their outbox row will say so)")
    _check_size(report, where, extensions.get("size"), message_size)


def _check_size(report: Report, where: str, size: str | None, message_size: int | None) -> None:
    limit = int(size) if size and size.strip().isdigit() else 0
    if message_size is None:
        report.add("smtp", "size", OK, f"message size limit: {f'{limit:,} bytes' if limit else 'none stated'}")
    elif limit and message_size > limit:
        report.add("smtp", "size", ERROR, f"the issue's message is {message_size:,} bytes, over {where}'s limit "
                   f"of {limit:,}", "lower [issue] max_items or excerpt_words, or raise the relay's limit")
    else:
        report.add("smtp", "size", OK, f"the issue's message ({message_size:,} bytes) fits "
                   f"{f'the limit of {limit:,}' if limit else 'the relay (no limit stated)'}")


def check_public_url(ws: Workspace, report: Report, timeout: float = 5.0) -> None:
    """``[site] public_url`` answers: every unsubscribe and confirmation link in mail points there."""
    url = str(ws.settings.site.public_url).rstrip("/") + "/subscribe"
    status = ERROR if ws.settings.delivery.transport == "smtp" else WARNING
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=timeout) as answer:
            code = answer.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        report.add("web", "public_url", status, f"{url} does not answer ({reason})",
                   "run 'newsletter serve' behind that address: unsubscribe and confirmation links point there")
        return
    if code >= 400:
        report.add("web", "public_url", status, f"{url} answers {code}",
                   "point [site] public_url at where 'newsletter serve' runs")
    else:
        report.add("web", "public_url", OK, f"{url} answers {code}")
