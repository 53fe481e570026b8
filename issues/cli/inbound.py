"""The ``inbound`` command group: process returned mail from files, IMAP, or an LMTP listener."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from newsletter.console import emit_json, json_option, pass_workspace, say
from newsletter.workspace import Workspace

if TYPE_CHECKING:  # processing mail is heavy; `inbound status` never needs it
    from issues.inbound import Outcome


@click.group()
def inbound() -> None:
    """Act on mail that comes back: bounces, spam complaints, mailto unsubscribes, subscribe requests.

    \b
    Example:
        newsletter inbound process ~/Maildir/.bounces
        newsletter inbound fetch
        newsletter inbound serve --port 8024
        newsletter inbound status
    """


def _report(outcomes: list[Outcome], as_json: bool) -> None:
    if as_json:
        counts = Counter(o.outcome for o in outcomes)
        emit_json({"messages": [o.as_dict() for o in outcomes], "counts": dict(counts)})
        return
    for o in outcomes:
        who = ", ".join(f"reader {r['subscriber_id']} {r['action']} -> {r['status']}"
                        for r in o.readers if r.get("subscriber_id"))
        line = f"{o.label or o.message_id}: {o.outcome}"
        if o.kind:
            line += f" ({o.kind})"
        line += f": {who}" if who else f": {o.detail}"
        if o.kept_as:
            line += f" [kept aside as {o.kept_as}]"
        say(line)
    counts = Counter(o.outcome for o in outcomes)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no messages"
    say(f"{len(outcomes)} message(s): {summary}")


@inbound.command()
@click.argument("path", type=click.Path(path_type=Path))
@json_option
@pass_workspace
def process(ws: Workspace, path: Path, as_json: bool) -> None:
    """Process returned mail in PATH: one message file, a folder of them, a Maildir, or an mbox.

    Each message is acted on once, however often it is fed; one that cannot be used
    is kept in the workspace's inbound-rejected/ Maildir with the reason.

    \b
    Example:
        newsletter inbound process ~/Maildir/.bounces
        newsletter inbound process bounce.eml --json
    """
    from issues.inbound import process_path

    _report(process_path(ws, path), as_json)


@inbound.command()
@click.option("--limit", type=click.IntRange(min=1), help="Process at most this many messages.")
@json_option
@pass_workspace
def fetch(ws: Workspace, limit: int | None, as_json: bool) -> None:
    """Fetch unseen mail from the IMAP mailbox in [inbound] (TLS) and process it.

    Processed messages are flagged \\Seen, or moved to [inbound] imap_processed_folder.
    The password comes from NEWSLETTER_INBOUND_IMAP_PASSWORD.

    \b
    Example:
        NEWSLETTER_INBOUND_IMAP_PASSWORD=... newsletter inbound fetch
    """
    from issues.inbound import fetch_imap

    _report(fetch_imap(ws, limit=limit), as_json)


@inbound.command()
@click.option("--host", help="Interface to listen on (default: [inbound] lmtp_host).")
@click.option("--port", type=int, help="Port to listen on (default: [inbound] lmtp_port).")
@pass_workspace
def serve(ws: Workspace, host: str | None, port: int | None) -> None:
    """Listen for LMTP so an MTA such as Postfix can hand returned mail straight to us.

    \b
    Example:
        newsletter inbound serve --port 8024
        # Postfix transport_maps:  bounces.example.com  lmtp:inet:127.0.0.1:8024
    """
    from issues.inbound import start_lmtp

    controller = start_lmtp(ws, host, port)
    say(f"Listening for LMTP on {controller.hostname}:{controller.port}; Ctrl-C to stop.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:  # Ctrl-C is how a listener is meant to stop
        say("Stopped.")
    finally:
        controller.stop()


@inbound.command()
@click.option("--recent", type=click.IntRange(min=0), default=20, show_default=True,
              help="How many of the latest kept-aside messages to show.")
@json_option
@pass_workspace
def status(ws: Workspace, recent: int, as_json: bool) -> None:
    """Show what became of returned mail: counts, bounces and complaints per issue, and what was kept aside.

    \b
    Example:
        newsletter inbound status
        newsletter inbound status --json
    """
    from issues.inbound import inbound_status

    data = inbound_status(ws, recent=recent)
    if as_json:
        emit_json(data)
        return
    outcomes = ", ".join(f"{n} {k}" for k, n in sorted(data["by_outcome"].items())) or "none yet"
    say(f"Messages processed: {outcomes}")
    if data["by_kind"]:
        say("By kind: " + ", ".join(f"{n} {k}" for k, n in data["by_kind"].items()))
    if data["per_issue"]:
        say(f"\n{'issue':<10}{'hard':>8}{'soft':>8}{'complaints':>12}{'mail unsub':>12}")
    for issue_id, f in data["per_issue"].items():
        say(f"{issue_id:<10}{f['hard_bounces']:>8}{f['soft_bounces']:>8}{f['complaints']:>12}{f['mail_unsubscribes']:>12}")
    if data["kept_aside"]:
        say(f"\nKept aside in {data['kept_aside_in']} (latest first):")
    for row in data["kept_aside"]:
        say(f"  {row['received_at']}  {row['kept_as'] or '(deleted)'}  {row['detail']}")
