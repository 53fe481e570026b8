"""The web part of ``make demo``: say how to preview the issue and serve the public pages."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from .demo import Demo


def web_commands(demo: Demo) -> None:
    """Print the preview and serve commands for the demo workspace (nothing is started)."""
    ws = demo.workspace
    where = shlex.quote(str(demo.root))
    issue = demo.issue_id or ""
    web = ws.settings.web
    click.echo(f"Preview:    newsletter --workspace {where} preview {issue}".rstrip())
    click.echo(f"            (live preview on http://127.0.0.1:{web.preview_port}/, reloads when you save)")
    click.echo(f"Serve:      newsletter --workspace {where} serve --port {web.port}")
    click.echo(f"            (sign-up form at http://{web.host}:{web.port}/subscribe, archive at /issues/)")
    demo.summary.append(f"Preview the issue live:      newsletter --workspace {where} preview {issue}".rstrip())
    demo.summary.append(f"Serve the sign-up pages:     newsletter --workspace {where} serve")
