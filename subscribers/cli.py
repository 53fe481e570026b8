"""The ``subscribers`` command group: a thin click skin over the subscriber store."""

from __future__ import annotations

import json
import os
import sys
from typing import TextIO

import click

from newsletter.console import emit_json, json_option, pass_workspace, say, show_progress
from newsletter.errors import InvalidInput
from newsletter.workspace import Workspace

from .export import export_csv, iter_subscribers
from .forgetting import forget as forget_reader
from .importer import import_csv
from .mailqueue import drain, queued
from .schema import STATUSES
from .signup import register
from .stats import subscriber_stats
from .store import events_of, get_subscriber
from .store import unsubscribe as unsubscribe_reader

status_option = click.option("--status", type=click.Choice(STATUSES), help="Only readers with this status.")

_ADD_MESSAGES = {
    "created": "added {email} as {status}",
    "pending": "{email} was already waiting for confirmation",
    "reopened": "{email} had left; they are pending again and must confirm",
    "confirmed": "{email} was pending and is now confirmed",
    "reopened_pending": "{email} left once and re-subscribed; only the link in their confirmation email "
    "confirms them, so nothing changed",
    "unchanged": "{email} is already confirmed; nothing changed",
    "left": "{email} has {status}, so --confirmed cannot bring them back; add without --confirmed to mail "
    "them a confirmation link (only their click re-subscribes them)",
    "complained": "{email} reported our mail as spam and is never mailed again; nothing changed",
    "suppressed": "{email} was forgotten at their request and cannot be added back",
}
_REFUSED = {"left", "reopened_pending", "suppressed"}
_MAIL_MESSAGES = {
    "sent": "; confirmation email sent",
    "throttled": "; no confirmation email (one went out recently: at most 1 per 10 minutes, 3 per day)",
    "failed": "; the confirmation email FAILED: {error}",
}


@click.group()
def subscribers() -> None:
    """Manage readers: add, list, show, remove, forget, import, export, stats, send-mail.

    \b
    Example:
        newsletter subscribers add jane@example.com --name Jane
        newsletter subscribers list --status confirmed
    """


@subscribers.command()
@click.argument("address")
@click.option("--name", help="The reader's name (never shown in the confirmation email).")
@click.option("--confirmed", is_flag=True, help="Add as confirmed without a confirmation email (needs --consent).")
@click.option("--consent", metavar="TEXT", help="Where and how the reader agreed, e.g. 'signed up at the workshop'.")
@pass_workspace
def add(ws: Workspace, address: str, name: str | None, confirmed: bool, consent: str | None) -> None:
    """Add a reader; without --confirmed they get a confirmation email first.

    \b
    Example:
        newsletter subscribers add jane@example.com --name Jane
        newsletter subscribers add old@example.com --confirmed --consent "signed up at the 2025 workshop"
    """
    result = register(ws, address, name=name, source="cli", consent_text=consent, confirmed=confirmed)
    reader = get_subscriber(ws, result.subscriber_id) if result.subscriber_id else None
    status = reader.status if reader else ""
    email = reader.email if reader else address
    key = "complained" if result.action == "left" and status == "complained" else result.action
    message = _ADD_MESSAGES[key].format(email=email, status=status)
    if result.action in _REFUSED:  # the editor asked for something that was not done: say so, exit 1
        raise InvalidInput(message)
    if result.mail:
        message += _MAIL_MESSAGES[result.mail].format(error=result.mail_error)
    say(message, err=result.mail == "failed")
    if result.mail == "failed":
        sys.exit(1)


