"""A real headless browser for tests: Debian's Chromium driven by Playwright.

Playwright's own browser download cannot be reached here, so it launches the system
Chromium (``apt-get install chromium``; ``.ci/run`` installs it) by its executable path.
Use it as a context manager::

    with browser_page() as page:
        page.goto(Path("sheet.html").resolve().as_uri())
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    """The system Chromium; a clear failure (not a skip) when it is missing."""
    path = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    if not path:
        raise RuntimeError(f"{CHROMIUM} not found: install it with 'apt-get install -y "
                           "chromium' (.ci/run does)")
    return path


@contextlib.contextmanager
def browser_page(downloads: bool = True, offline: bool = True) -> Iterator:
    """A fresh page in a fresh headless Chromium; with ``offline``, every request that is
    not a ``file:`` or ``blob:``/``data:`` URL is aborted and recorded in ``page.blocked``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS, headless=True)
        try:
            context = browser.new_context(accept_downloads=downloads)
            page = context.new_page()
            page.blocked = []
            if offline:
                def route(r):
                    url = r.request.url
                    if url.startswith(("file:", "blob:", "data:")):
                        r.continue_()
                    else:
                        page.blocked.append(url)
                        r.abort()

                context.route("**/*", route)
            page.errors = []
            page.on("pageerror", lambda e: page.errors.append(str(e)))
            yield page
            context.close()
        finally:
            browser.close()
