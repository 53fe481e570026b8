"""``python -m demo DIR``: a fresh workspace with the samples imported, built and rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo import MARKER, main, run_demo
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


def test_the_demo_issue_shows_its_own_images_served_by_newsletter_serve(tmp_path: Path) -> None:
    """Every image in the demo's first issue is an absolute URL on the demo's public address, and the
    app that ``newsletter serve`` runs answers each one with the sample image."""
    import re

    from issues.web import create_app
    from newsletter.samples import IMAGES_DIR

    demo = run_demo(tmp_path / "demo")
    public = str(demo.workspace.settings.site.public_url)
    assert public == "http://127.0.0.1:8080"
    html = (tmp_path / "demo" / "out" / "issue.html").read_text()
    sources = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(sources) >= 4
    client = create_app(demo.workspace).test_client()
    for src in sources:
        assert src.startswith(f"{public}/media/samples/"), src
        answer = client.get(src.removeprefix(public))
        assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
        assert answer.data == (IMAGES_DIR / src.rsplit("/", 1)[1]).read_bytes()
    page = client.get(f"/issues/{demo.issue_id}").get_data(as_text=True)  # the demo's issue was sent
    assert all(src in page for src in sources)
