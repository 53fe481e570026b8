"""The welcome series: N mails to each new reader, spaced by days, presenting the archive's best articles.

Readers confirmed since the series was first switched on are enrolled (one ledger
row per mail, see :mod:`.welcome_store`); each run sends the rows that are due.
A mail shows ``[welcome] per_mail`` articles from the plan (:mod:`.welcome_plan`)
that the reader has neither got in an issue nor earlier in the series.  Mails with
the same articles are rendered once (MJML) and personalised per reader, as issues
are; a reader who leaves gets nothing more.  Each mail sent is noted in the
reader's history, so ``subscribers show`` lists it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from issues.build import absolute_url, articles_of_issues, excerpt_for, site_context, with_utm
from issues.send import IssueMessage, Recipient, envelope_recipient, issues_sent_to
from newsletter import clock
from newsletter.articles import get_article
from newsletter.db import write_transaction
from newsletter.errors import InvalidInput
from newsletter.personalise import placeholders
from newsletter.render import render_html_email, render_string, render_text
from newsletter.transports import Transport, TransportError, open_transport
from newsletter.workspace import Workspace
from subscribers import (
    bounce_sender,
    compact_token,
    confirmed_since,
    get_subscriber,
    record_event,
    sender_domain,
    unsubscribe_mailto,
    unsubscribe_url,
)

from . import welcome_store as ledger
from .config import Welcome
from .steps import RunContext, StepFailed, StepResult
from .store import set_marker
from .welcome_plan import welcome_plan

SINCE_KEY = "welcome_since"  # readers confirmed before the series was switched on do not get it
HTML_TEMPLATE, TEXT_TEMPLATE = "welcome_series.mjml.j2", "welcome_series.txt.j2"


def articles_received(ws: Workspace, reader_id: int) -> set[int]:
    """Articles of every issue the reader got (or is queued to get)."""
    return articles_of_issues(ws, issues_sent_to(ws, reader_id, ("pending", "sending", "sent")))


def enrol_new_readers(ws: Workspace, welcome: Welcome) -> int:
    """Enrol readers confirmed since the series was switched on (not readers imported from an old list)."""
    since = set_marker(ws, SINCE_KEY, clock.now_iso(), only_if_missing=True)
    added = 0
    for reader in confirmed_since(ws, since):
        if reader.source != "import" and reader.confirmed_at:
            added += bool(ledger.enrol(ws, reader.id, reader.confirmed_at, welcome.days))
    return added


@dataclass(frozen=True)
class WelcomeMail:
    """One rendered mail of the series (placeholders unfilled), shared by every reader it fits."""

    step: int
    articles: tuple[int, ...]
    message: IssueMessage
    titles: tuple[str, ...]


def _item(ws: Workspace, article_id: int, utm: dict[str, str]) -> dict[str, Any]:
    article = get_article(ws, article_id)
    base = str(ws.settings.site.url).rstrip("/") + "/"
    url = absolute_url(article.url, base)
    image = absolute_url(article.image or "", url)
    return {"article_id": article.id, "title": article.title, "url": with_utm(url, utm), "image": image,
            "image_alt": ((article.image_alt or "").strip() or article.title) if image else "",
            "excerpt": excerpt_for(article.summary, article.body_text, ws.settings.issue.excerpt_words),
            "author": article.author or "", "tags": list(article.tags), "related": []}


def render_mail(ws: Workspace, welcome: Welcome, step: int, articles: tuple[int, ...]) -> WelcomeMail:
    """Render mail ``step`` showing ``articles`` once: subject, MJML HTML and text with reader placeholders."""
    utm = {"utm_source": str(ws.settings.issue.utm_source), "utm_medium": str(ws.settings.issue.utm_medium),
           "utm_campaign": f"welcome-{step}"}
    items = [_item(ws, a, utm) for a in articles]
    context = {"site": site_context(ws), "step": step, "steps": welcome.mails, "articles": items,
               "reader": placeholders()}
    subject = " ".join(render_string(welcome.subject, context, label="newsletter.toml [welcome] subject").split())
    if not subject:
        raise InvalidInput("newsletter.toml [welcome] subject renders empty; give the mails a subject")
    context["subject"] = subject
    html = render_html_email(ws, HTML_TEMPLATE, context)
    text = render_text(ws, TEXT_TEMPLATE, context)
    return WelcomeMail(step, articles, IssueMessage(ws, subject, html, text), tuple(i["title"] for i in items))


class _Sender:
    """Sends due rows one by one over one connection, rendering each distinct mail once."""

    def __init__(self, ws: Workspace, welcome: Welcome, transport: Transport) -> None:
        self.ws, self.welcome, self.transport = ws, welcome, transport
        self.plan = welcome_plan(ws, welcome.pins)
        self.mails: dict[tuple[int, tuple[int, ...]], WelcomeMail] = {}
        self.domain = sender_domain(ws)
        self.tally: Counter[str] = Counter()

    def choose(self, reader_id: int) -> tuple[int, ...]:
        seen = articles_received(self.ws, reader_id) | ledger.articles_given(self.ws, reader_id)
        return tuple([a for a in self.plan if a not in seen][: self.welcome.per_mail])

    def mail(self, step: int, articles: tuple[int, ...]) -> WelcomeMail:
        key = (step, articles)
        if key not in self.mails:
            self.mails[key] = render_mail(self.ws, self.welcome, step, articles)
        return self.mails[key]

    def send_row(self, row_id: int, reader_id: int, step: int, attempts: int) -> None:
        ws, db = self.ws, ledger.welcome_db(self.ws)
        reader = get_subscriber(ws, reader_id)
        if reader.status != "confirmed" or not reader.email:
            with write_transaction(db):
                self.tally["stopped"] += ledger.stop_series(db, reader_id, f"reader is {reader.status}"
                                                            if reader.email else "reader was forgotten")
            return
        articles = self.choose(reader_id)
        if not articles:
            with write_transaction(db):
                ledger.finish(db, row_id, "skipped", detail="no archive article left that the reader has not seen")
            self.tally["skipped"] += 1
            return
        if not ledger.claim(ws, row_id, list(articles)):
            return
        mail = self.mail(step, articles)
        message_id = f"<welcome{step}.{compact_token(ws, 'welcome-id', reader_id, step)}@{self.domain}>"
        recipient = Recipient(reader.email, reader.name, unsubscribe_url(ws, reader_id),
                              unsubscribe_mailto(ws, reader_id), message_id)
        try:
            message = mail.message.build(recipient)
            reply = self.transport.send(bounce_sender(ws, reader_id, 0), [envelope_recipient(reader.email)], message)
        except TransportError as exc:
            detail = f"{exc.enhanced} {exc.text}".strip()
            if exc.temporary:
                self.tally[ledger.retry_later(ws, row_id, attempts + 1, exc.code, detail)] += 1
                return
            with write_transaction(db):
                ledger.finish(db, row_id, "failed", code=exc.code, detail=detail)
            self.tally["failed"] += 1
            return
        except InvalidInput as exc:
            with write_transaction(db):
                ledger.finish(db, row_id, "failed", detail=f"not sent: {exc}")
            self.tally["failed"] += 1
            return
        with write_transaction(db):
            ledger.finish(db, row_id, "sent", code=reply.code, detail=reply.text, message_id=message_id)
            record_event(db, reader_id, "welcome_series_sent", source="run",
                         detail=f"mail {step} of {self.welcome.mails}: " + "; ".join(mail.titles))
        self.tally["sent"] += 1


def send_series(ctx: RunContext, welcome: Welcome) -> StepResult:
    """Enrol new readers and send the welcome series mails that are due (the real run of the welcome step)."""
    ws = ctx.ws
    enrolled = enrol_new_readers(ws, welcome)
    recovered = ledger.recover_in_flight(ws)
    due = ledger.due(ws)
    if not due:
        coming = ledger.next_due(ws)
        later = f"; next: {coming[1]} on {coming[0]}" if coming else ""
        return StepResult("welcome", "nothing" if not enrolled else "done",
                          f"{enrolled} reader(s) enrolled; no welcome mail due{later}", {"enrolled": enrolled})
    with open_transport(ws) as transport:
        sender = _Sender(ws, welcome, transport)
        for row in due:
            if ctx.stop.is_set():
                break
            sender.send_row(*row)
    tally = dict(sender.tally)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(tally.items())) or "nothing sent"
    result = StepResult("welcome", "done", f"welcome series: {summary}; {enrolled} reader(s) enrolled",
                        {"enrolled": enrolled, "recovered": recovered, **tally})
    if tally.get("failed"):
        raise StepFailed(result.summary)
    return result

