"""The readers' pages: sign up, confirm, unsubscribe (button and RFC 8058 one-click).

A GET never changes anything (mail scanners follow links); every change is a POST.
The token in a link is the capability, so the confirm and unsubscribe forms post
back to the same tokenised URL and need no other CSRF secret.  The sign-up answer
is the same whether the address is new, pending or already confirmed, and costs the
request the same: confirmation and welcome mails are queued with the change and sent
later by the app's :class:`~subscribers.mailqueue.MailWorker`, which polls the queue (a
request never wakes it, so its work is not timed by any one answer).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, jsonify, redirect, request, url_for
from werkzeug.exceptions import BadRequest, Forbidden

from newsletter.errors import InvalidInput, NewsletterError, NotFound
from newsletter.web import (
    EXTENSION_KEY,
    RateLimiter,
    allowed_origins,
    client_ip,
    cross_site_origin,
    current_workspace,
    render_page,
    safe_next,
    too_many,
    wants_json,
)

from . import BadToken, confirm, get_subscriber, read_token, unsubscribe
from .addresses import InvalidAddress, clean_name, validate_address
from .intake import take_in
from .mailqueue import WEB_POLL_SECONDS, MailWorker, quiet_checkpoints

log = logging.getLogger("subscribers.web")

bp = Blueprint("subscribers", __name__)

LIMITS_KEY = "subscribers_signup_limits"
WORKER_KEY = "subscribers_mail_worker"
HONEYPOT_FIELD = "website"
ONE_CLICK = "One-Click"  # RFC 8058: the body is List-Unsubscribe=One-Click
LEFT = ("unsubscribed", "bounced", "complained")
CHECK_INBOX = "Check your inbox: if the address can receive the newsletter, a confirmation link is on its way."

# What a refused link says and what the reader can do about it, by BadToken.reason.
CONFIRM_TOKEN_PAGES = {
    "expired": (410, "This confirmation link has expired",
                "Links are valid for a limited time so that an old email cannot sign anyone up. "
                "Ask for a new confirmation email below; it takes a few seconds."),
    "tampered": (400, "This confirmation link does not work",
                 "It may have been cut short or changed on its way to you. Copy the whole link from the "
                 "email, or ask for a new confirmation email below."),
    "wrong_purpose": (400, "This is not a confirmation link",
                      "Use the confirmation link from the email, or ask for a new one below."),
    "unknown_reader": (404, "We do not know this address any more",
                       "It was removed from our list. Sign up again below if you would like the newsletter."),
}
UNSUBSCRIBE_TOKEN_PAGES = {
    "tampered": (400, "This unsubscribe link does not work",
                 "It may have been cut short or changed on its way to you. Copy the whole link from the "
                 "bottom of any issue, or use the Unsubscribe button your mail app shows next to our name."),
    "wrong_purpose": (400, "This is not an unsubscribe link",
                      "Use the unsubscribe link at the bottom of any issue, or the Unsubscribe button your "
                      "mail app shows next to our name."),
    "expired": (400, "This unsubscribe link does not work",
                "Use the unsubscribe link at the bottom of a recent issue instead."),
}


@bp.record_once
def _make_limiters(state: Any) -> None:
    web = state.app.extensions[EXTENSION_KEY].settings.web
    state.app.extensions[LIMITS_KEY] = (
        RateLimiter(int(web.signups_per_ip_per_hour)),
        RateLimiter(int(web.signups_per_address_per_hour)),
    )
    worker = state.app.extensions[WORKER_KEY] = MailWorker(state.app.extensions[EXTENSION_KEY], poll=WEB_POLL_SECONDS)
    worker.wake()  # mails a stopped or crashed server left in the queue go out now


def mail_worker(app: Any = None) -> MailWorker:
    """The app's queue worker (tests :meth:`~MailWorker.flush` it; ``serve`` stops it)."""
    return (app or current_app).extensions[WORKER_KEY]


def _keep_worker_running() -> None:
    """Make sure this process has its mail worker (a forked WSGI worker starts its own); no drain now."""
    mail_worker().ensure_running()


@bp.before_app_request
def _count_request() -> None:
    """Every request of the app counts as traffic the mail worker gives way to."""
    mail_worker().traffic.started()
    g.nl_counted_request = True


@bp.teardown_app_request
def _uncount_request(_exc: BaseException | None) -> None:
    if g.pop("nl_counted_request", False):
        mail_worker().traffic.finished()


@bp.before_request
def _no_checkpoints_in_requests() -> None:
    """WAL checkpoints run on the mail worker, so a sign-up that writes costs no more than one that does not."""
    quiet_checkpoints(current_workspace())


