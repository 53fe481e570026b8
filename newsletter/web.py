"""The web app shell: a Flask app with security headers, size limits and friendly error pages.

Each package plugs its blueprint in (``subscribers.web``, ``issues.web.pages``); the
shell knows nothing about them.  It also holds the small helpers every page
needs: the workspace of the request, page rendering, an in-memory rate limiter
and a ``next`` redirect that only goes to the configured site.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request, send_from_directory
from jinja2 import FileSystemLoader, StrictUndefined
from werkzeug.exceptions import HTTPException, NotFound, TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from .permissions import keep_files_private
from .render import template_filters
from .server import BackgroundServer, make_server, waitress_options
from .templating import template_dirs
from .workspace import Workspace

log = logging.getLogger("newsletter.web")

EXTENSION_KEY = "newsletter_workspace"

# Our own pages: no inline script or style, nothing from elsewhere, never framed.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-src 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# A rendered email shown in a frame of our own pages: its inline styles and remote
# images are allowed, scripts and forms are not, and only our pages may frame it.
EMAIL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; font-src https: data:; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
)

ERROR_TEXT = {
    400: ("That request did not make sense", "Something in the form or link was malformed. "
          "Go back, check what you typed and try again."),
    403: ("Not allowed", "This page is not available to you."),
    404: ("Page not found", "There is nothing at this address. Check the link, or start again "
          "from the sign-up page or the archive."),
    405: ("That does not work here", "This address does not accept that kind of request. "
          "Go back and use the button on the page."),
    413: ("That was too much", "The form you sent was far larger than any sign-up needs, "
          "so we did not read it. Go back and send just your address."),
    429: ("Slow down a little", "There were too many attempts from here in a short time. "
          "Wait a while and try again."),
    500: ("Something went wrong on our side", "The problem has been logged. Please try again in "
          "a few minutes; nothing you did caused it."),
}


class NewsletterFlask(Flask):
    """Flask with autoescaping for every template (ours end in ``.html.j2``) and strict undefined."""

    jinja_options = {**Flask.jinja_options, "autoescape": True, "undefined": StrictUndefined}


def current_workspace() -> Workspace:
    """The workspace the running app serves."""
    return current_app.extensions[EXTENSION_KEY]


def render_page(template: str, status: int = 200, **context: Any) -> Response:
    """Render ``pages/<template>`` with the site settings and return it as an HTML response."""
    ws = current_workspace()
    body = current_app.jinja_env.get_template(f"pages/{template}").render(
        site=ws.settings.site, request=request, **context
    )
    return Response(body, status=status, mimetype="text/html")


def wants_json() -> bool:
    """True when the client sent JSON or prefers a JSON answer over HTML."""
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def client_ip() -> str:
    """The caller's address (``[web] trusted_proxies`` decides whether X-Forwarded-For counts)."""
    return request.remote_addr or "unknown"