@subscribers.command(name="list")
@status_option
@click.option("--limit", type=click.IntRange(min=1), help="At most this many readers.")
@json_option
@pass_workspace
def list_(ws: Workspace, status: str | None, limit: int | None, as_json: bool) -> None:
    """List readers in the order they joined.

    \b
    Example:
        newsletter subscribers list --status confirmed --limit 20
    """
    readers = iter_subscribers(ws, status=status, limit=limit)
    if as_json:  # one JSON array, streamed: a list may hold a million readers
        click.echo("[", nl=False)
        for index, reader in enumerate(readers):
            click.echo(("," if index else "") + "\n  " + json.dumps(reader.as_dict(), ensure_ascii=False), nl=False)
        click.echo("\n]")
        return
    for reader in readers:
        name = f" ({reader.name})" if reader.name else ""
        click.echo(f"{reader.id:>7}  {reader.status:<12} {reader.created_at[:10]}  {reader.email}{name}")


@subscribers.command()
@click.argument("reader", metavar="ADDRESS|ID")
@json_option
@pass_workspace
def show(ws: Workspace, reader: str, as_json: bool) -> None:
    """Show one reader and every event in their history.

    \b
    Example:
        newsletter subscribers show jane@example.com
    """
    found = get_subscriber(ws, reader)
    events = events_of(ws, found.id)
    if as_json:
        emit_json({**found.as_dict(), "events": [event.as_dict() for event in events]})
        return
    click.echo(f"{found.email or '(forgotten)'}  #{found.id}  {found.status}")
    if found.name:
        click.echo(f"name: {found.name}")
    click.echo(f"joined {found.created_at} via {found.source}; confirmed {found.confirmed_at or '-'}")
    for event in events:
        extras = [f"{label}={value}" for label, value in (("ip", event.ip), ("detail", event.detail)) if value]
        click.echo(f"  {event.at}  {event.kind:<20} {event.source or ''} {' '.join(extras)}".rstrip())
        if event.consent_text:
            click.echo(f"      consent: {event.consent_text}")


@subscribers.command()
@click.argument("reader", metavar="ADDRESS|ID")
@pass_workspace
def remove(ws: Workspace, reader: str) -> None:
    """Unsubscribe a reader on their behalf (takes effect at once, also for a running send).

    \b
    Example:
        newsletter subscribers remove jane@example.com
    """
    found = unsubscribe_reader(ws, get_subscriber(ws, reader).id, source="cli")
    say(f"{found.email or f'reader #{found.id} (forgotten)'} is {found.status}")


@subscribers.command()
@click.argument("reader", metavar="ADDRESS|ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_workspace
def forget(ws: Workspace, reader: str, yes: bool) -> None:
    """Erase a reader's address, name and personal history; they can never be re-added silently.

    \b
    Example:
        newsletter subscribers forget jane@example.com --yes
    """
    if not yes:
        click.confirm(f"Erase {reader}'s personal data for good?", abort=True)
    forgotten = forget_reader(ws, reader)
    if forgotten is None:
        say(f"{reader} is not a reader (or was forgotten before); it is on the suppression list")
    else:
        say(f"reader #{forgotten} forgotten; their address is on the suppression list")


@subscribers.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--confirmed", is_flag=True, help="Import as confirmed readers (needs --consent).")
@click.option("--consent", metavar="TEXT", help="The wording these readers agreed to, and where.")
@click.option("--send-confirmations", is_flag=True, help="Mail the confirmation link to readers added as pending.")
@click.option("--encoding", default="utf-8", show_default=True, help="The file's text encoding.")
@json_option
@pass_workspace
def import_(
    ws: Workspace, file: str, confirmed: bool, consent: str | None, send_confirmations: bool, encoding: str,
    as_json: bool,
) -> None:
    """Import readers from a CSV file (email and name columns in any order, ',' or ';').

    Readers who unsubscribed, bounced, complained or were forgotten are never re-activated.
    A 'status' column keeps the old provider's opt-outs (unsubscribed, cleaned, spam, ...)
    and its unconfirmed readers (pending stays pending, even with --confirmed).

    \b
    Example:
        newsletter subscribers import list.csv --confirmed --consent "exported from our old provider on 2026-11-01"
    """
    options = {"confirmed": confirmed, "consent": consent, "encoding": encoding, "send_confirmations": send_confirmations}
    if show_progress() and not as_json:
        with click.progressbar(length=os.path.getsize(file), label="Importing", file=sys.stderr) as bar:
            done = [0]

            def advance(position: int) -> None:
                bar.update(position - done[0])
                done[0] = position

            report = import_csv(ws, file, progress=advance, **options)
    else:
        report = import_csv(ws, file, **options)
    if as_json:
        emit_json(report)
        return
    say(f"{file}: {report.rows} rows: {report.added} added, {report.updated} updated, "
        f"{sum(report.skipped.values())} skipped, {report.bad_row_count} bad")
    for reason, count in sorted(report.skipped.items()):
        say(f"  skipped {count}: {reason}")
    for line, reason in report.bad_rows:
        say(f"  line {line}: {reason}")
    if report.bad_row_count > len(report.bad_rows):
        say(f"  ... and {report.bad_row_count - len(report.bad_rows)} more bad rows")
    if report.confirmations:
        say("confirmation emails: " + ", ".join(f"{n} {what}" for what, n in sorted(report.confirmations.items())))
    elif report.added and not confirmed:
        say("the new readers are pending; pass --send-confirmations to mail them the confirmation link")


@subscribers.command()
@status_option
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="File to write (default stdout).")
@pass_workspace
def export(ws: Workspace, status: str | None, output: TextIO) -> None:
    """Write readers as CSV: email, name, status, source and dates.

    \b
    Example:
        newsletter subscribers export --status confirmed > confirmed.csv
    """
    export_csv(ws, output, status=status)


