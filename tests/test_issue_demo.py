"""``python -m issues.demo DIR``: a fresh workspace with the samples imported, built and rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from issues.demo import MARKER, main, run_demo
from newsletter.errors import ConfigError


def test_demo_builds_and_renders_the_latest_sample_week(tmp_path: Path, capsys) -> None:
    root = tmp_path / "demo"
    demo = run_demo(root)
    assert demo.issue_id == "2026-W47"
    for name in ("issue.html", "issue.txt", "issue.eml"):
        assert (root / "out" / name).stat().st_size > 500
    html = (root / "out" / "issue.html").read_text()
    assert "Weekly Training Notes" in html and "[[nl:" not in html
    assert f"file://{root / 'out' / 'issue.html'}" in demo.summary[0]

    (root / "leftover.txt").write_text("from the last run")
    assert main([str(root)]) == 0  # a second run starts afresh
    assert not (root / "leftover.txt").exists()
    assert "Open the issue in a browser" in capsys.readouterr().out


def test_demo_never_removes_a_folder_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="is not a demo workspace"):
        run_demo(precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    assert not (precious / MARKER).exists()