def origin_of(url: str) -> str:
    """``https://host[:port]`` of a URL, lowercased; empty for anything that is not http(s)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(ws: Workspace) -> set[str]:
    """Origins whose pages may post our forms: ``[site] url``, ``public_url`` and ``[web] allowed_origins``."""
    extra = ws.settings.web.allowed_origins
    listed = extra if isinstance(extra, (list, tuple)) else str(extra).replace(",", " ").split()
    sites = (ws.settings.site.url, ws.settings.site.public_url, *listed)
    return {origin_of(str(site)) for site in sites} - {""}


def cross_site_origin(ws: Workspace | None = None) -> str | None:
    """The foreign origin a browser says this request comes from, or None when it may post here.

    A browser's ``Sec-Fetch-Site: same-origin`` passes; otherwise the ``Origin`` header decides
    (``Referer`` when a browser sent none): our own origin and :func:`allowed_origins` pass,
    ``null`` (a sandboxed frame, a page hiding where it is) does not.  A request with neither header (curl, a server-side
    script, a mail app's one-click POST) is not a browser posting from another page.
    """
    if request.headers.get("Sec-Fetch-Site") == "same-origin":  # set by the browser, never by a page
        return None  # our own page (whose no-referrer policy makes the browser send "Origin: null")
    origin = request.headers.get("Origin")
    if origin is None:
        referer = request.headers.get("Referer")
        if not referer:
            return None
        origin = origin_of(referer) or referer
    origin = origin.strip().lower()
    own = origin_of(request.host_url)
    if origin == own or origin in allowed_origins(ws or current_workspace()):
        return None
    return origin[:200]


_UNSAFE_CHARS = re.compile(r"[\x00-\x20\\\x7f]")


def safe_next(target: str | None, ws: Workspace | None = None) -> str | None:
    """``target`` if it stays on this site or the blog (``[site] url``/``public_url``), else None.

    A relative path must start with one ``/``; an absolute URL must have exactly the
    origin of one of the configured sites.  Backslashes, control characters and
    spaces are refused outright, since browsers read ``/\\evil.com`` as another host.
    """
    if not target or len(target) > 2000 or _UNSAFE_CHARS.search(target):
        return None
    ws = ws or current_workspace()
    if target.startswith("/"):
        return None if target.startswith("//") else target
    allowed = {origin_of(ws.settings.site.url), origin_of(ws.settings.site.public_url)} - {""}
    parts = urlsplit(target)
    if parts.username or parts.password:
        return None
    return target if origin_of(target) in allowed else None


class RateLimiter:
    """At most ``limit`` hits per key in a sliding ``window`` of seconds, in memory (0 = no limit).

    Bounded: past ``max_keys`` keys the stalest are dropped, so a flood of fake
    addresses cannot grow it without end.  One process only, which is what
    ``newsletter serve`` runs; behind several processes each keeps its own count.
    """

    def __init__(self, limit: int, window: float = 3600.0, *, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float:
        """Count one attempt for ``key``; 0 if allowed, else the seconds until one is allowed again."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            self._hits[key] = hits  # re-inserted last: dict order is least recently used first
            if len(hits) >= self.limit:
                return max(hits[0] + self.window - now, 1.0)
            hits.append(now)
            if len(self._hits) > self.max_keys:
                for stale in list(self._hits)[: len(self._hits) - self.max_keys]:
                    del self._hits[stale]
            return 0.0


def too_many(retry_after: float) -> TooManyRequests:
    """A 429 carrying a Retry-After header."""
    exc = TooManyRequests()
    exc.retry_after = int(retry_after) + 1  # type: ignore[attr-defined]
    return exc


def _security_headers(response: Response) -> Response:
    headers = response.headers
    csp = getattr(g, "csp", None) or PAGE_CSP
    headers.setdefault("Content-Security-Policy", csp)
    headers.setdefault("X-Frame-Options", "SAMEORIGIN" if "frame-ancestors 'self'" in csp else "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Token links must never leak to another site through the Referer header.
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-site")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    if request.is_secure:  # behind TLS (directly, or a proxy trusted through [web] trusted_proxies)
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if getattr(g, "no_store", False):
        headers["Cache-Control"] = "no-store"
    return response


def _error_page(code: int, retry_after: int | None = None, detail: str | None = None) -> Response:
    title, text = ERROR_TEXT.get(code, (f"Error {code}", "Something went wrong. Please go back and try again."))
    text = detail or text
    if wants_json():
        response = current_app.json.response({"ok": False, "error": title, "detail": text})
        response.status_code = code
    else:
        try:
            response = render_page("error.html.j2", status=code, code=code, title=title, text=text)
        except Exception:  # the error page itself failed: still never a traceback
            log.exception("error page template failed")
            response = Response(f"<!doctype html><title>{code}</title><h1>{title}</h1><p>{text}</p>",
                                status=code, mimetype="text/html")
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _handle_http_error(exc: HTTPException) -> Response:
    if exc.code is None or exc.code < 400:
        return exc.get_response()
    # a description our own code gave (not werkzeug's stock one) says exactly what was wrong
    detail = exc.description if exc.description != type(exc).description else None
    response = _error_page(exc.code, getattr(exc, "retry_after", None), detail)
    if exc.code == 405 and isinstance(exc.valid_methods, (list, tuple)):  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def _handle_crash(exc: Exception) -> Response:
    """A 500 page; the log names the error's type and where it happened, never its message.

    An exception's message may quote what a reader typed (an address, a name), which does
    not belong in a log file; the traceback's file and line say where to look.
    """
    where = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unhandled %s on %s %s\n%s", type(exc).__name__, request.method, request.path, where.rstrip())
    return _error_page(500)


def _serve_static(filename: str) -> Response:
    """Files under ``static/`` of the template folders; an editor's override folder wins."""
    ws = current_workspace()
    for folder in template_dirs(ws):
        if (folder / "static" / filename).is_file():
            response = send_from_directory(folder / "static", filename, max_age=3600)
            return response
    raise NotFound()


def create_shell(ws: Workspace, *, name: str = "newsletter") -> Flask:
    """A Flask app for ``ws`` with the shell's limits, headers and error pages; add blueprints to it."""
    keep_files_private()  # also under a WSGI host that calls the factory itself
    app = NewsletterFlask(name, static_folder=None)
    app.extensions[EXTENSION_KEY] = ws
    web = ws.settings.web
    app.config.update(
        MAX_CONTENT_LENGTH=int(web.max_body_bytes),
        MAX_FORM_MEMORY_SIZE=int(web.max_body_bytes),
        MAX_FORM_PARTS=100,
        PROPAGATE_EXCEPTIONS=False,
        TRAP_HTTP_EXCEPTIONS=False,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.jinja_loader = FileSystemLoader([str(d) for d in template_dirs(ws)])
    app.jinja_env.filters.update(template_filters())
    proxies = int(web.trusted_proxies)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_crash)
    app.add_url_rule("/static/<path:filename>", "static", _serve_static)
    app.add_url_rule("/favicon.ico", "favicon", lambda: _serve_static("favicon.ico"))
    app.add_url_rule("/healthz", "healthz", lambda: Response("ok\n", mimetype="text/plain"))
    return app


__all__ = [
    "BackgroundServer",
    "EMAIL_CSP",
    "PAGE_CSP",
    "RateLimiter",
    "allowed_origins",
    "client_ip",
    "cross_site_origin",
    "create_shell",
    "make_server",
    "current_workspace",
    "origin_of",
    "render_page",
    "safe_next",
    "too_many",
    "waitress_options",
    "wants_json",
]
