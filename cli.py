"""The ``newsletter`` command: a thin click skin over the library.

Each area keeps its commands beside its logic (``newsletter/commands.py``,
``subscribers/commands.py``, ``issues/commands.py``); this module assembles them.
"""

from __future__ import annotations

import click

from issues import cli as issues_commands
from newsletter import cli as newsletter_commands
from newsletter.console import AppContext, run, setup_logging
from newsletter.permissions import keep_files_private
from subscribers import cli as subscribers_commands

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.option(
    "--workspace",
    "-w",
    metavar="DIR",
    envvar=None,
    help="The newsletter's folder (default: NEWSLETTER_HOME, else the current folder or a parent).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only errors.")
@click.option("--verbose", "-v", is_flag=True, help="Print debugging logs and tracebacks.")
@click.version_option(package_name="newsletter-pipeline", prog_name="newsletter")
@click.pass_context
def main(ctx: click.Context, workspace: str | None, quiet: bool, verbose: bool) -> None:
    """Turn a blog's articles into a weekly email issue and send it to confirmed readers.

    \b
    Example:
        newsletter init mysite && cd mysite
        newsletter articles import articles/
        newsletter issue build && newsletter preview
    """
    setup_logging(verbose, quiet)
    keep_files_private()  # the database, mail and exports hold readers' personal data
    ctx.obj = AppContext(workspace, quiet, verbose)


for area_commands in (newsletter_commands.COMMANDS, subscribers_commands.COMMANDS, issues_commands.COMMANDS):
    for command in area_commands:
        main.add_command(command)


def entry_point() -> None:
    """Console script entry: exit codes 0 ok, 1 error, 2 usage."""
    run(main)


if __name__ == "__main__":
    entry_point()
