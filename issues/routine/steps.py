"""The steps of one ``newsletter run``: import, inbound mail, the draft, the editors' copy, the send.

Each step looks at the clock and the stored state, does what is due and nothing
twice, and returns a :class:`StepResult`; with ``dry_run`` it only says what it
would do.  A dry run (and ``schedule status``) decides from stored state alone, so the
machinery that imports, builds and sends is imported only by the step that uses it.
The welcome series is its own module (:mod:`.welcome`).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import escape

from issues.build import Issue, get_issue, list_issues
from newsletter import clock
from newsletter.articles import articles_in_week
from newsletter.db import write_transaction
from newsletter.errors import NewsletterError, NotFound
from newsletter.workspace import Workspace

from . import welcome_store
from .approval import digest_of, link_url, new_nonce, refresh_draft, source_stamp
from .config import Schedule, read_welcome
from .cycle import Cycle
from .store import issue_state, routine_db, save_state


@dataclass
class StepResult:
    """One step's outcome: ``done``, ``nothing`` (nothing due), ``waiting``, ``skipped``, ``would``, ``failed``,
    or ``failures`` (a send that gave every reader an answer but could not deliver to some)."""

    step: str
    status: str
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class StepFailed(NewsletterError):
    """A step did part of its work and could not do the rest; retried by the next run."""


@dataclass
class RunContext:
    """What every step sees: the workspace, the time, the schedule and the current cycle."""

    ws: Workspace
    now: datetime
    schedule: Schedule
    cycle: Cycle
    dry_run: bool = False
    stop: threading.Event = field(default_factory=threading.Event)

    def local(self, moment: datetime) -> str:
        return moment.astimezone(ZoneInfo(self.schedule.timezone)).strftime("%a %d %b %H:%M")


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def import_step(ctx: RunContext) -> StepResult:
    """Import the ``[schedule] sources`` (every run: unchanged articles change nothing)."""
    sources = [s if _is_url(s) else str(ctx.ws.path(s)) for s in ctx.schedule.sources]
    if not sources:
        return StepResult("import", "nothing", "no [schedule] sources to import")
    if ctx.dry_run:
        return StepResult("import", "would", f"would import {', '.join(ctx.schedule.sources)}")
    from newsletter.articles import import_sources

    report = import_sources(ctx.ws, sources)
    summary = report.summary() or "nothing found"
    if report.failed:
        raise StepFailed(f"{summary}; " + "; ".join(e.line() for e in report.failed[:3]))
    return StepResult("import", "done", summary, {"counts": report.counts})


def inbound_step(ctx: RunContext) -> StepResult:
    """Process returned mail: the ``[schedule] inbound`` folder, and IMAP when ``[inbound] imap_host`` is set."""
    places = ([f"folder {ctx.schedule.inbound}"] if ctx.schedule.inbound else []) + \
        ([f"IMAP {ctx.ws.settings.inbound.imap_host}"] if ctx.ws.settings.inbound.imap_host else [])
    if not places:
        return StepResult("inbound", "nothing", "no inbound source ([schedule] inbound, [inbound] imap_host)")
    if ctx.dry_run:
        return StepResult("inbound", "would", f"would process returned mail from {' and '.join(places)}")
    from issues.inbound import fetch_imap, process_path

    outcomes = []
    if ctx.schedule.inbound:
        outcomes += process_path(ctx.ws, ctx.ws.path(ctx.schedule.inbound))
    if ctx.ws.settings.inbound.imap_host:
        outcomes += fetch_imap(ctx.ws)
    counts = Counter(o.outcome for o in outcomes)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no messages"
    return StepResult("inbound", "done", summary, {"counts": dict(counts)})


def _current_issue(ctx: RunContext) -> Issue | None:
    try:
        return get_issue(ctx.ws, ctx.cycle.week)
    except NotFound:
        return None


def draft_step(ctx: RunContext) -> StepResult:
    """Build the current cycle's draft once; rebuild it when its articles or templates change."""
    week = ctx.cycle.week
    issue = _current_issue(ctx)
    if issue is not None and issue.status != "draft":
        return StepResult("draft", "nothing", f"{week} is {issue.status}")
    if issue is None:
        count = len(articles_in_week(ctx.ws, week))
        if not count:
            return StepResult("draft", "skipped", f"{week} has no articles: no issue this week")
        if ctx.dry_run:
            return StepResult("draft", "would", f"would build {week} from {count} article{'s' * (count != 1)}")
        from issues.build import EmptyWeek, build_issue

        try:
            issue = build_issue(ctx.ws, week)
        except EmptyWeek:
            return StepResult("draft", "skipped", f"{week} has no articles: no issue this week")
        refresh_draft(ctx.ws, issue)
        return StepResult("draft", "done", f"built {week} (#{issue.number}, {len(issue.items)} articles): "
                          f"\"{issue.subject}\"", {"issue": week})
    if ctx.dry_run:
        return StepResult("draft", "nothing", f"{week} is built (#{issue.number}); a run rebuilds it if its "
                          "articles or templates change")
    from issues.build import EmptyWeek

    try:
        refresh = refresh_draft(ctx.ws, issue)
    except EmptyWeek:
        return StepResult("draft", "skipped", f"{week} has no articles any more; its draft stays as it was")
    if not refresh.rebuilt:
        return StepResult("draft", "nothing", f"{week} is built (#{issue.number}) and up to date")
    summary = f"rebuilt {week}: {'; '.join(refresh.reasons)}"
    if refresh.withdrawn:
        summary += "; its approval is withdrawn: approve the new test copy"
    return StepResult("draft", "done", summary, {"issue": week, "reasons": list(refresh.reasons),
                                                 "approval_withdrawn": refresh.withdrawn})


