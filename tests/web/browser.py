"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright for Python.

Never ``playwright install``: the browser is the system's. ``offline_page`` aborts every
request that would leave 127.0.0.1 and records it in ``page.gf_blocked`` — the pages must
load fully with that list empty. Screenshots go to ``test-output/screenshots/`` (the README
names it); each page is shot in both languages by the tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("GONGFANG_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return (parts.hostname or "") in LOCAL_HOSTS


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the session (Playwright's sync API)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        msg = f"Chromium not found at {CHROMIUM} (bash scripts/test.sh installs Debian's chromium)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


@pytest.fixture
def offline_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """``offline_page(width=1280, height=800, lang=None)`` → a page in a fresh context whose
    requests outside 127.0.0.1 are aborted and listed in ``page.gf_blocked``."""
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 800, **context_args: Any) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height},
                                  accept_downloads=True, **context_args)
        contexts.append(ctx)
        page = ctx.new_page()
        blocked: list[str] = []

        def route(r: Any) -> None:
            if _is_local(r.request.url):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        page.gf_blocked = blocked
        page.gf_console_errors = []
        page.on("console", lambda m: m.type == "error" and page.gf_console_errors.append(m.text))
        page.on("pageerror", lambda e: page.gf_console_errors.append(str(e)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    """``shot(page, name)`` saves a full-page PNG under test-output/screenshots/."""

    def take(page: Any, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
