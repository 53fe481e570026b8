"""The web part of ``make demo``: say how to preview the issue and serve the public pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import Demo


def web_commands(demo: Demo) -> None:
    """Add the preview and serve commands to the demo's closing summary (nothing is started)."""
    from . import newsletter_command

    web = demo.workspace.settings.web
    command = newsletter_command(demo)
    issue = demo.issue_id or ""
    demo.summary.append(f"Preview the issue live:      {command} preview {issue}".rstrip())
    demo.summary.append(f"                             (http://127.0.0.1:{web.preview_port}/, reloads when you save)")
    demo.summary.append(f"Serve the sign-up pages:     {command} serve --port {web.port}")
    demo.summary.append(f"                             (http://{web.host}:{web.port}/subscribe, archive at /issues/)")
