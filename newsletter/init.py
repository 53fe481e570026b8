"""``newsletter init``: make a workspace folder with a commented settings file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .errors import ConfigError
from .faults import explain_database_error, explain_os_error
from .settings import DEFAULTS, SETTINGS_FILE
from .workspace import Workspace

SETTINGS_TEMPLATE = '''\
# Settings of this newsletter.  Every key can be overridden by an environment
# variable NEWSLETTER_<SECTION>_<KEY>, e.g. NEWSLETTER_SMTP_HOST=mail.example.com.
# Secrets never go here: set NEWSLETTER_SMTP_PASSWORD and NEWSLETTER_SECRET_KEY
# in the environment (without the latter a key file .secret_key, mode 0600, is made).

[site]
name = "{name}"
url = "https://blog.example.com"          # the blog the articles live on
public_url = "https://news.example.com"   # where `newsletter serve` is reachable; links in mail point here
from = "{name} <news@example.com>"
reply_to = ""
timezone = "America/New_York"             # weeks and dates are counted in this zone
postal_address = "123 Main St, Springfield"   # required by anti-spam law in most countries

[issue]
# Jinja2 templates for the subject, the preheader (the preview line inboxes show after it)
# and the campaign; `site` and `issue` are available.
subject = "{{{{ site.name }}}} #{{{{ issue.number }}}}: {{{{ issue.items[0].title }}}}"
preheader = "{{% if issue.items | length == 1 %}}One new article this week: {{{{ issue.items[0].title }}}}{{% else %}}{{{{ issue.items | length }}}} new articles this week, starting with {{{{ issue.items[0].title }}}}{{% endif %}}"
utm_source = "newsletter"
utm_medium = "email"
utm_campaign = "{{{{ issue.id }}}}"
excerpt_words = 50

[paths]
articles = "articles"       # Markdown articles of this site
templates = ""              # a folder of templates overriding the built-in ones

[delivery]
transport = "maildir"     # "maildir" (writes into the folder below) or "smtp"
maildir = "outbox"        # relative to the workspace
connections = 4
rate = 0                  # messages per second over all connections, 0 = no limit
# Readers are grouped by the provider receiving their mail (their domain's MX hosts);
# each provider can have its own limits, e.g.:
# [delivery.providers.microsoft]
# connections = 2           # at most this many of the connections at once
# rate = 20                 # messages per second to this provider
# retry_delay = 5           # first back-off (seconds) after a 421 or a run of 4xx

[smtp]
host = "localhost"
port = 587
security = "starttls"     # "none", "starttls" or "tls"
username = ""
# the password only from NEWSLETTER_SMTP_PASSWORD

[subscribers]
confirm_expiry_days = 7
welcome = true
'''

GITIGNORE = """\
# Never commit secrets or the subscriber database.
.secret_key
*.db
*.db-wal
*.db-shm
outbox/
inbound-rejected/
"""


def init_workspace(folder: Path | str, name: str = "Weekly Training Notes") -> Workspace:
    """Create ``folder`` as a workspace (settings, articles/, issues/, database); refuse to overwrite."""
    root = Path(folder).expanduser()
    settings_path = root / SETTINGS_FILE
    if settings_path.exists():
        raise ConfigError(f"{settings_path} already exists; this folder is a workspace already")
    if '"' in name or "\n" in name or "\\" in name:
        raise ConfigError("the site name may not contain quotes, backslashes or line breaks")
    try:
        root.mkdir(parents=True, exist_ok=True)
        settings_path.write_text(SETTINGS_TEMPLATE.format(name=name), encoding="utf-8")
        gitignore = root / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text(GITIGNORE, encoding="utf-8")
        ws = Workspace(root)
        ws.articles_dir.mkdir(exist_ok=True)
        ws.issues_dir.mkdir(exist_ok=True)
        ws.db.execute("SELECT 1")  # creates the database file
    except OSError as exc:
        raise ConfigError(f"cannot make a workspace in {root}: {explain_os_error(exc)}") from None
    except sqlite3.Error as exc:
        problem = explain_database_error(exc, root / DEFAULTS["paths"]["database"]) or str(exc)
        raise ConfigError(f"cannot make a workspace in {root}: {problem}") from None
    return ws
