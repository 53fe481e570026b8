"""Plumbing shared by every command: the workspace option, JSON output, one-line errors.

Command modules (``newsletter/cli.py``, ``subscribers/cli.py``, ``issues/cli/``) use
these so that every command behaves alike: exit 0 on success, 1 with a one-line
message on stderr on an error, 2 on a usage error.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from .errors import NewsletterError, StorageError
from .workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger("newsletter")


class LazyGroup(click.Group):
    """A command group whose commands are imported on first use: ``{name: ("module:attribute", help line)}``.

    ``--help`` lists the help lines without importing anything, so a command's own
    dependencies (MJML, numpy, trafilatura, Flask, ...) load only when it runs.
    """

    def __init__(self, *args: Any, lazy_commands: dict[str, tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            import importlib

            module, _, attribute = self.lazy_commands[cmd_name][0].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)  # as click's own listing
        for name in names:
            if name in self.commands:
                command = self.commands[name]
                if command.hidden:
                    continue
                line = command.get_short_help_str(limit)
            else:
                line = click.Command(name, help=self.lazy_commands[name][1]).get_short_help_str(limit)
            rows.append((name, line))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class AppContext:
    """What the top-level group parsed: where the workspace is, how chatty to be."""

    def __init__(self, workspace: str | None, quiet: bool, verbose: bool) -> None:
        self.workspace_option = workspace
        self.quiet = quiet
        self.verbose = verbose
        self._workspace: Workspace | None = None

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = Workspace.find(self.workspace_option)
        return self._workspace


def pass_workspace(func: F) -> F:
    """Decorator: call the command with the found :class:`Workspace` as its first argument."""

    @click.pass_obj
    @functools.wraps(func)
    def wrapper(app: AppContext, *args: Any, **kwargs: Any) -> Any:
        ws = app.workspace
        try:
            return func(ws, *args, **kwargs)
        except sqlite3.DatabaseError as exc:  # locked, read-only, full, damaged: the user can fix these
            from .faults import explain_database_error

            message = explain_database_error(exc, ws.database_path)
            if message is None:
                raise
            raise StorageError(message) from exc

    return wrapper  # type: ignore[return-value]


class WeekType(click.ParamType):
    """An ISO week typed on the command line (``2026-W47``); anything else is a usage error (exit 2)."""

    name = "week"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from .clock import normalise_week
        from .errors import InvalidInput

        try:
            return normalise_week(str(value))
        except InvalidInput as exc:
            self.fail(str(exc), param, ctx)


WEEK = WeekType()

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document and nothing else.")


def _default(obj: Any) -> Any:
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def emit_json(data: Any) -> None:
    """Write ``data`` as one JSON document on stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_default))


def say(message: str, *, err: bool = False) -> None:
    """Print a message unless --quiet (errors always go through)."""
    ctx = click.get_current_context(silent=True)
    app = ctx.find_object(AppContext) if ctx else None
    if app is not None and app.quiet and not err:
        return
    click.echo(message, err=err)


def show_progress() -> bool:
    """Progress bars only on a terminal, and not with --quiet or ``NO_COLOR`` set (no-color.org)."""
    ctx = click.get_current_context(silent=True)
    app = ctx.find_object(AppContext) if ctx else None
    return sys.stderr.isatty() and not (app and app.quiet) and not os.environ.get("NO_COLOR")


class Progress:
    """A click progress bar on stderr (only when :func:`show_progress`) whose label shows the rate."""

    def __init__(self, total: int, label: str) -> None:
        self.label = label
        self.started = time.monotonic()
        self.done = 0
        self.bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr, show_eta=True,
                                     show_percent=True, width=30) if show_progress() and total else None
        if self.bar is not None:
            self.bar.__enter__()

    def __call__(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            elapsed = time.monotonic() - self.started
            self.bar.label = f"{self.label} {self.done / elapsed if elapsed else 0:,.0f}/s"
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def setup_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("mail.log", "waitress", "watchdog", "asyncio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def run(main: click.Group, args: list[str] | None = None) -> None:
    """Run the CLI: a :class:`NewsletterError` becomes one line on stderr and exit 1."""
    verbose = "--verbose" in (args if args is not None else sys.argv[1:])
    try:
        code = main.main(args=args, prog_name="newsletter", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except NewsletterError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except OSError as exc:  # a folder that cannot be written, a full disk: one line naming the file
        if verbose:
            raise
        from .faults import explain_os_error

        click.echo(f"Error: {explain_os_error(exc)}", err=True)
        sys.exit(1)
    except Exception as exc:  # an unexpected bug: still one line unless --verbose
        if verbose:
            raise
        click.echo(f"Error: internal error: {type(exc).__name__}: {exc} (rerun with --verbose for details)", err=True)
        sys.exit(1)
    # Without standalone mode click returns ctx.exit()'s code instead of raising.
    sys.exit(code if isinstance(code, int) else 0)
