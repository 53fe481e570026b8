"""The command line's conventions: exit codes, one-line errors, --workspace, help with examples."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from cli import main

REPO = Path(__file__).resolve().parent.parent


def run_newsletter(*args: str, cwd: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_init_then_missing_workspace_is_one_line_exit_1(tmp_path: Path) -> None:
    done = run_newsletter("init", "site", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    again = run_newsletter("init", "site", cwd=tmp_path)
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr


def test_usage_error_exits_2(tmp_path: Path) -> None:
    done = run_newsletter("--no-such-option", cwd=tmp_path)
    assert done.returncode == 2


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()

    def walk(group, path):
        for name, cmd in group.commands.items():
            yield path + [name], cmd
            if hasattr(cmd, "commands"):
                yield from walk(cmd, path + [name])

    missing = []
    for path, cmd in walk(main, []):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        if not hasattr(cmd, "commands") and "Example" not in result.output:
            missing.append(" ".join(path))
    assert not missing, f"commands without an example in --help: {missing}"


def test_the_lazy_command_list_matches_the_commands() -> None:
    """`newsletter --help` shows each command's own first help line without importing it."""
    import importlib

    import click

    from cli import COMMANDS

    for name, (where, line) in COMMANDS.items():
        module, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command) and command.name in (name, attribute), name
        assert command.get_short_help_str(1000) == click.Command(name, help=line).get_short_help_str(1000), name


def test_help_imports_no_command_module() -> None:
    """Listing the commands loads none of them (nor MJML, numpy or the database layer)."""
    probe = ("import sys; from click.testing import CliRunner; from cli import main; "
             "CliRunner().invoke(main, ['--help']); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('issues', 'subscribers', 'numpy', 'mjml', 'sqlite_utils', 'trafilatura') "
             "or m.startswith('newsletter.cli') or m.startswith('newsletter.articles')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.stdout.strip() == "[]", done.stdout


def test_status_commands_load_only_what_they_read(tmp_path: Path) -> None:
    """`schedule status` and `inbound status` decide from stored state: no builder, sender, mail parser,
    article importer or email-validator is imported (a plain editor address is checked by its shape)."""
    from newsletter.init import init_workspace

    init_workspace(tmp_path / "ws").close()
    heavy = ("issues.build.assemble", "issues.build.content_checks", "issues.send.sender", "issues.inbound.process",
             "issues.routine.welcome", "newsletter.articles.importer", "email_validator", "bs4", "jinja2", "mjml")
    for command in (["schedule", "status", "--json"], ["inbound", "status", "--json"]):
        probe = ("import sys; from click.testing import CliRunner; from cli import main; "
                 f"result = CliRunner().invoke(main, ['--workspace', sys.argv[1], *{command!r}]); "
                 "assert result.exit_code == 0, result.output; "
                 f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m in {heavy!r}))")
        done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "ws")], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent.parent,
                              env={"PATH": "/usr/bin:/bin", "NEWSLETTER_SCHEDULE_EDITORS": "editor@example.com"})
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[]", (command, done.stdout)
