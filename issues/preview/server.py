"""The editor's live preview: the issue at desktop and phone widths, its text, size and warnings.

A local-only web app (127.0.0.1) that renders the issue on every request, so a
saved template shows at once.  A watchdog observer follows the template folders
and the articles folder: a changed article is re-imported and a draft rebuilt;
then the version goes up and the open page, long-polling ``/changes``, reloads.
Sent (frozen) issues show the stored copy every reader got.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, g, jsonify, request
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from issues.build import (
    get_issue,
    issue_articles,
    issue_fingerprint,
    list_issues,
    refuse_without_urls,
    render_issue,
)
from issues.web import with_base_target
from newsletter.errors import NewsletterError, NotFound
from newsletter.templating import template_dirs
from newsletter.web import EMAIL_CSP, BackgroundServer, create_shell, render_page
from newsletter.workspace import Workspace

from .checks import GMAIL_CLIP_BYTES, PreviewReport, check_issue

log = logging.getLogger(__name__)

PREVIEW_HOST = "127.0.0.1"  # never on another interface: drafts are not public
LONG_POLL_SECONDS = 25.0
DB_CHECK_SECONDS = 1.0
DEBOUNCE_SECONDS = 0.25
WATCHED_SUFFIXES = {".j2", ".mjml", ".html", ".txt", ".css", ".md", ".markdown"}
ARTICLE_SUFFIXES = {".md", ".markdown", ".html", ".htm", ".txt"}


def pick_issue(ws: Workspace, key: str | None = None) -> str:
    """The issue to preview: ``key`` if given, else the latest draft, else the latest issue."""
    if key:
        return get_issue(ws, key).id
    issues = list_issues(ws)
    if not issues:
        raise NotFound("there is no issue yet; build one with 'newsletter issue build'")
    drafts = [issue for issue in issues if issue.status == "draft"]
    return (drafts or issues)[0].id


class PreviewSession:
    """The issue under preview and a version number that goes up whenever a watched file changes."""

    def __init__(self, ws: Workspace, issue_key: str | None = None) -> None:
        self.ws = ws
        self.issue_id = pick_issue(ws, issue_key)
        refuse_without_urls(issue_articles(ws, get_issue(ws, self.issue_id)), f"preview {self.issue_id}")
        self.version = 1
        self.last_error: str | None = None
        self.closed = False
        self._changed = threading.Condition()
        self._seen = self._fingerprint()

    def _fingerprint(self) -> tuple[Any, ...]:
        """What changes in the database when the issue is rebuilt, frozen or sent from another terminal."""
        return issue_fingerprint(self.ws, self.issue_id)

    def report(self) -> PreviewReport:
        """Render the issue now (drafts from the current templates) and check it."""
        issue = get_issue(self.ws, self.issue_id)
        return check_issue(self.ws, issue, render_issue(self.ws, issue.id))

    def refresh(self, paths: Iterable[Path]) -> None:
        """React to saved files: re-import changed articles, rebuild a draft, then bump the version."""
        articles_dir = self.ws.articles_dir.resolve()
        articles = [p for p in paths if p.suffix.lower() in ARTICLE_SUFFIXES and p.exists()
                    and articles_dir in p.resolve().parents]
        self.last_error = None
        try:
            if articles:
                from issues.build import build_issue
                from newsletter.articles import import_sources

                import_sources(self.ws, articles)
                issue = get_issue(self.ws, self.issue_id)
                if issue.status == "draft":
                    build_issue(self.ws, issue.week)
        except NewsletterError as exc:
            self.last_error = str(exc)
        except Exception as exc:  # keep watching whatever an article holds
            log.exception("refreshing the preview failed")
            self.last_error = f"{type(exc).__name__}: {exc}"
        with self._changed:
            self._seen = self._fingerprint()
            self.version += 1
            self._changed.notify_all()

    def wait_for_change(self, since: int, timeout: float = LONG_POLL_SECONDS) -> int:
        """Block until the version is past ``since`` (or ``timeout``); return the current version.

        Saved files bump the version through the watcher; every second the issue's row is
        also checked, so ``newsletter issue build`` or a send started elsewhere shows too.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.version <= since and not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(min(remaining, DB_CHECK_SECONDS))
                seen = self._fingerprint()
                if seen != self._seen:
                    self._seen = seen
                    self.version += 1
                    self._changed.notify_all()
            return self.version

    def close(self) -> None:
        """Answer every waiting long poll now (the server is stopping)."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()


class _SaveHandler(FileSystemEventHandler):
    """Collects saved files and calls :meth:`PreviewSession.refresh` once they settle."""

    def __init__(self, session: PreviewSession, delay: float = DEBOUNCE_SECONDS) -> None:
        self.session = session
        self.delay = delay
        self._paths: set[Path] = set()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type not in ("created", "modified", "moved", "deleted"):
            return
        raw = event.dest_path if event.event_type == "moved" else event.src_path
        path = Path(raw.decode() if isinstance(raw, bytes) else raw)
        if path.suffix.lower() not in WATCHED_SUFFIXES or path.name.startswith((".", "#")):
            return
        with self._lock:
            self._paths.add(path)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.delay, self._flush)
            self._timer.daemon = True
            self._timer.start()

    def _flush(self) -> None:
        with self._lock:
            paths, self._paths = self._paths, set()
        self.session.refresh(paths)

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()


def watch(session: PreviewSession) -> tuple[Any, _SaveHandler]:
    """Start an observer on the template folders and the articles folder."""
    handler = _SaveHandler(session)
    observer = Observer()
    folders = [*template_dirs(session.ws), session.ws.articles_dir]
    for folder in dict.fromkeys(Path(f).resolve() for f in folders):
        if folder.is_dir():
            observer.schedule(handler, str(folder), recursive=True)
    observer.daemon = True
    observer.start()
    return observer, handler


LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


def _local_host_only() -> None:
    """Answer only requests addressed to this machine by name (``Host: 127.0.0.1:PORT``, ``localhost``).

    A page elsewhere could point its own host name at 127.0.0.1 (DNS rebinding) and read
    drafts as if same-origin; its requests carry that foreign name in ``Host``, so they
    are refused here.
    """
    host = request.host.lower()
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if name not in LOCAL_HOSTS:
        abort(403, description="The preview answers only at http://127.0.0.1 or http://localhost; open it there.")


def create_preview_app(session: PreviewSession) -> Flask:
    """The preview pages for one session (on the same shell as the public app)."""
    app = create_shell(session.ws, name="preview")
    app.before_request(_local_host_only)

    @app.get("/")
    def page() -> Response:
        g.no_store = True
        try:
            report = session.report()
        except NewsletterError as exc:
            return render_page("preview.html.j2", status=500, report=None, error=str(exc),
                               version=session.version, issue_id=session.issue_id, clip=GMAIL_CLIP_BYTES)
        return render_page("preview.html.j2", report=report, error=session.last_error,
                           version=session.version, issue_id=session.issue_id, clip=GMAIL_CLIP_BYTES)

    @app.get("/email")
    def email() -> Response:
        g.csp, g.no_store = EMAIL_CSP, True
        return Response(with_base_target(session.report().html, "_blank"), mimetype="text/html")

    @app.get("/report.json")
    def report_json() -> Response:
        g.no_store = True
        return jsonify(version=session.version, **session.report().as_dict())

    @app.get("/changes")
    def changes() -> Response:
        """Long poll: answers as soon as the version passes ``since``, or after 25 seconds."""
        g.no_store = True
        since = request.args.get("since", type=int, default=0)
        return jsonify(version=session.wait_for_change(since))

    return app


class PreviewServer:
    """The preview app on 127.0.0.1 with its file watcher; a context manager."""

    def __init__(self, ws: Workspace, issue_key: str | None = None, *, port: int = 0, watch_files: bool = True):
        self.session = PreviewSession(ws, issue_key)
        self.app = create_preview_app(self.session)
        self.server = BackgroundServer(self.app, PREVIEW_HOST, port, threads=8, channel_timeout=120)
        self._watch = watch_files
        self._observer: Any = None
        self._handler: _SaveHandler | None = None

    @property
    def url(self) -> str:
        return self.server.url + "/"

    def start(self) -> PreviewServer:
        if self._watch:
            self._observer, self._handler = watch(self.session)
        self.server.start()
        return self

    def stop(self) -> None:
        self.session.close()
        self.server.stop()
        if self._observer is not None:
            self._handler.cancel()  # type: ignore[union-attr]
            self._observer.stop()
            self._observer.join(timeout=5)

    def __enter__(self) -> PreviewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
