"""The public web app: the shell from :mod:`newsletter.web` with the readers' and the archive's pages.

``create_app`` is the factory a WSGI host calls, for example::

    NEWSLETTER_HOME=/srv/news waitress-serve --call issues.web.app:create_app
    NEWSLETTER_HOME=/srv/news gunicorn 'issues.web.app:create_app()'
"""

from __future__ import annotations

import os

from flask import Flask

from newsletter.web import create_shell
from newsletter.workspace import Workspace


def create_app(workspace: Workspace | str | os.PathLike | None = None) -> Flask:
    """The app serving sign-up, confirm, unsubscribe and the archive for one workspace.

    ``workspace`` is a :class:`Workspace`, a folder, or None to find it as the CLI does
    (``NEWSLETTER_HOME``, then the current folder and its parents).
    """
    from issues.routine.web import bp as approve_bp
    from subscribers import blueprint as subscribers_bp

    from .pages import bp as archive_bp

    ws = workspace if isinstance(workspace, Workspace) else Workspace.find(workspace)
    app = create_shell(ws, name="newsletter")
    app.register_blueprint(subscribers_bp)
    app.register_blueprint(archive_bp)
    app.register_blueprint(approve_bp)
    return app
