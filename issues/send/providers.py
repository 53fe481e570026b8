"""Which provider receives a reader's mail, and how hard we may push it.

Readers are grouped by the provider behind their domain's MX hosts, looked up once
per domain per send (cached), with the big providers' many domains and customer
domains folded together (gmail.com, googlemail.com and any Google Workspace domain
are all ``google``).  Each provider gets its own concurrency, rate and back-off from
``[delivery.providers.<name>]``, so one provider's throttling slows only its readers.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from newsletter.errors import ConfigError

log = logging.getLogger(__name__)

# name: (mail domains, MX host suffixes).  A domain is folded into a provider by either.
KNOWN_PROVIDERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "google": (("gmail.com", "googlemail.com"), ("google.com", "googlemail.com")),
    "microsoft": (("outlook.com", "hotmail.com", "live.com", "msn.com", "hotmail.co.uk", "hotmail.fr",
                   "live.co.uk", "outlook.fr", "hotmail.de", "hotmail.it", "live.fr", "windowslive.com"),
                  ("protection.outlook.com", "outlook.com", "hotmail.com")),
    "yahoo": (("yahoo.com", "ymail.com", "rocketmail.com", "aol.com", "yahoo.co.uk", "yahoo.fr",
               "yahoo.de", "yahoo.co.jp", "aim.com"), ("yahoodns.net", "aol.com")),
    "apple": (("icloud.com", "me.com", "mac.com"), ("mail.icloud.com",)),
    "gmx": (("gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com"), ("gmx.net", "web.de", "mail.com")),
    "proton": (("proton.me", "protonmail.com", "pm.me"), ("protonmail.ch",)),
    "fastmail": (("fastmail.com", "fastmail.fm"), ("messagingengine.com",)),
}

# Special-use names (RFC 2606, RFC 6761): never looked up, each is its own provider.
RESERVED_SUFFIXES = ("example.com", "example.org", "example.net", "test", "invalid", "localhost", "example")

# Defaults for a provider with no [delivery.providers.<name>] table; "connections" 0 = the send's own.
PROVIDER_DEFAULTS: dict[str, Any] = {"connections": 0, "rate": 0.0, "retry_delay": 0.0, "domains": [], "mx": []}


@dataclass(frozen=True)
class ProviderLimits:
    """How one provider may be sent to: at most ``connections`` at once, ``rate`` messages/s (0: no limit)."""

    name: str
    connections: int
    rate: float
    retry_delay: float  # first back-off after a 421 or a run of 4xx, doubling while it goes on


MxResolver = Callable[[str], list[str]]


def dns_mx_hosts(domain: str, lifetime: float = 5.0) -> list[str]:
    """The domain's MX hosts, most preferred first (dnspython); [] when it has none or DNS fails."""
    import dns.exception
    import dns.resolver

    try:
        answer = dns.resolver.resolve(domain, "MX", lifetime=lifetime)
    except (dns.exception.DNSException, OSError) as exc:
        log.debug("MX lookup of %s failed: %s", domain, exc)
        return []
    return [str(r.exchange).rstrip(".").lower() for r in sorted(answer, key=lambda r: r.preference)]


def _site_of(host: str) -> str:
    """``mx1.mail.example.co.uk`` -> ``example.co.uk``; ``aspmx.l.google.com`` -> ``google.com``."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and len(labels[-2]) <= 3:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _ends_with(name: str, suffix: str) -> bool:
    return name == suffix or name.endswith("." + suffix)


class ProviderMap:
    """Domain -> provider name, each domain looked up at most once (thread-safe)."""

    def __init__(self, providers: Mapping[str, Mapping[str, Any]] | None = None, *,
                 resolver: MxResolver | None = dns_mx_hosts, lookups: int = 8,
                 ask: Callable[[list[str]], dict[str, str]] | None = None) -> None:
        self.resolver = resolver
        self.ask = ask  # names the providers of many domains at once (a send's process asks its parent)
        self._domains: dict[str, str] = {}
        self._mx: list[tuple[str, str]] = []
        for name, (domains, mx) in KNOWN_PROVIDERS.items():
            self._add(name, domains, mx)
        for name, table in (providers or {}).items():  # settings may add domains and MX suffixes
            self._add(name, table.get("domains", ()), table.get("mx", ()))
        self._mx.sort(key=lambda pair: -len(pair[0]))  # the longest suffix wins
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()
        self._lookups = lookups

    def _add(self, name: str, domains: Iterable[str], mx: Iterable[str]) -> None:
        for domain in domains:
            self._domains[domain.lower()] = name
        for suffix in mx:
            self._mx.append((suffix.lower().lstrip("."), name))

    def _known(self, domain: str) -> str | None:
        if domain in self._domains:
            return self._domains[domain]
        if any(_ends_with(domain, s) for s in RESERVED_SUFFIXES) or self.resolver is None:
            return domain
        return None

    def _from_mx(self, domain: str, hosts: list[str]) -> str:
        for host in hosts:
            for suffix, name in self._mx:
                if _ends_with(host, suffix):
                    return name
        return _site_of(hosts[0]) if hosts else domain

    def provider_of(self, domain: str) -> str:
        """The provider receiving mail for ``domain`` (looked up now if not known yet)."""
        domain = domain.lower()
        found = self._cache.get(domain)
        if found is None:
            self.resolve([domain])
            found = self._cache[domain]
        return found

    def resolve(self, domains: Iterable[str]) -> None:
        """Look up every domain not known yet, several at a time (a new domain costs one MX query per send)."""
        todo = []
        for domain in {d.lower() for d in domains} - self._cache.keys():
            known = self._known(domain)
            if known is not None:
                self._cache[domain] = known
            else:
                todo.append(domain)
        if not todo:
            return
        if self.ask is not None:
            answers = self.ask(todo)
            with self._lock:
                self._cache.update(answers)
            return
        resolver = self.resolver
        assert resolver is not None
        with concurrent.futures.ThreadPoolExecutor(min(self._lookups, len(todo))) as pool:
            found = dict(zip(todo, pool.map(resolver, todo), strict=True))
        with self._lock:
            for domain, hosts in found.items():
                self._cache[domain] = self._from_mx(domain, hosts)


def provider_settings(delivery: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``[delivery.providers.<name>]`` tables, checked: name -> {connections, rate, retry_delay, ...}."""
    raw = delivery.get("providers") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("[delivery] providers must be tables like [delivery.providers.google]")
    out: dict[str, dict[str, Any]] = {}
    for name, table in raw.items():
        where = f"[delivery.providers.{name}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table with connections, rate, retry_delay, domains or mx")
        unknown = set(table) - PROVIDER_DEFAULTS.keys()
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}; use {', '.join(PROVIDER_DEFAULTS)}")
        merged = {**PROVIDER_DEFAULTS, **table}
        for key in ("connections", "rate", "retry_delay"):
            value = merged[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"{where} {key} = {value!r}: give a number of 0 or more")
        for key in ("domains", "mx"):
            if not isinstance(merged[key], list) or not all(isinstance(v, str) for v in merged[key]):
                raise ConfigError(f"{where} {key} must be a list of names, like [\"example.org\"]")
        out[str(name)] = merged
    return out


def limits_for(name: str, providers: Mapping[str, Mapping[str, Any]], connections: int,
               retry_delay: float) -> ProviderLimits:
    """One provider's limits: its table where given, else the send's own connections and back-off."""
    table = providers.get(name, PROVIDER_DEFAULTS)
    wanted = int(table["connections"]) or connections
    return ProviderLimits(name, max(1, min(wanted, connections)), float(table["rate"]),
                          float(table["retry_delay"]) or retry_delay)
