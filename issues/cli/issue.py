"""The ``issue`` command group: build a week's issue, list the archive, render it to files, its send's status."""

from __future__ import annotations

from pathlib import Path

import click

from issues.build import get_issue, list_issues
from newsletter.console import WEEK, emit_json, json_option, pass_workspace, say
from newsletter.workspace import Workspace


@click.group()
def issue() -> None:
    """Build, list and render the weekly issues.

    \b
    Example:
        newsletter issue build --week 2026-W47
        newsletter issue render 2026-W47 --out out/
    """


@issue.command()
@click.option("--week", type=WEEK, metavar="YYYY-Www", help="The ISO week to build (default: the last complete week).")
@json_option
@pass_workspace
def build(ws: Workspace, week: str | None, as_json: bool) -> None:
    """Gather a week's articles into an issue (a draft; building again updates it).

    \b
    Example:
        newsletter issue build --week 2026-W47
    """
    from issues.build import build_issue

    built = build_issue(ws, week)
    if as_json:
        emit_json(built.as_dict())
        return
    count = len(built.items)
    verb = "Updated the draft of" if built.built_at != built.created_at else "Built"
    say(f"{verb} issue {built.id} (#{built.number}, {built.period}): {count} article{'s' * (count != 1)}")
    say(f"Subject: {built.subject}")
    say(f"Next: newsletter issue render {built.id}")


@issue.command("list")
@json_option
@pass_workspace
def list_(ws: Workspace, as_json: bool) -> None:
    """List the issues, newest first.

    \b
    Example:
        newsletter issue list --json
    """
    issues = list_issues(ws)
    if as_json:
        emit_json([i.as_dict(with_items=False) for i in issues])
        return
    if not issues:
        say("No issues yet; build one with 'newsletter issue build'.")
        return
    click.echo(f"{'ISSUE':<10} {'#':>4}  {'STATUS':<8} {'ITEMS':>5}  {'BUILT':<25} SUBJECT")
    for i in issues:
        click.echo(f"{i.id:<10} {i.number:>4}  {i.status:<8} {len(i.items):>5}  {i.built_at:<25} {i.subject}")


@issue.command()
@click.argument("issue_key", metavar="ISSUE")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write into (default: the workspace's issues/ISSUE folder).")
@json_option
@pass_workspace
def render(ws: Workspace, issue_key: str, out_dir: Path | None, as_json: bool) -> None:
    """Write ISSUE as issue.html, issue.txt and issue.eml (the whole message for a sample reader).

    ISSUE is a week (2026-W47), an issue number or 'latest'.

    \b
    Example:
        newsletter issue render 2026-W47 --out out/
    """
    from issues.build import write_issue_files
    from issues.preview import checks as preview_checks

    found = get_issue(ws, issue_key)
    paths = write_issue_files(ws, found.id, out_dir)
    size = paths["html"].stat().st_size
    limit = preview_checks.GMAIL_CLIP_BYTES
    if size > limit:
        say(f"Warning: {paths['html']} is {size / 1024:.1f} KB, over the {limit // 1024} KB at which Gmail clips "
            "a message; lower [issue] max_items or excerpt_words, then build and render again", err=True)
    if as_json:
        emit_json({"issue": found.id, **{kind: str(path) for kind, path in paths.items()}, "html_bytes": size,
                   "clipped_by_gmail": size > limit})
        return
    say(f"Rendered issue {found.id} (#{found.number}):")
    say(f"  HTML  {paths['html']}  ({size / 1024:.1f} KB; open it in a browser)")
    say(f"  text  {paths['text']}")
    say(f"  email {paths['eml']}")


@issue.command("status")
@click.argument("issue_key", metavar="ISSUE")
@json_option
@pass_workspace
def status(ws: Workspace, issue_key: str, as_json: bool) -> None:
    """Show how ISSUE's send stands: sent, pending, failed and skipped readers, and why.

    \b
    Example:
        newsletter issue status 2026-W47
        newsletter issue status latest --json
    """
    from issues.inbound import issue_feedback
    from issues.send import outcome_of, send_status

    found = get_issue(ws, issue_key)
    data = {**send_status(ws, found.id), "number": found.number, "status": found.status,
            "came_back": issue_feedback(ws, found.id)}
    outcome = outcome_of(found.id, data["counts"], started=data["started_at"] is not None)
    data["outcome"] = outcome.as_dict()
    if as_json:
        emit_json(data)
        return
    if data["started_at"] is None:
        click.echo(f"{found.id} (#{found.number}) is a {found.status}; not sent yet. "
                   f"Test it: newsletter send {found.id} --to you@example.com")
        return
    state = "finished " + data["finished_at"] if data["finished_at"] else "not finished"
    click.echo(f"{found.id} (#{found.number}) {found.status}: {data['readers']} readers in the snapshot of "
               f"{data['started_at']}, {data['runs']} run{'s' * (data['runs'] != 1)}, {state}")
    click.echo(f"Outcome: {outcome.words}.")
    for name, n in data["counts"].items():
        if n or name != "sending":
            click.echo(f"  {name:<8} {n:>8}")
    if data["deferred"]:
        click.echo(f"deferred: {data['deferred']}, next try at {data['next_try_at']} "
                   f"(refused for now by their server; 'newsletter send {found.id}' or 'newsletter run' retries them)")
    if data["paused"]:
        click.echo(f"paused: {data['paused']}; 'newsletter send {found.id}' resumes")
    if len(data["providers"]) > 1:
        click.echo("By provider:")
        for name, n in data["providers"].items():
            click.echo(f"  {name:<20} {n['sent']:>7} sent {n['failed']:>6} failed {n['pending']:>6} pending")
    back = data["came_back"]
    click.echo(f"Came back: {back['hard_bounces']} hard bounces, {back['soft_bounces']} soft bounces, "
               f"{back['complaints']} complaints, {back['mail_unsubscribes']} unsubscribes by mail")
    if data["reasons"]:
        click.echo("Why not sent:")
        for r in data["reasons"]:
            code = r["code"] if r["code"] is not None else "-"
            click.echo(f"  {r['status']:<8} {r['count']:>6}  {code}  {r['detail'] or ''}")
