"""Where templates are found: the editor's override folder first, then the built-in ones.

Built-in templates live in the checkout's ``templates/`` folder; an installed
wheel carries them as the package ``newsletter_templates``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .workspace import Workspace

CHECKOUT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def builtin_templates_dir() -> Path:
    """The folder of built-in templates, from a checkout or from the installed package."""
    if CHECKOUT_TEMPLATES.is_dir():
        return CHECKOUT_TEMPLATES
    return Path(str(resources.files("newsletter_templates")))


def template_dirs(ws: Workspace | None) -> list[Path]:
    """Search path for templates: ``[paths] templates`` (if set), then the built-in folder."""
    dirs: list[Path] = []
    if ws is not None and ws.settings.paths.templates:
        folder = ws.path(ws.settings.paths.templates)
        if not folder.is_dir():  # a typo here would silently drop every override
            raise ConfigError(
                f"[paths] templates = {ws.settings.paths.templates!r}: there is no folder {folder}; "
                "create it, fix the path in newsletter.toml, or set it to \"\" for the built-in templates"
            )
        dirs.append(folder)
    dirs.append(builtin_templates_dir())
    return dirs