def _note(ctx: RunContext, issue: Issue, link: str | None) -> tuple[str, str]:
    """The editors' note above the test copy: when it goes out, and the approve link in approve mode."""
    when = ctx.local(ctx.cycle.send_at)
    if link:
        text = (f"TEST COPY for the editors. {issue.id} goes out {when} once approved.\n"
                f"Approve it (opens a page to confirm): {link}\n"
                f"Or run: newsletter approve {issue.id}")
        action = (f'<a href="{escape(link)}" style="display:inline-block;margin-top:8px;padding:8px 16px;'
                  'background:#1d5c63;color:#ffffff;border-radius:6px;text-decoration:none;">Approve this issue</a>')
    else:
        text = f"TEST COPY for the editors. {issue.id} goes out by itself {when}."
        action = ""
    html = ('<div style="margin:0;padding:14px 20px;background:#fff4d6;color:#1a1a1a;font-family:Arial,sans-serif;'
            f'font-size:14px;line-height:1.5;text-align:center;">{escape(text.splitlines()[0])}<br>{action}</div>')
    return text, html


def test_copy_step(ctx: RunContext) -> StepResult:
    """Send the editors one test copy of each build of the draft (with a single-use approve link)."""
    issue = _current_issue(ctx)
    editors = list(ctx.schedule.editors)
    if issue is None or issue.status != "draft":
        return StepResult("test copy", "nothing", f"no draft of {ctx.cycle.week} to show")
    if not editors:
        return StepResult("test copy", "nothing", "no [schedule] editors to send a test copy to")
    state = issue_state(ctx.ws, issue.id)
    if state is None:  # built by hand since the draft step ran: the next run adopts it
        return StepResult("test copy", "nothing", f"{issue.id} was built outside the routine; next run")
    fresh = state.test_digest != state.digest
    missing = editors if fresh else [e for e in editors if e not in state.test_sent_to]
    if not missing:
        return StepResult("test copy", "nothing", f"the editors have the test copy of {issue.id}")
    if ctx.dry_run:
        return StepResult("test copy", "would", f"would send the test copy of {issue.id} to {', '.join(missing)}")
    from issues.send import send_test

    nonce = (state.link_nonce if not fresh else "") or new_nonce()  # editors added later get the same link
    link = link_url(ctx.ws, issue.id, state.digest, nonce) if ctx.schedule.mode == "approve" else None
    results = send_test(ctx.ws, issue.id, missing, note=_note(ctx, issue, link))
    sent = [r.address for r in results if r.ok]
    db = routine_db(ctx.ws)
    with write_transaction(db):
        current = issue_state(ctx.ws, issue.id)
        assert current is not None
        if current.digest == state.digest:
            current.test_sent_to = (current.test_sent_to if not fresh else []) + sent
            current.test_digest, current.link_nonce = state.digest, nonce
            current.test_sent_at = clock.now_iso()
            save_state(db, current)
    failed = [f"{r.address} ({r.code} {r.text})" for r in results if not r.ok]
    if failed:
        raise StepFailed(f"test copy of {issue.id} not sent to {', '.join(failed)}; sent to {len(sent)}")
    return StepResult("test copy", "done", f"sent the test copy of {issue.id} to {', '.join(sent)}",
                      {"issue": issue.id, "to": sent})


