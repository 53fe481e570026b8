"""Approving a draft: what it was built from, approve and revoke, withdrawal on a later edit, the approve link.

A draft's *stamp* lists what its content comes from: the week's articles (content
hashes), the mail templates (file hashes) and the ``[issue]``/``[site]`` settings.
An approval holds for the stamp's digest it was given for; when a run finds the
stamp changed (an article edited, a template saved) it rebuilds the draft and the
approval is withdrawn with the reason, so nothing unreviewed goes out.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from issues.build import Issue, get_issue
from newsletter import clock
from newsletter.articles import articles_in_week
from newsletter.db import write_transaction
from newsletter.errors import NewsletterError
from newsletter.templating import template_dirs
from newsletter.workspace import Workspace

from .store import IssueState, issue_state, log_approval, routine_db, save_state

if TYPE_CHECKING:
    from itsdangerous import URLSafeTimedSerializer

LINK_MAX_AGE = 30 * 86400  # seconds an approve link stays valid
_ISSUE_TEMPLATES = ("issue.", "partials/")  # what an issue's mail is rendered from


class NotApprovable(NewsletterError):
    """The issue cannot be approved or revoked in its present state."""


def _file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def template_hashes(ws: Workspace) -> dict[str, str]:
    """The issue's templates and partials by name (an override hides the built-in one), with their hashes."""
    found: dict[str, str] = {}
    for folder in template_dirs(ws):
        for path in sorted(folder.rglob("*.j2")):
            name = path.relative_to(folder).as_posix()
            if name not in found and name.startswith(_ISSUE_TEMPLATES):
                found[name] = _file_hash(path.read_bytes())
    return found


def source_stamp(ws: Workspace, week: str) -> dict[str, Any]:
    """What ``week``'s issue is made from, to notice any later change."""
    settings = {"issue": dict(ws.settings.issue), "site": dict(ws.settings.site)}
    return {
        "articles": {str(a.id): {"title": a.title, "hash": a.content_hash} for a in articles_in_week(ws, week)},
        "templates": template_hashes(ws),
        "settings": _file_hash(json.dumps(settings, sort_keys=True, default=str).encode()),
    }


def digest_of(stamp: dict[str, Any]) -> str:
    return _file_hash(json.dumps(stamp, sort_keys=True).encode())


