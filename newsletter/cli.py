"""Kernel commands: ``init`` and the ``articles`` group."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import click

from .console import WEEK, emit_json, json_option, pass_workspace, say
from .init import init_workspace
from .related.cli import related as related_command
from .workspace import Workspace


@click.command()
@click.argument("folder", default=".", metavar="[DIR]")
@click.option("--name", default="Weekly Training Notes", help="The newsletter's name.")
def init(folder: str, name: str) -> None:
    """Make DIR a newsletter workspace: settings file, articles/ and issues/ folders, database.

    \b
    Example:
        newsletter init mysite --name "Weekly Training Notes"
    """
    ws = init_workspace(folder, name=name)
    say(f"Created a workspace in {ws.root}; edit {ws.root / 'newsletter.toml'} next.")


@click.group()
def articles() -> None:
    """Import the blog's articles and look at the archive.

    \b
    Example:
        newsletter articles import articles/ feed.xml page.html saved-page.txt
        newsletter articles list --week 2026-W47
    """


@articles.command("import")
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option("--date", "default_date", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Date for articles whose source has none (default: the file's modification time).")
@click.option("--allow-future", is_flag=True, help="Import articles dated after today (scheduled posts).")
@click.option("--url", metavar="URL", help="The public address of the one page being imported "
              "(for a saved page that does not state its own).")
@json_option
@pass_workspace
def import_command(ws: Workspace, sources: tuple[str, ...], default_date: datetime | None, allow_future: bool,
                   url: str | None, as_json: bool) -> None:
    """Import articles from Markdown files or folders, RSS/Atom feeds, HTML pages and pages
    saved as plain text (paths or http(s) URLs).  Without SOURCE, the workspace's articles folder.

    Each article is stored once under its canonical URL: importing again changes nothing,
    an edited article is updated.  A page that states no URL is stored without one until
    it gets one (--url here, or 'articles edit ARTICLE --url').  Exits 1 if any source
    failed (the others are still imported).

    \b
    Example:
        newsletter articles import articles/ feed.xml https://blog.example.com/feed.xml
        newsletter articles import saved-page.txt --date 2026-11-20 --url https://blog.example.com/calf-cramps
    """
    from .articles import import_sources
    from .errors import SourceError

    if url is not None and len(sources) != 1:
        raise click.UsageError("--url gives one page its address; name exactly one SOURCE")
    report = import_sources(ws, sources or [ws.articles_dir], default_date=default_date and default_date.date(),
                            allow_future=allow_future, url=url)
    failed = report.failed
    if as_json:
        emit_json(report)
    else:
        for entry in report.entries:
            if (entry.status != "unchanged" or entry.notes) and not (entry.status == "failed" and len(failed) == 1):
                say(entry.line(), err=entry.status == "failed")
        say(f"Imported: {report.summary()}.")
    if len(failed) == 1:
        others = len(report.entries) - 1
        raise SourceError(failed[0].message + (f" ({others} other{'s' if others != 1 else ''} handled, see the summary)"
                                               if others else ""))
    if failed:
        where = "each is in the JSON report" if as_json else "listed above"
        raise SourceError(f"{len(failed)} of {len(report.entries)} failed to import ({where}); "
                          "the others were imported")


@articles.command("list")
@click.option("--week", type=WEEK, metavar="YYYY-Www", help="Only the articles of this ISO week (site's time zone).")
@json_option
@pass_workspace
def list_command(ws: Workspace, week: str | None, as_json: bool) -> None:
    """List the stored articles, oldest first.

    \b
    Example:
        newsletter articles list --week 2026-W47
        newsletter articles list --json | jq '.[].url'
    """
    from .articles import all_articles, articles_in_week
    from .clock import week_of

    found = articles_in_week(ws, week) if week is not None else all_articles(ws)
    tz = ws.settings.site.timezone
    if as_json:
        emit_json([{key: value for key, value in a.as_dict().items() if key not in ("body_html", "body_text")}
                   | {"week": week_of(a.published_at, tz)} for a in found])
        return
    if not found:
        say(f"No articles in {week}." if week else "No articles yet; run 'newsletter articles import'.")
        return
    zone = ZoneInfo(tz)
    for a in found:
        when = a.published_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        tags = f"  [{', '.join(a.tags)}]" if a.tags else ""
        click.echo(f"{a.id:>5}  {when}  {week_of(a.published_at, tz)}  {a.title}{tags}")
    say(f"{len(found)} article{'s' if len(found) != 1 else ''}.", err=False)


@articles.command("show")
@click.argument("article", metavar="ARTICLE")
@json_option
@pass_workspace
def show_command(ws: Workspace, article: str, as_json: bool) -> None:
    """Print what is stored for ARTICLE (id, URL or slug): its fields, then its text.

    \b
    Example:
        newsletter articles show 12
        newsletter articles show why-calves-cramp --json | jq .url
    """
    from .articles import get_article

    found = get_article(ws, article)
    if as_json:
        emit_json(found.as_dict())
        return
    zone = ZoneInfo(ws.settings.site.timezone)
    rows = [
        ("id", str(found.id)), ("title", found.title),
        ("url", found.url or "(none yet: set one with 'newsletter articles edit "
                             f"{found.id} --url URL'; no issue takes it until then)"),
        ("slug", found.slug), ("published", found.published_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")),
        ("author", found.author or ""), ("tags", ", ".join(found.tags)), ("image", found.image or ""),
        ("summary", found.summary or ""), ("source", found.source),
        ("words", f"{len(found.body_text.split())}" + (f" (of {found.source_words} on the page it came from)"
                                                      if found.source_words else "")),
        ("imported", found.imported_at), ("updated", found.updated_at),
    ]
    for name, value in rows:
        if value:
            click.echo(f"{name + ':':<11}{value}")
    click.echo("")
    click.echo(found.body_text)


@articles.command("edit")
@click.argument("article", metavar="ARTICLE")
@click.option("--url", required=True, metavar="URL", help="The article's public address.")
@pass_workspace
def edit_command(ws: Workspace, article: str, url: str) -> None:
    """Set ARTICLE's public URL (id, URL or slug), e.g. a saved page imported without one.

    \b
    Example:
        newsletter articles edit 12 --url https://blog.example.com/calf-cramps
    """
    from .articles import set_url

    found = set_url(ws, article, url)
    say(f"Article {found.id} \"{found.title}\" now links to {found.url}.")


articles.add_command(related_command)

