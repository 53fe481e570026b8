"""Shared fixtures: a fresh workspace on disk and a CLI runner bound to it."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter.init import init_workspace
from newsletter.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own NEWSLETTER_* settings."""
    import os

    for key in list(os.environ):
        if key.startswith("NEWSLETTER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A new workspace in a temporary folder with the default (Maildir) transport."""
    ws = init_workspace(tmp_path / "ws")
    yield ws
    ws.close()


class Cli:
    """Run ``newsletter`` commands in-process against one workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None) -> Result:
        from cli import main

        return self.runner.invoke(
            main, ["--workspace", str(self.ws.root), *args], input=input, env=env, catch_exceptions=True
        )


@pytest.fixture
def cli(workspace: Workspace) -> Cli:
    return Cli(workspace)


def interruptible() -> None:
    """``preexec_fn`` for a child the test stops with Ctrl-C (SIGINT).

    A shell starts background jobs with SIGINT ignored, and a child inherits that; a
    Python child then never sees the test's Ctrl-C. The child gets the default back.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