def _no_store() -> None:
    g.no_store = True


def _agent() -> str | None:
    agent = request.headers.get("User-Agent")
    return agent[:400] if agent else None


# --- sign up -----------------------------------------------------------------------------------


def _signup_fields() -> dict[str, str]:
    """The posted form or JSON object as plain strings (anything else is a 400)."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise BadRequest("send a JSON object like {\"email\": \"jane@example.com\"}")
        return {k: v.strip() if isinstance(v, str) else "" for k, v in data.items() if isinstance(k, str)}
    return {k: v.strip() for k, v in request.form.items()}


def _signup_form(status: int = 200, *, values: dict[str, str] | None = None, error: str | None = None,
                 next_url: str | None = None) -> Response:
    ws = current_workspace()
    response = render_page("subscribe.html.j2", status=status, values=values or {}, error=error,
                           next=next_url, consent=ws.settings.subscribers.consent_text)
    # no token in this page's address: let the browser name our origin when the form posts
    # (browsers without Sec-Fetch-Site would send "Origin: null" under no-referrer)
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _refuse(message: str, values: dict[str, str], next_url: str | None) -> Response:
    if wants_json():
        response = jsonify(ok=False, error=message)
        response.status_code = 400
        return response
    return _signup_form(400, values=values, error=message, next_url=next_url)


def _accepted(values: dict[str, str], next_url: str | None) -> Response:
    """The one answer for every accepted sign-up, whatever the address's state."""
    if wants_json():
        response = jsonify(ok=True, message=CHECK_INBOX)
        response.status_code = 202
        return response
    if next_url:
        return redirect(next_url, code=303)  # type: ignore[return-value]
    ws = current_workspace()
    return render_page("check_inbox.html.j2", email=values.get("email", ""), name=values.get("name", ""),
                       expiry_days=ws.settings.subscribers.confirm_expiry_days)


@bp.get("/subscribe")
def subscribe_form() -> Response:
    values = {k: request.args.get(k, "")[:254] for k in ("email", "name")}
    return _signup_form(values=values, next_url=safe_next(request.args.get("next")))


@bp.get("/subscribe/snippet")
def embed_snippet() -> Response:
    """The sign-up box for the blog to paste in, with this site's address filled in (docs/embed.md)."""
    ws = current_workspace()
    response = render_page("embed_snippet.html.j2", consent=ws.settings.subscribers.consent_text)
    response.mimetype = "text/plain"
    return response


@bp.post("/subscribe")
def subscribe_post() -> Response:
    ws = current_workspace()
    foreign = cross_site_origin(ws)
    if foreign is not None:  # a page on another site posting our form: its owner has not been allowed to
        log.info("sign-up posted from %s refused (not in [web] allowed_origins)", foreign)
        raise Forbidden(f"This sign-up form was sent from {foreign}, which may not post it. "
                        f"Sign up at {ws.settings.site.public_url.rstrip('/')}/subscribe instead.")
    by_ip, by_address = current_app.extensions[LIMITS_KEY]
    wait = by_ip.hit(client_ip())
    if wait:
        raise too_many(wait)
    fields = _signup_fields()
    values = {"email": fields.get("email", "")[:254], "name": fields.get("name", "")[:200]}
    next_url = safe_next(fields.get("next"))
    if fields.get(HONEYPOT_FIELD):
        log.info("sign-up with the honeypot filled from %s ignored", client_ip())
        return _accepted(values, next_url)
    try:
        address = validate_address(values["email"], check_deliverability=bool(ws.settings.subscribers.check_deliverability))
    except InvalidAddress:
        message = ("Please enter your email address." if not values["email"] else
                   "That does not look like an email address; check it and try again (like jane@example.com).")
        return _refuse(message, values, next_url)
    try:
        name = clean_name(values["name"])
    except InvalidInput:
        return _refuse("Please give a shorter name without line breaks.", values, next_url)
    wait = by_address.hit(address.normalized)
    if wait:
        raise too_many(wait)
    # The same write for every address; the mail worker registers it (new, known or left) moments later.
    take_in(ws, values["email"], name=name, source="api" if request.is_json else "form",
            ip=client_ip(), user_agent=_agent(), consent_text=ws.settings.subscribers.consent_text)
    _keep_worker_running()  # for every address alike; the worker finds the sign-up on its next poll
    return _accepted(values, next_url)


