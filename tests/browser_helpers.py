"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright, for the browser tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# Screenshots land here when WEB_SCREENSHOTS names a folder (for a person to look at the pages).
SHOTS = os.environ.get("WEB_SCREENSHOTS", "")


@contextmanager
def chromium() -> Iterator:
    """Headless Chromium, launched from the system binary."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(browser, **context_options) -> Iterator:
    """A page in a fresh context; ``page.csp_errors`` collects Content-Security-Policy complaints."""
    context_options.setdefault("viewport", {"width": 1280, "height": 900})
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.csp_errors = []
    page.on("console", lambda msg: page.csp_errors.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    try:
        yield page
    finally:
        context.close()


def shot(page, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot when WEB_SCREENSHOTS is set (for a person to look at)."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=full_page)
