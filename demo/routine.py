"""The demo's look at the routine: give the demo a schedule, then show what ``newsletter run --dry-run`` says."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click

from newsletter.settings import SETTINGS_FILE
from newsletter.workspace import Workspace

if TYPE_CHECKING:
    from . import Demo


def show_routine(demo: Demo) -> None:
    """Set [schedule] sources and editors in the demo's settings, then print a dry run of 'newsletter run'."""
    from issues.routine import run_routine
    from newsletter.samples import ARTICLES_DIR

    from . import newsletter_command

    path = demo.root / SETTINGS_FILE
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^sources = \[\]", f'sources = ["{ARTICLES_DIR}"]', text, count=1)
    text = re.sub(r"(?m)^editors = \[\]", 'editors = ["editor@example.com"]', text, count=1)
    path.write_text(text, encoding="utf-8")
    demo.ws = Workspace(demo.root)
    report = run_routine(demo.ws, dry_run=True)
    click.echo(f"Routine:    'newsletter run --dry-run' now (issue {report.cycle['week']} sends {report.cycle['send_at']}):")
    for step in report.steps:
        click.echo(f"            {step.step:<10} {step.status:<8} {step.summary}")
    demo.summary.append(f"Run the week by itself:      {newsletter_command(demo)} schedule install")