def what_changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Plain reasons, e.g. ``article "Rest days" was edited``, ``template issue.mjml.j2 was changed``."""
    reasons = []
    before, after = old.get("articles", {}), new.get("articles", {})
    for key, art in after.items():
        if key not in before:
            reasons.append(f'article "{art["title"]}" was added')
        elif before[key]["hash"] != art["hash"]:
            reasons.append(f'article "{art["title"]}" was edited')
    reasons += [f'article "{art["title"]}" was removed' for key, art in before.items() if key not in after]
    t_before, t_after = old.get("templates", {}), new.get("templates", {})
    for name in sorted(set(t_before) | set(t_after)):
        if t_before.get(name) != t_after.get(name):
            reasons.append(f"template {name} was {'changed' if name in t_before and name in t_after else 'added' if name in t_after else 'removed'}")
    if old.get("settings") != new.get("settings"):
        reasons.append("the [issue] or [site] settings changed")
    return reasons


@dataclass(frozen=True)
class Refresh:
    """What :func:`refresh_draft` did: nothing, adopted a draft built by hand, or rebuilt (and why)."""

    rebuilt: bool
    reasons: tuple[str, ...] = ()
    withdrawn: bool = False


def refresh_draft(ws: Workspace, issue: Issue, *, source: str = "run") -> Refresh:
    """Bring a draft up to date with its articles and templates; withdraw an approval that no longer holds."""
    stamp = source_stamp(ws, issue.week)
    digest = digest_of(stamp)
    state = issue_state(ws, issue.id)
    if state is not None and state.digest == digest:
        return Refresh(False)
    reasons: tuple[str, ...] = ()
    if state is not None and state.built_stamp:
        from issues.build import build_issue  # the build itself; a status never gets here

        reasons = tuple(what_changed(state.built_stamp, stamp))
        build_issue(ws, issue.week)
    db = routine_db(ws)
    withdrawn = False
    with write_transaction(db):
        state = issue_state(ws, issue.id) or IssueState(issue.id)
        state.built_stamp, state.digest, state.link_nonce = stamp, digest, ""
        if state.approved_at and state.approved_digest != digest:
            withdrawn = True
            state.withdrawn_reason = f"approval withdrawn: {'; '.join(reasons) or 'the draft changed'}"
            state.approved_at, state.approved_by, state.approved_digest = None, None, ""
            log_approval(db, issue.id, "withdrawn", source, "; ".join(reasons))
        save_state(db, state)
    return Refresh(bool(reasons), reasons, withdrawn)


def _draft(ws: Workspace, issue_key: str) -> Issue:
    issue = get_issue(ws, issue_key)
    if issue.status != "draft":
        raise NotApprovable(f"issue {issue.id} is {issue.status} already; approval only concerns a draft")
    return issue


def approve_issue(ws: Workspace, issue_key: str, *, source: str = "cli", by: str | None = None) -> IssueState:
    """Approve the draft as it stands now (rebuilt first if its articles or templates changed)."""
    issue = _draft(ws, issue_key)
    refresh_draft(ws, issue, source=source)
    db = routine_db(ws)
    with write_transaction(db):
        state = issue_state(ws, issue.id)
        assert state is not None
        state.approved_at, state.approved_by, state.approved_digest = clock.now_iso(), by or source, state.digest
        state.withdrawn_reason, state.link_nonce = None, ""
        save_state(db, state)
        log_approval(db, issue.id, "approved", source, by)
    return state


def revoke_approval(ws: Workspace, issue_key: str, *, source: str = "cli") -> IssueState:
    """Take an approval back: the scheduled send waits for a new one."""
    issue = _draft(ws, issue_key)
    state = issue_state(ws, issue.id)
    if state is None or not state.approved_at:
        raise NotApprovable(f"issue {issue.id} is not approved; nothing to revoke")
    db = routine_db(ws)
    with write_transaction(db):
        state.approved_at, state.approved_by, state.approved_digest = None, None, ""
        state.withdrawn_reason = f"approval revoked ({source})"
        save_state(db, state)
        log_approval(db, issue.id, "revoked", source)
    return state


# -- the approve link in the editors' test copy -------------------------------------------------


class BadLink(NewsletterError):
    """An approve link that does not (or no longer) approve anything; the message says why."""


def _serializer(ws: Workspace) -> URLSafeTimedSerializer:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(ws.secret_key, salt="newsletter.issues.approve")


def link_url(ws: Workspace, issue_id: str, digest: str, nonce: str) -> str:
    """The approve link for this build of the issue; ``nonce`` makes it single-use (see :func:`approve_by_link`)."""
    token = _serializer(ws).dumps([issue_id, digest, nonce])
    return f"{str(ws.settings.site.public_url).rstrip('/')}/approve/{token}"


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


def check_link(ws: Workspace, token: str) -> Issue:
    """The draft a link would approve; :class:`BadLink` if it is forged, old, used or the issue changed."""
    from itsdangerous import BadSignature, SignatureExpired

    try:
        issue_id, digest, nonce = _serializer(ws).loads(token, max_age=LINK_MAX_AGE)
    except SignatureExpired:
        raise BadLink("this approve link has expired; approve with 'newsletter approve' instead") from None
    except (BadSignature, ValueError, TypeError):
        raise BadLink("this approve link is damaged or was not made by us; copy the whole link") from None
    try:
        issue = get_issue(ws, issue_id)
    except NewsletterError:
        raise BadLink(f"issue {issue_id} no longer exists") from None
    state = issue_state(ws, issue.id)
    if issue.status != "draft":
        raise BadLink(f"issue {issue.id} is {issue.status} already; there is nothing left to approve")
    if state is not None and state.approved and state.approved_digest == digest:
        raise BadLink(f"issue {issue.id} is approved already ({state.approved_at} by {state.approved_by})")
    if state is None or digest != state.digest or digest != digest_of(source_stamp(ws, issue.week)):
        raise BadLink(f"issue {issue.id} changed after this test copy was sent; the next run sends a new copy "
                      "to approve")
    if not nonce or nonce != state.link_nonce:
        raise BadLink("this approve link was used already or replaced by a newer test copy")
    return issue


def approve_by_link(ws: Workspace, token: str) -> IssueState:
    """Approve the build the link was sent for, once; a second use is refused."""
    issue = check_link(ws, token)
    db = routine_db(ws)
    with write_transaction(db):
        state = issue_state(ws, issue.id)
        assert state is not None
        _, digest, nonce = _serializer(ws).loads(token, max_age=LINK_MAX_AGE)
        if nonce != state.link_nonce or digest != state.digest:  # another click won the race
            raise BadLink("this approve link was used already or replaced by a newer test copy")
        state.approved_at, state.approved_by, state.approved_digest = clock.now_iso(), "link", digest
        state.withdrawn_reason, state.link_nonce = None, ""
        save_state(db, state)
        log_approval(db, issue.id, "approved", "link")
    return state