@subscribers.command()
@click.option("--weeks", type=click.IntRange(min=1), default=12, show_default=True, help="How many weeks back.")
@json_option
@pass_workspace
def stats(ws: Workspace, weeks: int, as_json: bool) -> None:
    """Readers by status, and sign-ups and leavers per ISO week.

    \b
    Example:
        newsletter subscribers stats --weeks 4 --json
    """
    data = subscriber_stats(ws, weeks=weeks)
    if as_json:
        emit_json(data)
        return
    for status, count in data["by_status"].items():
        click.echo(f"{status:<13}{count:>9}")
    click.echo(f"{'forgotten':<13}{data['forgotten']:>9}")
    if data["weeks"]:
        click.echo(f"\n{'week':<10}{'sign-ups':>10}{'imported':>10}{'leavers':>10}")
    for week in data["weeks"]:
        click.echo(f"{week['week']:<10}{week['signups']:>10}{week['imported']:>10}{week['leavers']:>10}")
    if data["per_issue"]:
        click.echo(f"\n{'issue':<10}{'hard':>8}{'soft':>8}{'complaints':>12}{'mail unsub':>12}  (came back)")
    for row in data["per_issue"]:
        click.echo(f"{row['issue_id']:<10}{row['hard_bounces']:>8}{row['soft_bounces']:>8}"
                   f"{row['complaints']:>12}{row['mail_unsubscribes']:>12}")


@subscribers.command(name="send-mail")
@json_option
@pass_workspace
def send_mail(ws: Workspace, as_json: bool) -> None:
    """Register sign-ups the web form took in, then send the confirmation and welcome emails waiting.

    The web server sends them itself after each answer and at start; this is for a
    server that is stopped (or mails due for a retry after the relay refused them).

    \b
    Example:
        newsletter subscribers send-mail --json
    """
    from .intake import register_taken_in

    register_taken_in(ws)  # sign-ups a stopped server took in but had not registered yet
    counts = drain(ws)
    data = {"sent": counts["sent"], "failed": counts["failed"], "still_queued": queued(ws)}
    if as_json:
        emit_json(data)
        return
    say(f"sent {data['sent']}, failed {data['failed']}; {data['still_queued']} waiting (retries come later)")


