"""The ``issue`` command group: build a week's issue, list the archive, render an issue to files."""

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
