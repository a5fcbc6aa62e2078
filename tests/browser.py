"""A real headless browser for tests: Debian's Chromium, driven by Playwright (no download).

Playwright's own browser download cannot be reached here, so it launches the system Chromium
(the ``chromium`` Debian package; ``.ci/run`` installs it) by its executable path, with no
sandbox (tests run as root), no GPU and no network chatter.

- ``with launch() as browser:`` a Playwright ``Browser`` for the ``with`` block;
  ``offline_page(browser)`` a page that refuses (and records) every request off this machine.
- ``with browser_page() as page:`` a fresh page in a fresh browser, downloads allowed, offline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("REPRO_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL = ("file:", "blob:", "data:", "about:")


def chromium_path() -> str:
    """The system Chromium; a clear failure (not a skip) when it is missing."""
    path = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    if not path:
        raise RuntimeError(f"{CHROMIUM} not found: install Debian's chromium package "
                           "(apt-get install -y chromium; .ci/run does)")
    return path


@contextlib.contextmanager
def launch() -> Iterator[Any]:
    """A headless Chromium for the length of the ``with`` block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _refuse_remote(target: Any, page: Any) -> None:
    page.blocked = []

    def route(r: Any) -> None:
        if r.request.url.startswith(LOCAL):
            r.continue_()
        else:
            page.blocked.append(r.request.url)
            r.abort()

    target.route("**/*", route)


def offline_page(browser: Any) -> Any:
    """A page in a fresh context that refuses every request off this machine, and records
    them in ``page.blocked``: a page that works offline makes none."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(5000)
    _refuse_remote(page, page)
    return page


@contextlib.contextmanager
def browser_page(downloads: bool = True, offline: bool = True) -> Iterator[Any]:
    """A fresh page in a fresh headless Chromium; with ``offline``, every request that is not
    local is aborted and recorded in ``page.blocked``; page errors land in ``page.errors``."""
    with launch() as browser:
        context = browser.new_context(accept_downloads=downloads)
        page = context.new_page()
        page.blocked = []
        if offline:
            _refuse_remote(context, page)
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        yield page
        context.close()