def _send(ctx: RunContext, issue_id: str, verb: str) -> StepResult:
    from issues.send import NothingToSend, send_issue

    try:
        report = send_issue(ctx.ws, issue_id, stop=ctx.stop)
    except NothingToSend as exc:
        return StepResult("send", "skipped", str(exc))
    detail = report.as_dict()
    if report.paused:
        raise StepFailed(f"{issue_id}: the send paused itself after {report.paused}; fix the cause, the next run "
                         "resumes it")
    if report.interrupted:
        return StepResult("send", "waiting", f"{verb} {issue_id} stopped: {report.summary()} The next run resumes.",
                          detail)
    outcome = report.outcome
    if outcome.state in ("sent-with-failures", "nothing-delivered"):
        return StepResult("send", "failures", f"{verb} {issue_id}: {outcome.words}", detail)
    return StepResult("send", "done", f"{verb} {issue_id}: {report.summary()}", detail)


def send_step(ctx: RunContext) -> StepResult:
    """Resume any send that was cut short; send the current issue once it is approved (or auto) and due."""
    from issues.send import pending_readers, send_status

    for issue in list_issues(ctx.ws):
        if issue.status == "sending" and not send_status(ctx.ws, issue.id)["finished_at"]:
            if ctx.dry_run:
                return StepResult("send", "would", f"would resume the send of {issue.id} "
                                  f"({pending_readers(ctx.ws, issue.id)} readers to go)")
            return _send(ctx, issue.id, "resumed")
    issue = _current_issue(ctx)
    if issue is None:
        return StepResult("send", "nothing", f"no issue of {ctx.cycle.week} to send")
    if issue.status == "sent":
        return StepResult("send", "nothing", f"{issue.id} was sent {issue.sent_at}")
    finished = send_status(ctx.ws, issue.id)["finished_at"]
    if finished:  # every reader answered, none delivered: said once by the run that sent it
        return StepResult("send", "nothing", f"{issue.id}'s send finished {finished} without a delivery; "
                          f"see 'newsletter issue status {issue.id}'")
    when = ctx.local(ctx.cycle.send_at)
    if ctx.schedule.mode == "approve":
        state = issue_state(ctx.ws, issue.id)
        if state is None or not state.approved:
            why = f" ({state.withdrawn_reason})" if state and state.withdrawn_reason else ""
            return StepResult("send", "waiting", f"{issue.id} waits for approval{why}: 'newsletter approve "
                              f"{issue.id}' or the link in the test copy; due {when}")
        if digest_of(source_stamp(ctx.ws, issue.week)) != state.approved_digest:
            return StepResult("send", "waiting", f"{issue.id} changed after its approval; the next run rebuilds "
                              "it and sends the editors a new copy")
    elif len(issue.items) < ctx.schedule.min_articles:
        return StepResult("send", "skipped", f"{issue.id} has {len(issue.items)} articles, fewer than "
                          f"[schedule] min_articles = {ctx.schedule.min_articles}: not sent")
    if ctx.now < ctx.cycle.send_at:
        ready = "approved" if ctx.schedule.mode == "approve" else "ready"
        return StepResult("send", "waiting", f"{issue.id} is {ready}; it goes out {when}")
    if ctx.dry_run:
        return StepResult("send", "would", f"would send {issue.id} to {pending_readers(ctx.ws, issue.id)} readers")
    return _send(ctx, issue.id, "sent")


def welcome_step(ctx: RunContext) -> StepResult:
    """Enrol new readers and send the welcome series mails that are due (:mod:`.welcome`, loaded only to send)."""
    welcome = read_welcome(ctx.ws)
    if not welcome.mails:
        return StepResult("welcome", "nothing", "no welcome series ([welcome] mails = 0)")
    if ctx.dry_run:
        due = welcome_store.due(ctx.ws)
        steps = Counter(step for _, _, step, _ in due)
        what = ", ".join(f"{n} of mail {s}" for s, n in sorted(steps.items()))
        return StepResult("welcome", "would" if due else "nothing",
                          f"would send {len(due)} welcome mails ({what})" if due else "no welcome mail is due "
                          "(readers who confirmed since the last run are enrolled first)")
    from .welcome import send_series

    return send_series(ctx, welcome)
