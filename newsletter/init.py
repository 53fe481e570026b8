"""``newsletter init``: make a workspace folder with a commented settings file and a DKIM key."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from .errors import ConfigError
from .faults import explain_database_error, explain_os_error
from .mail.dkim import generate_key
from .settings import DEFAULTS, SETTINGS_FILE
from .settings_docs import settings_file_text
from .workspace import Workspace

DKIM_KEY_FILE = "dkim-{selector}.pem"

GITIGNORE = """\
# Never commit secrets or the subscriber database.
.secret_key
*.pem
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
        selector = f"nl{date.today():%Y%m}"
        key_file = DKIM_KEY_FILE.format(selector=selector)
        if not (root / key_file).exists():
            generate_key(root / key_file)
        settings_path.write_text(settings_file_text({
            ("site", "name"): name, ("site", "from"): f"{name} <news@example.com>",
            ("dkim", "key_file"): key_file, ("dkim", "selector"): selector,
        }), encoding="utf-8")
        gitignore = root / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text(GITIGNORE, encoding="utf-8")
        ws = Workspace(root)
        ws.articles_dir.mkdir(exist_ok=True)
        ws.issues_dir.mkdir(exist_ok=True)
        ws.db.execute("SELECT 1")  # creates the database file
        for private in (ws.database_path, ws.database_path.with_name(ws.database_path.name + "-wal"),
                        ws.database_path.with_name(ws.database_path.name + "-shm")):
            if private.exists():
                private.chmod(0o600)  # readers' addresses: for the owner only
    except OSError as exc:
        raise ConfigError(f"cannot make a workspace in {root}: {explain_os_error(exc)}") from None
    except sqlite3.Error as exc:
        problem = explain_database_error(exc, root / DEFAULTS["paths"]["database"]) or str(exc)
        raise ConfigError(f"cannot make a workspace in {root}: {problem}") from None
    return ws
