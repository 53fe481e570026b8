"""In Chromium: the preview shows the issue at desktop and phone widths and reloads after a template change."""

from __future__ import annotations

import pytest
from browser_helpers import chromium, open_page, shot
from web_helpers import WEEK, draft_issue

from issues.preview import PreviewServer
from newsletter.workspace import Workspace

FOOTER_MARK = "Sent with care from the training room"


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


def _override_text_template(ws: Workspace, monkeypatch) -> tuple[Workspace, object]:
    """An editor's template folder holding a copy of the text template, to edit during the test."""
    from newsletter.templating import builtin_templates_dir

    folder = ws.root / "mytemplates"
    folder.mkdir()
    (folder / "issue.txt.j2").write_text((builtin_templates_dir() / "issue.txt.j2").read_text())
    monkeypatch.setenv("NEWSLETTER_PATHS_TEMPLATES", str(folder))
    return Workspace(ws.root), folder / "issue.txt.j2"


def test_preview_shows_both_widths_and_reloads_on_save(browser, workspace: Workspace, monkeypatch) -> None:
    draft_issue(workspace)
    ws, template = _override_text_template(workspace, monkeypatch)
    with PreviewServer(ws, WEEK, port=0) as server, open_page(browser, viewport={"width": 1440, "height": 1000}) as page:
        page.goto(server.url)
        desktop = page.frame_locator("#frame-desktop")
        phone = page.frame_locator("#frame-phone")
        desktop.get_by_role("link", name="Hill repeats without the dread").first.wait_for()
        phone.get_by_role("link", name="Hill repeats without the dread").first.wait_for()
        widths = page.evaluate("""[...document.querySelectorAll('.devices iframe')]
            .map(f => f.contentWindow.innerWidth)""")
        assert widths == [800, 375]
        # Both frames render side by side on a wide screen.
        tops = page.evaluate("[...document.querySelectorAll('.devices iframe')].map(f => f.getBoundingClientRect().top)")
        assert tops[0] == tops[1]
        assert "Text version" in page.inner_text("main")
        assert "of Gmail's 102 KB clipping limit" in page.inner_text("main")
        assert "No warnings" in page.inner_text("main")
        page.wait_for_timeout(300)
        shot(page, "preview")
        version = page.evaluate("document.body.dataset.version")

        with page.expect_event("load", timeout=30_000):  # the page reloads by itself
            template.write_text(template.read_text() + f"\n{FOOTER_MARK}\n")
        assert page.evaluate("document.body.dataset.version") != version
        page.get_by_text(FOOTER_MARK).wait_for()  # the reloaded page shows the new text version
        assert page.csp_errors == []


def test_preview_shows_a_broken_template_and_recovers(browser, workspace: Workspace, monkeypatch) -> None:
    draft_issue(workspace)
    ws, template = _override_text_template(workspace, monkeypatch)
    good = template.read_text()
    with PreviewServer(ws, WEEK, port=0) as server, open_page(browser) as page:
        page.goto(server.url)
        with page.expect_event("load", timeout=30_000):
            template.write_text(good + "{% if %}\n")
        page.get_by_text("The issue could not be rendered").wait_for()
        assert "issue.txt.j2" in page.inner_text("main")
        shot(page, "preview-error")
        with page.expect_event("load", timeout=30_000):
            template.write_text(good)
        page.locator("#frame-desktop").wait_for()
