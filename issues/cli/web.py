"""``newsletter serve`` (the public pages on waitress) and ``newsletter preview`` (the editor's live preview)."""

from __future__ import annotations

import threading
import webbrowser

import click

from newsletter.console import pass_workspace, say
from newsletter.workspace import Workspace


@click.command()
@click.option("--host", default=None, metavar="HOST", help="Interface to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", default=None, type=int, metavar="PORT", help="Port to listen on (default: [web] port, 8080).")
@click.option("--threads", default=None, type=int, help="Worker threads (default: [web] threads).")
@pass_workspace
def serve(ws: Workspace, host: str | None, port: int | None, threads: int | None) -> None:
    """Serve the sign-up, confirm and unsubscribe pages and the public archive on waitress.

    Put a TLS-terminating proxy (nginx, Caddy) in front and set [site] public_url to
    its address; set [web] trusted_proxies = 1 so the rate limits see readers' IPs.

    \b
    Example:
        newsletter serve --host 0.0.0.0 --port 8080
        NEWSLETTER_HOME=/srv/news waitress-serve --call issues.web.app:create_app
    """
    from issues.web import create_app
    from newsletter.web import make_server, waitress_options
    from subscribers import mail_worker

    web = ws.settings.web
    host = host or str(web.host)
    port = int(web.port) if port is None else port
    options = waitress_options(ws)
    if threads:
        options["threads"] = threads
    app = create_app(ws)
    server = make_server(app, host, port, **options)
    say(f"Serving {ws.settings.site.name} on http://{host}:{port}/ (public URL {ws.settings.site.public_url}); "
        "Ctrl-C stops.")
    try:
        server.run()  # returns after Ctrl-C, once waitress has finished the requests in progress
    finally:
        server.close()
        mail_worker(app).stop()  # mails still queued go out at the next start (or `subscribers send-mail`)
    say("Stopped.")


@click.command()
@click.argument("issue", required=False, metavar="[ISSUE]")
@click.option("--port", default=None, type=int, help="Port on 127.0.0.1 (default: [web] preview_port; 0 = any free).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser window.")
@pass_workspace
def preview(ws: Workspace, issue: str | None, port: int | None, no_browser: bool) -> None:
    """Open ISSUE (default: the latest draft) in the browser, as readers will see it, with live reload.

    Shows the issue at desktop and phone widths, the text version, subject and preheader,
    the HTML size against Gmail's 102 KB clip, and warnings. Listens on 127.0.0.1 only.

    \b
    Example:
        newsletter preview 2026-W47
        newsletter preview --no-browser --port 8025
    """
    from issues.preview import PreviewServer

    port = int(ws.settings.web.preview_port) if port is None else port
    with PreviewServer(ws, issue, port=port) as server:
        say(f"Previewing {server.session.issue_id} at {server.url} (reloads on save); Ctrl-C stops.")
        if not no_browser:
            webbrowser.open(server.url)
        try:
            wait_until_interrupted(server)
        except KeyboardInterrupt:
            say("Stopped.")


def wait_until_interrupted(server: object) -> None:
    """Keep the command alive while ``server`` runs on its threads (Ctrl-C ends it)."""
    threading.Event().wait()
