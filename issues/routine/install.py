"""``newsletter schedule install``: the crontab line, or the systemd service and timer, that call ``run``.

Printed by default; ``--write`` puts the line in the user's crontab (replacing this
workspace's earlier line) or the units in the user's systemd folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from newsletter.errors import ConfigError
from newsletter.workspace import Workspace

CRON_MARK = "# newsletter run:"


def executable() -> str:
    """The ``newsletter`` command of this installation (beside the running Python, else on PATH)."""
    beside = Path(sys.executable).parent / "newsletter"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("newsletter")
    if found:
        return str(Path(found).resolve())
    raise ConfigError("cannot find the 'newsletter' command; install the package (pip install .) into the "
                      "environment you schedule it from")


def unit_name(ws: Workspace) -> str:
    """``newsletter-run-<folder>-<hash>``: one per workspace, readable and unique."""
    slug = re.sub(r"[^a-z0-9]+", "-", ws.root.name.lower()).strip("-")[:30] or "workspace"
    return f"newsletter-run-{slug}-{hashlib.sha256(str(ws.root).encode()).hexdigest()[:6]}"


def cron_line(ws: Workspace, every: int, command: str | None = None) -> str:
    """One crontab line: ``run`` every ``every`` minutes; with --quiet cron mails only errors to the owner."""
    command = command or executable()
    line = (f"*/{every} * * * * NO_COLOR=1 {shlex.quote(command)} --workspace {shlex.quote(str(ws.root))} "
            f"--quiet run {CRON_MARK} {ws.root}")
    return line.replace("%", "\\%")  # cron reads a bare % as a line break


def _systemd_quote(word: str) -> str:
    """A word for ExecStart: double-quoted, with ``%`` (a unit specifier) and quotes escaped."""
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'


@dataclass(frozen=True)
class Units:
    name: str
    service: str
    timer: str


def systemd_units(ws: Workspace, every: int, command: str | None = None) -> Units:
    """A oneshot service running ``newsletter run`` and a timer starting it every ``every`` minutes."""
    command = command or executable()
    root = str(ws.root).replace("%", "%%")
    exec_start = " ".join(_systemd_quote(w) for w in (command, "--workspace", str(ws.root), "run"))
    service = f"""\
[Unit]
Description=Newsletter routine (import, build, test copy, send, welcome series) for {root}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
WorkingDirectory={root}
ExecStart={exec_start}
Environment=NO_COLOR=1
# Secrets (NEWSLETTER_SMTP_PASSWORD, NEWSLETTER_SECRET_KEY, ...) as KEY=value lines, outside version control:
EnvironmentFile=-{root}/newsletter.env
# Stop like Ctrl-C: messages in flight finish and are recorded; the next run resumes the send.
KillSignal=SIGINT
TimeoutStopSec=5min
"""
    timer = f"""\
[Unit]
Description=Run the newsletter routine for {root} every {every} minutes

[Timer]
OnCalendar=*:0/{every}
Persistent=true
AccuracySec=30s

[Install]
WantedBy=timers.target
"""
    return Units(unit_name(ws), service, timer)


def systemd_user_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def write_units(ws: Workspace, units: Units, folder: Path | None = None) -> list[Path]:
    """Write the two units into ``folder`` (the user's systemd folder by default); their paths."""
    folder = folder or systemd_user_dir()
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{units.name}.service", folder / f"{units.name}.timer"]
    paths[0].write_text(units.service, encoding="utf-8")
    paths[1].write_text(units.timer, encoding="utf-8")
    return paths


def install_cron(ws: Workspace, line: str) -> str:
    """Put ``line`` in the user's crontab, replacing this workspace's earlier line; the new crontab."""
    if shutil.which("crontab") is None:
        raise ConfigError("there is no 'crontab' command here; install cron, or use --systemd, or add the "
                          "printed line to your scheduler by hand")
    current = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    lines = current.stdout.splitlines() if current.returncode == 0 else []
    mark = f"{CRON_MARK} {ws.root}"
    kept = [existing for existing in lines if not existing.rstrip().endswith(mark)]
    table = "\n".join([*kept, line]) + "\n"
    written = subprocess.run(["crontab", "-"], input=table, capture_output=True, text=True, check=False)
    if written.returncode != 0:
        raise ConfigError(f"crontab refused the new table: {written.stderr.strip() or written.returncode}")
    return table


def every_minutes(value: int) -> int:
    if not 1 <= value <= 59:
        raise ConfigError(f"--every {value}: give minutes between 1 and 59 (5 is a good choice)")
    return value
