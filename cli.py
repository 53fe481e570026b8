"""The ``newsletter`` command: a thin click skin over the library.

Each area keeps its commands beside its logic (``newsletter/cli.py``, ``subscribers/cli.py``,
``issues/cli/``); this module lists them and imports a command only when it runs, so
``newsletter --help`` and the quick status commands start fast.
"""

from __future__ import annotations

import click

from newsletter.console import AppContext, LazyGroup, run, setup_logging
from newsletter.permissions import keep_files_private

# Each command: where it lives, and the line `newsletter --help` shows for it (so listing the
# commands imports none of them; tests/test_cli_basics.py checks these lines against the commands).
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("newsletter.cli:init",
             "Make DIR a newsletter workspace: settings file, articles/ and issues/ folders, database."),
    "articles": ("newsletter.cli:articles", "Import the blog's articles and look at the archive."),
    "subscribers": ("subscribers.cli:subscribers",
                    "Manage readers: add, list, show, remove, forget, import, export, stats, send-mail."),
    "issue": ("issues.cli.issue:issue", "Build, list and render the weekly issues."),
    "send": ("issues.cli.send:send", "Send ISSUE to every confirmed reader, or test it first with --to / --dry-run."),
    "preview": ("issues.cli.web:preview",
                "Open ISSUE (default: the latest draft) in the browser, as readers will see it, with live reload."),
    "serve": ("issues.cli.web:serve",
              "Serve the sign-up, confirm and unsubscribe pages and the public archive on waitress."),
    "inbound": ("issues.cli.inbound:inbound",
                "Act on mail that comes back: bounces, spam complaints, mailto unsubscribes, subscribe requests."),
    "run": ("issues.cli.routine:run_command",
            "Do whatever the schedule says is due now: import, build, test copy, send, welcome series."),
    "approve": ("issues.cli.routine:approve",
                "Approve ISSUE's draft for its scheduled send (approve mode), or --revoke it."),
    "schedule": ("issues.cli.routine:schedule", "Run the weekly routine by itself: install the timer, see what is due."),
    "doctor": ("issues.cli.doctor:doctor",
               "Check the set-up before a real send: settings, file modes, DKIM, DNS records, the SMTP relay "
               "(connects, TLS, login, extensions; sends nothing) and the public pages."),
}

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings=CONTEXT_SETTINGS)
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


def entry_point() -> None:
    """Console script entry: exit codes 0 ok, 1 error, 2 usage."""
    run(main)


if __name__ == "__main__":
    entry_point()
