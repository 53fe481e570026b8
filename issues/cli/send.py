"""The ``send`` command: a thin skin over :mod:`issues.send.sender` and friends."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import click

from issues.build import get_issue
from newsletter.console import Progress, emit_json, json_option, pass_workspace, say
from newsletter.errors import InvalidInput, NewsletterError
from newsletter.workspace import Workspace


class SendIncomplete(click.ClickException):
    """A send that ended without every reader delivered: exit 3 (finished with failures) or 4 (paused, unfinished)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@click.command()
@click.argument("issue_key", metavar="ISSUE")
@click.option("--to", "to", multiple=True, metavar="ADDR",
              help="Test send: only to ADDR (repeatable), subject marked [TEST]; no reader is recorded.")
@click.option("--dry-run", is_flag=True, help="Send nothing: write every reader's message as .eml into --out.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder for --dry-run messages.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (for cron and scripts).")
@click.option("--retry-failed", is_flag=True, help="Queue readers whose delivery failed temporarily again.")
@json_option
@pass_workspace
def send(ws: Workspace, issue_key: str, to: tuple[str, ...], dry_run: bool, out_dir: Path | None, yes: bool,
         retry_failed: bool, as_json: bool) -> None:
    """Send ISSUE to every confirmed reader, or test it first with --to / --dry-run.

    A send can be stopped (Ctrl-C finishes the messages in flight) and run again:
    it resumes where it stopped and never mails anyone twice.

    Exit status: 0 every reader delivered (or skipped), 1 error, 2 usage error,
    3 finished with failures (some or all readers failed), 4 paused or unfinished
    (readers still waiting: send again), 130 stopped by Ctrl-C.

    \b
    Example:
        newsletter send 2026-W47 --to me@example.com      # test send
        newsletter send 2026-W47 --dry-run --out eml/     # write .eml files only
        newsletter send 2026-W47                          # asks, then sends
        newsletter send 2026-W47 --yes                    # the same from cron
        newsletter send 2026-W47 --retry-failed
    """
    if to and dry_run:
        raise click.UsageError("--to sends a test and --dry-run sends nothing; use one of them")
    from issues.build import check_before_send

    for warning in check_before_send(ws, get_issue(ws, issue_key)):
        say(f"warning: {warning.message}", err=True)
    if retry_failed and (to or dry_run):
        raise click.UsageError("--retry-failed goes with a real send, not with --to or --dry-run")
    if to:
        _test_send(ws, issue_key, to, as_json)
    elif dry_run:
        _dry_run(ws, issue_key, out_dir, as_json)
    else:
        if out_dir is not None:
            raise click.UsageError("--out goes with --dry-run")
        _real_send(ws, issue_key, yes, retry_failed, as_json)


def preflight(ws: Workspace) -> None:
    """The cheap part of ``newsletter doctor`` (no network): stop before anything is sent on an error."""
    from newsletter.doctor import local_checks

    errors = local_checks(ws).errors
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise NewsletterError(f"{errors[0].message}{more}; nothing was sent. "
                              f"{errors[0].fix + '; ' if errors[0].fix else ''}'newsletter doctor' shows every check")


def _test_send(ws: Workspace, issue_key: str, to: tuple[str, ...], as_json: bool) -> None:
    from issues.send import send_test

    _check_addresses(to)
    preflight(ws)
    results = send_test(ws, issue_key, to)
    if as_json:
        emit_json([r.as_dict() for r in results])
    else:
        for r in results:
            say(f"{'sent' if r.ok else 'FAILED'} to {r.address}: {r.code} {r.text}")
    failed = [r.address for r in results if not r.ok]
    if failed:
        raise NewsletterError(f"test send failed for {', '.join(failed)}; see the server's answer above")


def _dry_run(ws: Workspace, issue_key: str, out_dir: Path | None, as_json: bool) -> None:
    from issues.send import pending_readers, write_dry_run

    if out_dir is None:
        raise click.UsageError("--dry-run needs --out DIR for the .eml files")
    progress = Progress(pending_readers(ws, issue_key), "Writing")
    try:
        count = write_dry_run(ws, issue_key, out_dir, progress)
    finally:
        progress.close()
    if as_json:
        emit_json({"issue": get_issue(ws, issue_key).id, "messages": count, "out": str(out_dir)})
    else:
        say(f"Wrote {count} messages to {out_dir} (nothing sent).")


def _real_send(ws: Workspace, issue_key: str, yes: bool, retry_failed: bool, as_json: bool) -> None:
    from issues.send import pending_readers, send_issue, stop_on_signals

    found = get_issue(ws, issue_key)
    preflight(ws)
    readers = pending_readers(ws, found.id, retry_failed=retry_failed)
    if readers and not yes:
        transport = ws.settings.delivery.transport
        where = f"{ws.settings.smtp.host}:{ws.settings.smtp.port}" if transport == "smtp" else \
            str(ws.path(ws.settings.delivery.maildir))
        click.confirm(f"Send {found.id} \"{found.subject}\" to {readers} reader{'' if readers == 1 else 's'} via {transport} ({where})?",
                      abort=True, err=True)
    stop = threading.Event()
    progress = Progress(readers, f"Sending {found.id}")
    try:
        with stop_on_signals(stop, lambda: click.echo(
                "\nStopping after the messages in flight (Ctrl-C again to quit at once)...", err=True)):
            report = send_issue(ws, found.id, retry_failed=retry_failed, stop=stop, progress=progress)
    except KeyboardInterrupt:  # the second Ctrl-C: answers read so far are recorded; click would make it exit 1
        say(f"Stopped at once. Run 'newsletter send {found.id}' to resume.", err=True)
        sys.exit(130)
    finally:
        progress.close()
    if as_json:
        emit_json(report.as_dict())
    else:
        say(report.summary())
    if report.interrupted:
        say(f"Stopped. Run 'newsletter send {found.id}' to resume.", err=True)
        sys.exit(130)  # like an interrupted command (click's Exit would become 0 under console.run)
    outcome = report.outcome
    if outcome.exit_code:
        raise SendIncomplete(outcome.words, outcome.exit_code)


def _check_addresses(to: tuple[str, ...]) -> None:
    from subscribers import validate_address

    for address in to:
        try:
            validate_address(address)
        except InvalidInput as exc:
            raise InvalidInput(f"--to: {exc}; give a plain address like you@example.com") from None
