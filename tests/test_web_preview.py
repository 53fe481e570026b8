"""The editor's preview: measures and warnings, long-poll reload on saved files, the command."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from web_helpers import WEEK, draft_issue, sent_issue

from issues.preview import GMAIL_CLIP_BYTES, PreviewServer, PreviewSession, pick_issue
from newsletter.workspace import Workspace

BAD_MJML = """<mjml><mj-head><mj-preview>{{ issue.preheader }}</mj-preview></mj-head><mj-body>
<mj-section><mj-column>
<mj-image src="https://blog.example.com/images/nothing-said.jpg"></mj-image>
<mj-text><a href="https://blog.example.com/posts/never-imported">A lost article</a>
<a href="https://news.example.com/issues/2020-W01">An issue that never was</a>
<a href="{{ issue.items[0].url }}">{{ issue.items[0].title }}</a>
<a href="https://news.example.com/issues/{{ issue.id }}">View in browser</a></mj-text>
<mj-text>{{ padding }}</mj-text>
</mj-column></mj-section></mj-body></mjml>
"""


def _override(ws: Workspace, monkeypatch, *, padding: int = 0) -> tuple[Workspace, Path]:
    folder = ws.root / "mytemplates"
    folder.mkdir(exist_ok=True)
    (folder / "issue.mjml.j2").write_text(BAD_MJML.replace("{{ padding }}", "Lorem ipsum " * padding))
    (folder / "issue.txt.j2").write_text("{{ issue.subject }}\n\nNo way out in this one.\n")
    monkeypatch.setenv("NEWSLETTER_PATHS_TEMPLATES", str(folder))
    return Workspace(ws.root), folder


def _get_json(url: str, timeout: float = 40) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def _until(predicate, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_the_built_in_issue_has_no_warnings(workspace: Workspace) -> None:
    report = PreviewSession(workspace, draft_issue(workspace)).report()
    assert report.warnings == []
    assert 5_000 < report.html_bytes < GMAIL_CLIP_BYTES
    assert report.subject.startswith("Weekly Training Notes #1")
    assert "[[nl:" not in report.html and "reader@example.com" in report.text


def test_warnings_name_what_to_fix(workspace: Workspace, monkeypatch) -> None:
    draft_issue(workspace)
    ws, _ = _override(workspace, monkeypatch)
    warnings = PreviewSession(ws, WEEK).report().warnings
    kinds = [w.kind for w in warnings]
    messages = " | ".join(w.message for w in warnings)
    assert kinds.count("image_alt") == 1 and "nothing-said.jpg" in messages
    assert "posts/never-imported" in messages and "issues/2020-W01" in messages
    assert kinds.count("link") == 2  # the imported article and this issue's own page resolve
    assert kinds.count("unsubscribe") == 2  # neither the HTML nor the text has one
    assert "size" not in kinds


def test_a_heavy_issue_is_flagged_against_gmail_clipping(workspace: Workspace, monkeypatch) -> None:
    draft_issue(workspace)
    ws, _ = _override(workspace, monkeypatch, padding=10_000)
    report = PreviewSession(ws, WEEK).report()
    assert report.html_bytes > GMAIL_CLIP_BYTES
    assert any(w.kind == "size" and "Gmail clips" in w.message for w in report.warnings)


def test_the_latest_draft_is_previewed_by_default(workspace: Workspace) -> None:
    from web_helpers import write_articles

    from issues.build import build_issue
    from newsletter.articles import import_sources

    sent_issue(workspace)
    article = workspace.articles_dir / "earlier.md"
    article.write_text("---\ntitle: 'An earlier week'\ndate: '2026-11-10T08:00:00-05:00'\n"
                       "url: 'https://blog.example.com/posts/earlier'\n---\n\nEasy miles first.\n")
    import_sources(workspace, [article, *write_articles(workspace)])
    build_issue(workspace, "2026-W46")
    assert pick_issue(workspace) == "2026-W46"  # the draft, though an issue was sent since
    assert pick_issue(workspace, "2026-W47") == "2026-W47"
    with pytest.raises(Exception, match="no issue"):
        pick_issue(workspace, "2025-W01")


def test_server_reloads_after_a_template_change(workspace: Workspace, monkeypatch) -> None:
    draft_issue(workspace)
    ws, folder = _override(workspace, monkeypatch)
    with PreviewServer(ws, WEEK, port=0) as server:
        assert server.server.server.socket.getsockname()[0] == "127.0.0.1"
        first = _get_json(server.url + "report.json")
        page = urllib.request.urlopen(server.url).read().decode()
        assert 'id="frame-desktop"' in page and 'id="frame-phone"' in page and "Text version" in page
        assert "no unsubscribe link" in page
        template = folder / "issue.txt.j2"
        template.write_text("{{ issue.subject }}\n\nLeave any time: {{ reader.unsubscribe_url }}\n")
        changed = _get_json(server.url + f"changes?since={first['version']}")  # long poll returns on the save
        assert changed["version"] > first["version"]
        after = _get_json(server.url + "report.json")
        assert sum(w["kind"] == "unsubscribe" for w in after["warnings"]) == 1  # the text has one now


def test_server_reimports_a_saved_article(workspace: Workspace) -> None:
    draft_issue(workspace)
    with PreviewServer(workspace, WEEK, port=0) as server:
        version = _get_json(server.url + "report.json")["version"]
        article = workspace.articles_dir / "hill-repeats.md"
        article.write_text(article.read_text().replace("Hill repeats without the dread", "Hill repeats, revised"))
        _until(lambda: _get_json(server.url + f"changes?since={version}")["version"] > version)
        email = urllib.request.urlopen(server.url + "email").read().decode()
        assert "Hill repeats, revised" in email


def test_a_sent_issue_shows_its_stored_copy(workspace: Workspace, monkeypatch) -> None:
    issue_id = sent_issue(workspace)
    ws, _ = _override(workspace, monkeypatch)  # later template edits do not change a sent issue
    report = PreviewSession(ws, issue_id).report()
    assert report.issue.status == "sent" and report.warnings == []
    with PreviewServer(ws, issue_id, port=0, watch_files=False) as server:
        page = urllib.request.urlopen(server.url).read().decode()
        assert "This issue is frozen" in page


def test_preview_command(cli, workspace: Workspace, monkeypatch) -> None:
    import issues.cli.web as cli_web

    failed = cli("preview", "--no-browser", "--port", "0")
    assert failed.exit_code == 1 and "no issue yet" in str(failed.exception or failed.output)
    draft_issue(workspace)
    opened, pages = [], []
    monkeypatch.setattr(cli_web.webbrowser, "open", opened.append)
    monkeypatch.setattr(cli_web, "wait_until_interrupted",
                        lambda server: pages.append(urllib.request.urlopen(server.url).read().decode()))
    result = cli("preview", "--no-browser", "--port", "0")
    assert result.exit_code == 0, result.output
    assert "Previewing 2026-W47 at http://127.0.0.1:" in result.output
    assert opened == [] and "Hill repeats without the dread" in pages[0]
    assert cli("preview", "2026-W47", "--port", "0").exit_code == 0
    assert opened and opened[0].startswith("http://127.0.0.1:")


def test_serve_command(cli, monkeypatch) -> None:
    import newsletter.web

    served = {}

    class Server:
        def run(self) -> None:
            served["ran"] = True

        def close(self) -> None:
            served["closed"] = True

    def make_server(app, host, port, **options):
        served.update(app=app, host=host, port=port, **options)
        return Server()

    monkeypatch.setattr(newsletter.web, "make_server", make_server)
    result = cli("serve", "--port", "9090")
    assert result.exit_code == 0, result.output
    assert served["ran"] and served["closed"] and result.output.rstrip().endswith("Stopped.")
    assert served["host"] == "127.0.0.1" and served["port"] == 9090 and served["threads"] == 32
    assert served["max_request_body_size"] >= 65536
    assert served["app"].test_client().get("/healthz").status_code == 200
    help_text = cli("serve", "--help").output
    assert "Example:" in help_text and "waitress-serve --call issues.web.app:create_app" in help_text


def test_a_rebuild_from_another_terminal_reloads_the_preview(workspace: Workspace) -> None:
    from issues.build import build_issue

    draft_issue(workspace)
    session = PreviewSession(workspace, WEEK)
    assert session.wait_for_change(session.version, timeout=0.5) == session.version  # nothing happened
    time.sleep(1.1)  # built_at has one-second resolution
    build_issue(workspace, WEEK)
    assert session.wait_for_change(1, timeout=10) == 2
