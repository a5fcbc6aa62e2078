"""A real headless browser for tests: Debian's Chromium, driven by Playwright (no download).

``with launch() as browser:`` gives a Playwright ``Browser`` on ``/usr/bin/chromium`` (the
``chromium`` Debian package; ``.ci/run`` installs it), started with no sandbox (tests run as
root), no GPU and no network chatter. Playwright's own browser download is never used.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

CHROMIUM = os.environ.get("REPRO_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def launch() -> Iterator[Any]:
    """A headless Chromium for the length of the ``with`` block."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} not found: install Debian's chromium package "
                           "(apt-get install -y chromium; .ci/run does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def offline_page(browser: Any) -> Any:
    """A page in a fresh context that refuses every request off this machine, and records
    them: a page that works offline makes none."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(5000)
    page.blocked = []  # type: ignore[attr-defined]

    def route(r: Any) -> None:
        if r.request.url.startswith(("file:", "data:", "about:")):
            r.continue_()
        else:
            page.blocked.append(r.request.url)  # type: ignore[attr-defined]
            r.abort()

    page.route("**/*", route)
    return page
