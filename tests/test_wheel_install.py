"""The built wheel works outside the checkout: templates and samples come from the installed packages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_wheel_runs_the_pipeline_from_outside_the_checkout(tmp_path: Path) -> None:
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(REPO)],
        check=True, capture_output=True,
    )
    (wheel,) = wheels.glob("newsletter_pipeline-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True, capture_output=True,
    )
    assert not (site / "templates").exists() and (site / "newsletter_templates" / "issue.mjml.j2").is_file()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["PYTHONPATH"] = str(site)  # the installed copy wins over the editable checkout
    script = (
        "import sys, newsletter, newsletter.templating as t;"
        "from newsletter.samples import ARTICLES_DIR;"
        f"assert newsletter.__file__.startswith({str(site)!r}), newsletter.__file__;"
        "assert t.builtin_templates_dir().name == 'newsletter_templates';"
        "import cli;"
        "sys.argv = ['newsletter', *sys.argv[1:]]; cli.entry_point()"
    )

    def newsletter(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", script, *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    steps = [
        ("init", "ws"),
        ("-w", "ws", "articles", "import", "__SAMPLES__"),
        ("-w", "ws", "issue", "build", "--week", "2026-W47"),
        ("-w", "ws", "issue", "render", "2026-W47", "--out", "out"),
    ]
    samples = subprocess.run(
        [sys.executable, "-c", "from newsletter.samples import ARTICLES_DIR; print(ARTICLES_DIR)"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert samples.startswith(str(site))
    for step in steps:
        done = newsletter(*(samples if a == "__SAMPLES__" else a for a in step))
        assert done.returncode == 0, (step, done.stderr)
    html = (tmp_path / "out" / "issue.html").read_text()
    assert "Weekly Training Notes" in html and "Magnesium and Muscle Cramps" in html
    assert (tmp_path / "out" / "issue.eml").is_file()
