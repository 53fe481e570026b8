"""The DNS records a sender needs (SPF, DKIM, DMARC, MX for bounces): printed ready to paste, then looked up.

Lookups use dnspython; ``nameserver`` points them at one server (the tests' stub on
loopback, or your zone's authoritative server).  A lookup that cannot be made
(no network) is a warning, not a verdict about the record.
"""

from __future__ import annotations

import ipaddress

import dns.exception
import dns.resolver

from ..mail import sender_domain
from ..workspace import Workspace
from .checks import ERROR, OK, WARNING, Report
from .local import bounce_domain, dkim_domain

_MISSING = (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer)


def make_resolver(nameserver: str | None = None, timeout: float = 3.0) -> dns.resolver.Resolver:
    """The system's resolver, or one asking only ``nameserver`` (``IP`` or ``IP:PORT``)."""
    if nameserver is None:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        host, _, port = nameserver.rpartition(":") if nameserver.count(":") == 1 else (nameserver, "", "")
        resolver.nameservers = [host]
        resolver.port = int(port) if port else 53
    resolver.timeout = resolver.lifetime = timeout
    return resolver


def _txt(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """The TXT strings at ``name`` (each record's pieces joined); [] when there is none."""
    try:
        answer = resolver.resolve(name, "TXT")
    except _MISSING:
        return []
    return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]


def _tags(record: str) -> dict[str, str]:
    """``v=DKIM1; k=rsa; p=AB CD`` -> {"v": "DKIM1", "k": "rsa", "p": "ABCD"}."""
    tags = {}
    for part in record.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags[key.strip().lower()] = "".join(value.split())
    return tags


def spf_record(ws: Workspace) -> str:
    """An SPF policy for the envelope domain: the relay's host (when it is a name) and the domain's MX."""
    host = str(ws.settings.smtp.host)
    mechanisms = ["mx"]
    if ws.settings.delivery.transport == "smtp" and host not in ("localhost", "127.0.0.1", "::1"):
        try:
            ip = ipaddress.ip_address(host)
            mechanisms.append(f"ip{ip.version}:{ip}")
        except ValueError:
            mechanisms.append(f"a:{host}")
    return f"v=spf1 {' '.join(mechanisms)} ~all"


def expected_records(ws: Workspace, dkim_public: str | None) -> list[tuple[str, str, str, str]]:
    """(what, name, type, value) of every record to publish, ready to paste into a zone."""
    from_domain = sender_domain(ws)
    bounces = bounce_domain(ws)
    records = [("SPF", bounces, "TXT", spf_record(ws))]
    if dkim_public:
        records.append(("DKIM", f"{ws.settings.dkim.selector}._domainkey.{dkim_domain(ws)}", "TXT", dkim_public))
    records.append(("DMARC", f"_dmarc.{from_domain}", "TXT",
                    f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{from_domain}; adkim=r; aspf=r"))
    records.append(("MX", bounces, "MX", f"10 mail.{bounces}."))
    return records


def zone_line(name: str, kind: str, value: str) -> str:
    """One record as a zone-file line (long TXT values split into 255-byte strings)."""
    if kind == "TXT":
        pieces = [value[i:i + 255] for i in range(0, len(value), 255)]
        value = " ".join(f'"{p}"' for p in pieces)
    return f"{name}. 3600 IN {kind} {value}"


def check_dns(ws: Workspace, report: Report, resolver: dns.resolver.Resolver, dkim_public: str | None) -> None:
    """Look up each record to publish and compare; print the one to paste when it is missing or wrong."""
    for what, name, kind, value in expected_records(ws, dkim_public):
        paste = zone_line(name, kind, value)
        try:
            if kind == "MX":
                _check_mx(report, resolver, name, paste)
            else:
                _check_txt(report, resolver, what, name, value, paste)
        except (dns.exception.DNSException, OSError) as exc:
            report.add("dns", what, WARNING, f"could not look up {name} ({type(exc).__name__}: {exc})",
                       "check again where DNS can be reached; the record to publish:", paste)


def _check_mx(report: Report, resolver: dns.resolver.Resolver, name: str, paste: str) -> None:
    try:
        answer = resolver.resolve(name, "MX")
    except _MISSING:
        report.add("dns", "MX", ERROR, f"{name} has no MX record: bounces and mail commands cannot come back",
                   "publish an MX for the bounce domain pointing at the server that runs 'newsletter inbound'",
                   paste)
        return
    hosts = ", ".join(sorted(str(r.exchange).rstrip(".") for r in answer))
    report.add("dns", "MX", OK, f"{name} receives mail at {hosts}")


def _check_txt(report: Report, resolver: dns.resolver.Resolver, what: str, name: str, value: str,
               paste: str) -> None:
    prefix = {"SPF": "v=spf1", "DKIM": "v=DKIM1", "DMARC": "v=DMARC1"}[what]
    found = [r for r in _txt(resolver, name) if r.replace(" ", "").lower().startswith(prefix.lower())]
    if what == "DKIM" and not found:  # a DKIM record may leave out v=
        found = [r for r in _txt(resolver, name) if "p" in _tags(r)]
    if not found:
        report.add("dns", what, ERROR, f"no {what} record at {name}", "publish this record:", paste)
    elif len(found) > 1 and what != "DKIM":
        report.add("dns", what, ERROR, f"{len(found)} {what} records at {name}; receivers treat that as none",
                   "keep exactly one, like:", paste)
    elif what == "DKIM" and _tags(found[0]).get("p") != _tags(value).get("p"):
        report.add("dns", what, ERROR, f"the key published at {name} is not the key in [dkim] key_file: "
                   "every signature would fail", "publish this record instead:", paste)
    elif what == "SPF" and found[0].split()[-1] in ("+all", "all"):
        report.add("dns", what, WARNING, f"{name}: {found[0]} lets anyone send as this domain",
                   "end the record with ~all or -all", paste)
    elif what == "DMARC" and "p" not in _tags(found[0]):
        report.add("dns", what, ERROR, f"{name}: {found[0]} has no p= policy", "publish this record:", paste)
    else:
        report.add("dns", what, OK, f"{name}: {found[0][:80]}{'...' if len(found[0]) > 80 else ''}")
