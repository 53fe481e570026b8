"""``newsletter articles related``: show an article's related links and why; pin, block, export."""

from __future__ import annotations

import json

import click

from ..console import Progress, emit_json, json_option, pass_workspace, say
from ..errors import InvalidInput
from ..workspace import Workspace


def _article(ws: Workspace, key: str):
    from ..articles import get_article

    return get_article(ws, key)


def _link_dicts(ws: Workspace, links) -> list[dict]:
    from ..articles import get_articles

    found = {a.id: a for a in get_articles(ws, [link.article_id for link in links])}
    return [
        link.as_dict() | {"title": found[link.article_id].title, "url": found[link.article_id].url}
        for link in links if link.article_id in found
    ]


@click.command("related")
@click.argument("article", required=False, metavar="[ARTICLE]")
@click.option("--limit", type=click.IntRange(min=0), help="How many links (default: [related] count).")
@click.option("--pin", "pins", multiple=True, metavar="OTHER", help="Always link OTHER from ARTICLE (repeatable).")
@click.option("--block", "blocks", multiple=True, metavar="OTHER", help="Never link OTHER from ARTICLE (repeatable).")
@click.option("--clear", "clears", multiple=True, metavar="OTHER", help="Forget a pin or block of OTHER.")
@click.option("--all", "all_articles", is_flag=True, help="Every article's links (with --json: one document).")
@click.option("--rebuild", is_flag=True, help="Rebuild the related index from the whole archive first.")
@json_option
@pass_workspace
def related(ws: Workspace, article: str | None, limit: int | None, pins: tuple[str, ...], blocks: tuple[str, ...],
            clears: tuple[str, ...], all_articles: bool, rebuild: bool, as_json: bool) -> None:
    """Show ARTICLE's related articles (id, URL or slug) with scores and the reasons for each.

    The score is the text match relative to ARTICLE's match with itself (title words
    count extra) plus shared tags weighted by how rare they are; links under
    [related] min_score are left out.  --pin and --block are stored and honoured by
    every later issue build.

    \b
    Example:
        newsletter articles related deadlift-basics
        newsletter articles related deadlift-basics --pin hip-hinge-drills --block gym-etiquette
        newsletter articles related --all --json > related.json
    """
    from . import (
        block_related,
        clear_related_edit,
        edits_for,
        pin_related,
        rebuild_index,
        related_articles,
        sync_index,
    )

    if rebuild:
        count = rebuild_index(ws)
        if not (article or all_articles):
            say(f"Rebuilt the related index: {count} articles.")
            return
    if all_articles:
        if article or pins or blocks or clears:
            raise InvalidInput("--all lists every article; leave out ARTICLE, --pin, --block and --clear")
        _print_all(ws, limit, as_json)
        return
    if not article:
        raise click.UsageError("name an ARTICLE (id, URL or slug), or use --all or --rebuild")
    sync_index(ws)
    target = _article(ws, article)
    for key in pins:
        pin_related(ws, target.id, _article(ws, key).id)
    for key in blocks:
        block_related(ws, target.id, _article(ws, key).id)
    for key in clears:
        if not clear_related_edit(ws, target.id, _article(ws, key).id):
            say(f"{key}: no pin or block to clear.", err=True)
    links = _link_dicts(ws, related_articles(ws, target.id, limit=limit))
    edits = edits_for(ws, target.id)
    if as_json:
        emit_json({"article": {"id": target.id, "title": target.title, "url": target.url},
                   "related": links, "edits": [e.as_dict() for e in edits]})
        return
    click.echo(f'{target.id}  "{target.title}"')
    if not links:
        say("  no related article scores above [related] min_score.")
    for link in links:
        click.echo(f"  {link['score']:6.3f}  {link['article_id']:>5}  {link['title']}")
        for reason in link["reasons"]:
            click.echo(f"                 {reason}")
    from ..articles import get_articles

    titles = {a.id: a.title for a in get_articles(ws, [e.other_id for e in edits])}
    for edit in edits:
        what = "pinned" if edit.action == "pin" else "blocked"
        click.echo(f"  {what} by the editor: {edit.other_id}  {titles.get(edit.other_id, '(deleted)')}")


def _print_all(ws: Workspace, limit: int | None, as_json: bool) -> None:
    """Every article's links; JSON is streamed as one document so a big archive stays in bounded memory."""
    from ..articles import article_count
    from . import all_related

    first = True
    total = article_count(ws.db)
    progress = Progress(total, "Ranking") if total >= 1000 else None  # a big archive takes minutes
    if as_json:
        click.echo('{"articles": [', nl=False)
    for article_id, links in all_related(ws, limit=limit, explain=as_json):  # the text lists show no reasons
        if progress is not None:
            progress(1)
        if as_json:
            item = {"article_id": article_id, "related": [link.as_dict() for link in links]}
            click.echo(("" if first else ",") + "\n  " + json.dumps(item, ensure_ascii=False), nl=False)
        else:
            shown = ", ".join(f"{link.article_id} ({link.score:.3f})" for link in links) or "-"
            click.echo(f"{article_id:>5}: {shown}")
        first = False
    if progress is not None:
        progress.close()
    if as_json:
        click.echo("\n]}")
