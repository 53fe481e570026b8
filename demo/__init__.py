"""``make demo``: a fresh demo workspace, the sample articles imported, the latest week built and rendered.

Run as ``python -m demo DIR``.  The demo is a list of small steps
(:data:`STEPS`); the last two live in their own modules (send to the demo
Maildir, print the serve and preview commands).
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click

from newsletter.errors import ConfigError, NewsletterError, SourceError
from newsletter.init import init_workspace
from newsletter.workspace import Workspace

from .routine import show_routine
from .send import send_to_sample_readers
from .web import web_commands

MARKER = ".demo-workspace"  # only a folder carrying this file is ever removed by the demo


@dataclass
class Demo:
    """What the steps share: the demo folder, its workspace, the issue built, lines for the summary."""

    root: Path
    ws: Workspace | None = None
    issue_id: str | None = None
    out_dir: Path | None = None
    summary: list[str] = field(default_factory=list)

    @property
    def workspace(self) -> Workspace:
        assert self.ws is not None, "the workspace step runs first"
        return self.ws


def newsletter_command(demo: Demo) -> str:
    """How to call the CLI on the demo workspace from here (the venv's script when it is not on PATH)."""
    script = Path(sys.executable).parent / "newsletter"
    found = shutil.which("newsletter")
    command = "newsletter" if found and Path(found) == script else str(script) if script.exists() else "newsletter"
    return f"{command} --workspace {demo.root}"


def make_workspace(demo: Demo) -> None:
    """Start from a fresh workspace (an old demo workspace is removed first)."""
    root = demo.root
    if root.exists():
        if not (root / MARKER).exists() and any(root.iterdir()):
            raise ConfigError(f"{root} exists and is not a demo workspace; pick another folder or remove it")
        shutil.rmtree(root)
    init_workspace(root)
    (root / MARKER).write_text("Made by 'make demo'; removed and remade by the next run.\n")
    demo.ws = _served_here(root)
    click.echo(f"Workspace:  {root}")


def _served_here(root: Path) -> Workspace:
    """Point ``[site] public_url`` at the demo's own ``newsletter serve`` address, so the links and
    images in its mail work once that server runs; the workspace with the new setting."""
    from newsletter.settings import SETTINGS_FILE

    settings = root / SETTINGS_FILE
    web = Workspace(root).settings.web
    public_url = f"http://{web.host}:{web.port}"
    text = re.sub(r'^public_url = "[^"]*"', f'public_url = "{public_url}"', settings.read_text(encoding="utf-8"),
                  count=1, flags=re.MULTILINE)
    settings.write_text(text, encoding="utf-8")
    return Workspace(root)


def import_samples(demo: Demo) -> None:
    """Copy the sample articles into the workspace and their images into its media folder (served by
    ``newsletter serve`` at /media/samples/), then import the articles."""
    from newsletter.articles import import_sources
    from newsletter.samples import ARTICLES_DIR, IMAGE_BASE, IMAGES_DIR

    ws = demo.workspace
    media = ws.path(ws.settings.paths.media) / "samples"
    media.mkdir(parents=True, exist_ok=True)
    for image in IMAGES_DIR.glob("*.jpg"):
        shutil.copyfile(image, media / image.name)
    served = f"{str(ws.settings.site.public_url).rstrip('/')}/media/samples/"
    for article in ARTICLES_DIR.glob("*.md"):
        text = article.read_text(encoding="utf-8").replace(IMAGE_BASE, served)
        (ws.articles_dir / article.name).write_text(text, encoding="utf-8")
    report = import_sources(ws, [ws.articles_dir])
    click.echo(f"Imported:   {ws.articles_dir} ({report.summary()}; images in {media})")
    for entry in report.failed:
        click.echo(f"            {entry.line()}", err=True)


def build_latest_week(demo: Demo) -> None:
    """Build the issue of the latest week that has sample articles."""
    from issues.build import build_issue
    from newsletter.articles import all_articles
    from newsletter.clock import week_of

    ws = demo.workspace
    articles = all_articles(ws)
    if not articles:
        raise SourceError("no sample articles were imported; see the failures above")
    latest = max(a.published_at for a in articles)
    issue = build_issue(ws, week_of(latest, ws.settings.site.timezone))
    demo.issue_id = issue.id
    click.echo(f"Built:      issue {issue.id} (#{issue.number}), {len(issue.items)} articles")
    click.echo(f"            Subject: {issue.subject}")


def render_issue_files(demo: Demo) -> None:
    """Render the issue to DIR/out/: issue.html, issue.txt, issue.eml."""
    from issues.build import write_issue_files

    demo.out_dir = demo.root / "out"
    paths = write_issue_files(demo.workspace, demo.issue_id or "latest", demo.out_dir)
    click.echo(f"Rendered:   {paths['html']}  ({paths['html'].stat().st_size / 1024:.1f} KB)")
    click.echo(f"            {paths['text']}")
    click.echo(f"            {paths['eml']}")
    demo.summary.append(f"Open the issue in a browser: file://{paths['html']}")
    demo.summary.append(f"Try the CLI on it:           {newsletter_command(demo)} issue list")


STEPS: list[Callable[[Demo], None]] = [
    make_workspace, import_samples, build_latest_week, render_issue_files, send_to_sample_readers, show_routine,
    web_commands,
]


def run_demo(root: Path) -> Demo:
    """Run every step in order on a fresh workspace at ``root``."""
    demo = Demo(root=root.resolve())
    for step in STEPS:
        step(demo)
    return demo


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0] if args else "demo-workspace")
    try:
        demo = run_demo(root)
    except NewsletterError as exc:
        click.echo(f"Error: {exc}", err=True)
        return 1
    click.echo("")
    for line in demo.summary:
        click.echo(line)
    return 0