@bp.after_request
def _allow_the_blog(response: Response) -> Response:
    """Let scripts on the allowed sites (the blog, ``[web] allowed_origins``) post sign-ups as JSON.

    CORS for those origins only, on the answer and on the browser's preflight (OPTIONS).
    """
    origin = request.headers.get("Origin", "")
    if request.path == "/subscribe" and origin:
        if origin.lower() in allowed_origins(current_workspace()):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "POST"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = "3600"
        response.vary.add("Origin")
    return response


# --- confirm -----------------------------------------------------------------------------------


def _bad_confirm_link(exc: BadToken) -> Response:
    status, title, text = CONFIRM_TOKEN_PAGES.get(exc.reason, CONFIRM_TOKEN_PAGES["tampered"])
    return render_page("bad_token.html.j2", status=status, title=title, text=text, offer_signup=True,
                       consent=current_workspace().settings.subscribers.consent_text)


def _confirmed_page(reader: Any, *, newly: bool) -> Response:
    if not newly:
        return render_page("already_confirmed.html.j2")
    return render_page("confirmed.html.j2", email=reader.email or "", name=reader.name or "")


@bp.get("/confirm/<token>")
def confirm_page(token: str) -> Response:
    """Check the link and show the button that confirms (a POST).

    No script presses it: mail scanners fetch links and some run scripts, so only a
    person's press confirms, and the page works the same without JavaScript.
    """
    _no_store()
    ws = current_workspace()
    try:
        reader = get_subscriber(ws, read_token(ws, token, "confirm"))
    except BadToken as exc:
        return _bad_confirm_link(exc)
    except NotFound:
        return _bad_confirm_link(BadToken("unknown_reader"))
    if reader.status == "confirmed":
        return _confirmed_page(reader, newly=False)
    return render_page("confirm.html.j2", action=url_for(".confirm_post", token=token))


@bp.post("/confirm/<token>")
def confirm_post(token: str) -> Response:
    _no_store()
    ws = current_workspace()
    try:
        reader = confirm(ws, token, ip=client_ip(), user_agent=_agent(), defer_mail=True)
        _keep_worker_running()
    except BadToken as exc:
        return _bad_confirm_link(exc)
    except NewsletterError as exc:  # e.g. an address that left and must opt in afresh
        log.info("confirmation refused: %s", exc)
        return _bad_confirm_link(BadToken("expired"))
    return _confirmed_page(reader, newly=reader.newly_confirmed)


# --- unsubscribe -------------------------------------------------------------------------------


def _unsubscribe_reader(token: str) -> Any:
    """The reader a link names; a refused link ends the request with a page saying what to do."""
    ws = current_workspace()
    try:
        return get_subscriber(ws, read_token(ws, token, "unsubscribe"))
    except (BadToken, NotFound) as exc:
        if not isinstance(exc, BadToken) or exc.reason == "unknown_reader":  # forgotten: nothing left to stop
            abort(render_page("unsubscribed.html.j2", email="This address", already=True))
        status, title, text = UNSUBSCRIBE_TOKEN_PAGES.get(exc.reason, UNSUBSCRIBE_TOKEN_PAGES["tampered"])
        abort(render_page("bad_token.html.j2", status=status, title=title, text=text, offer_signup=False,
                          consent=""))


@bp.get("/unsubscribe/")
def unsubscribe_help() -> Response:
    return render_page("unsubscribe_help.html.j2")


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> Response:
    """A page with one button; never unsubscribes by itself."""
    _no_store()
    reader = _unsubscribe_reader(token)
    if reader.status in LEFT:
        return render_page("unsubscribed.html.j2", email=reader.email or "This address", already=True)
    return render_page("unsubscribe.html.j2", email=reader.email or "",
                       action=url_for(".unsubscribe_post", token=token))


@bp.post("/unsubscribe/<token>")
def unsubscribe_post(token: str) -> Response:
    """The page's button, and mail apps' RFC 8058 one-click POST (body ``List-Unsubscribe=One-Click``)."""
    _no_store()
    reader = _unsubscribe_reader(token)
    one_click = request.form.get("List-Unsubscribe") == ONE_CLICK
    already = reader.status in LEFT
    reader = unsubscribe(current_workspace(), reader.id, source="one-click" if one_click else "web",
                         ip=client_ip(), user_agent=_agent(),
                         detail="List-Unsubscribe-Post" if one_click else "unsubscribe page")
    if one_click and not request.accept_mimetypes.accept_html:
        return Response("unsubscribed\n", mimetype="text/plain")
    return render_page("unsubscribed.html.j2", email=reader.email or "This address", already=already)
