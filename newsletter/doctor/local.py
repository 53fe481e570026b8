"""The cheap checks (no network): settings, file modes, the DKIM key and its alignment with From.

``send`` runs these before anything changes and stops on an error.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import ConfigError, NewsletterError
from ..mail import sender_domain
from ..mail.dkim import KEY_BITS, DkimSigner
from ..permissions import chmod_fix, open_mode, private_paths
from ..settings import DEFAULTS, check_mail_settings
from ..transports import refuse_plain_password
from ..workspace import Workspace
from .checks import ERROR, OK, WARNING, Report

EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")


def bounce_domain(ws: Workspace) -> str:
    """The domain of the envelope sender (``[delivery] bounce_address``, else the From domain)."""
    configured = str(ws.settings.delivery.bounce_address).strip()
    return configured.rpartition("@")[2].lower() if "@" in configured else sender_domain(ws)


def dkim_domain(ws: Workspace) -> str:
    return (str(ws.settings.dkim.domain).strip() or sender_domain(ws)).lower()


def aligned(from_domain: str, signing_domain: str) -> bool:
    """DMARC relaxed alignment, approximated without the public suffix list: same domain or a parent of it."""
    a, b = from_domain.lower().rstrip("."), signing_domain.lower().rstrip(".")
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def _is_example(domain: str) -> bool:
    return any(domain == d or domain.endswith("." + d) for d in EXAMPLE_DOMAINS)


def check_settings(ws: Workspace, report: Report) -> None:
    """Values that load but would send wrongly: header-breaking text, example addresses, clear passwords."""
    settings = ws.settings
    try:
        check_mail_settings(settings)
    except ConfigError as exc:
        report.add("settings", "mail headers", ERROR, str(exc), "fix the setting named")
        return
    report.add("settings", "file", OK, f"{settings.source or 'defaults'} loads; every key is known")
    if settings.delivery.transport == "maildir":
        report.add("settings", "transport", WARNING,
                   f"mail goes into the local Maildir {ws.path(settings.delivery.maildir)}, not to readers",
                   "set [delivery] transport = \"smtp\" and the [smtp] section for real sends")
    else:
        report.add("settings", "transport", OK, f"SMTP via {settings.smtp.host}:{settings.smtp.port} "
                   f"({settings.smtp.security})")
    try:
        refuse_plain_password(settings)
    except ConfigError as exc:
        report.add("settings", "smtp password", ERROR, str(exc))
    else:
        if settings.smtp.username and settings.smtp.security == "none":
            report.add("settings", "smtp password", WARNING, "the SMTP password goes out unencrypted "
                       "([smtp] allow_plain_password = true)", "use security = \"starttls\" or \"tls\"")
    domain = sender_domain(ws)
    if _is_example(domain):
        report.add("settings", "from", WARNING, f"[site] from uses {domain}, a reserved example domain",
                   "set [site] from to an address on your own domain")
    public = urlsplit(str(settings.site.public_url))
    if public.scheme != "https" and public.hostname not in ("localhost", "127.0.0.1"):
        report.add("settings", "public_url", WARNING, f"[site] public_url {settings.site.public_url} is not https; "
                   "unsubscribe links would travel in clear", "serve the pages behind https")
    if settings.site.postal_address == DEFAULTS["site"]["postal_address"]:
        report.add("settings", "postal_address", WARNING, "[site] postal_address is still the example",
                   "set your real postal address: anti-spam law asks for it in every mail")


def check_files(ws: Workspace, report: Report) -> None:
    """The database, its WAL files, the key files and the Maildirs must be readable by their owner only."""
    reported: set[str] = set()
    for label, path in private_paths(ws):
        mode = open_mode(path)
        if mode is not None:
            report.add("files", label, ERROR, f"{path} is mode {mode:04o}: others on this machine can read it",
                       chmod_fix(path))
            reported.add(label)
        elif label not in reported and path.exists():
            report.add("files", label, OK, f"{path} is private")
            reported.add(label)


def check_dkim(ws: Workspace, report: Report) -> None:
    """The DKIM key loads, is big enough, and signs for the From domain (DMARC alignment)."""
    settings = ws.settings.dkim
    if not settings.key_file:
        report.add("dkim", "key", WARNING, "[dkim] key_file is empty: mail goes out unsigned, and Gmail, Yahoo "
                   "and Microsoft reject or junk unsigned bulk mail",
                   "make a key (openssl genrsa -out dkim.pem 2048; chmod 600 dkim.pem) and set [dkim] key_file "
                   "and selector")
        return
    path = ws.path(settings.key_file)
    try:
        signer = DkimSigner(path.read_bytes(), str(settings.selector), dkim_domain(ws), str(path))
    except OSError as exc:
        report.add("dkim", "key", ERROR, f"[dkim] key_file {path}: {exc.strerror}", "point it at the PEM key")
        return
    except NewsletterError as exc:
        report.add("dkim", "key", ERROR, str(exc))
        return
    bits = signer.key.key_size
    report.add("dkim", "key", OK if bits >= KEY_BITS else WARNING, f"{path}: RSA {bits} bits",
               "" if bits >= KEY_BITS else "use a 2048-bit key (openssl genrsa -out dkim.pem 2048)")
    if not str(settings.selector).strip():
        report.add("dkim", "selector", ERROR, "[dkim] selector is empty", "set it to the name published in DNS")
    from_domain = sender_domain(ws)
    if aligned(from_domain, dkim_domain(ws)):
        report.add("dkim", "alignment", OK, f"signs as {dkim_domain(ws)}, aligned with the From domain {from_domain}")
    else:
        report.add("dkim", "alignment", ERROR, f"signs as {dkim_domain(ws)} but From is on {from_domain}: "
                   "DMARC alignment fails", f"set [dkim] domain = \"{from_domain}\" (or empty)")


def local_checks(ws: Workspace, report: Report | None = None) -> Report:
    """The checks that need no network, in the order ``doctor`` prints them."""
    report = report or Report()
    check_settings(ws, report)
    check_files(ws, report)
    check_dkim(ws, report)
    return report
