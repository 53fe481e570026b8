"""Kernel commands: ``init`` and the ``articles`` group."""

from __future__ import annotations

import click

from .console import say
from .init import init_workspace


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


COMMANDS = [init]
