"""The ``doctor`` command: a thin skin over :mod:`newsletter.doctor`, with the size of the issue to send."""

from __future__ import annotations

import click

from newsletter.console import AppContext, emit_json, json_option, say
from newsletter.doctor import ERROR, Report, dkim_public_record, expected_records, run_doctor, zone_line
from newsletter.errors import ConfigError, NewsletterError
from newsletter.workspace import Workspace


class DoctorFoundErrors(click.ClickException):
    """At least one check is an error: exit 1 after the report."""


def issue_message_size(ws: Workspace, issue_key: str | None) -> int | None:
    """Bytes of one reader's message of ISSUE (default: the latest issue), or None when there is no issue."""
    from issues.build import get_issue, list_issues, render_issue, sample_fields, sample_message

    if issue_key is None:
        issues = list_issues(ws)
        if not issues:
            return None
        issue_key = issues[0].id
    found = get_issue(ws, issue_key)
    return len(sample_message(ws, render_issue(ws, found.id), sample_fields(ws)))


@click.command()
@click.option("--issue", "issue_key", metavar="ISSUE", help="Check the relay's size limit against this issue "
              "(default: the latest).")
@click.option("--offline", is_flag=True, help="Only the checks that need no network (what 'send' runs first).")
@click.option("--nameserver", metavar="IP[:PORT]", help="Ask this DNS server (e.g. your zone's own) instead of "
              "the system's resolver.")
@json_option
@click.pass_obj
def doctor(app: AppContext, issue_key: str | None, offline: bool, nameserver: str | None, as_json: bool) -> None:
    """Check the set-up before a real send: settings, file modes, DKIM, DNS records, the SMTP relay
    (connects, TLS, login, extensions; sends nothing) and the public pages.  Prints ok / warning /
    error per item with what to do, and the DNS records to publish, ready to paste.  Exits 1 when
    any check is an error.

    \b
    Example:
        newsletter doctor
        newsletter doctor --nameserver 192.0.2.53 --json
    """
    report = Report()
    try:
        ws = app.workspace
    except ConfigError as exc:
        report.add("settings", "file", ERROR, str(exc), "fix the setting named, then run doctor again")
        _finish(report, None, as_json)
        return
    size = None
    if not offline:
        try:
            size = issue_message_size(ws, issue_key)
        except NewsletterError as exc:
            report.add("settings", "issue", ERROR, f"cannot build the issue's message: {exc}")
    found = run_doctor(ws, network=not offline, nameserver=nameserver, message_size=size)
    report.checks[:0] = found.checks
    _finish(report, ws, as_json)


def _finish(report: Report, ws: Workspace | None, as_json: bool) -> None:
    records = []
    if ws is not None:
        public = dkim_public_record(ws)
        records = [{"what": what, "name": name, "type": kind, "value": value, "zone_line": zone_line(name, kind, value)}
                   for what, name, kind, value in expected_records(ws, public)]
    if as_json:
        emit_json({**report.as_dict(), "records": records})
    else:
        for check in report.checks:
            click.echo(check.line())
        if records:
            click.echo("\nDNS records to publish (zone-file lines, ready to paste):")
            for record in records:
                click.echo(f"  {record['zone_line']}")
        counts = report.counts()
        say(f"\n{counts['ok']} ok, {counts['warning']} warnings, {counts['error']} errors.")
    if report.errors:
        raise DoctorFoundErrors(f"{len(report.errors)} check{'s' * (len(report.errors) != 1)} failed: "
                                f"{report.errors[0].message}")
