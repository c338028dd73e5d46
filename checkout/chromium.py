"""How the app's own tools (the designers' preview, ``pci watch``) start Debian's Chromium
through Playwright: never a downloaded browser."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextmanager
def launch() -> Iterator:
    """Debian's Chromium (or ``CHECKOUT_CHROMIUM``) through Playwright."""
    try:  # a dev dependency: only these commands need it, not the server
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise click.ClickException("this command needs Playwright: pip install -e '.[dev]'") from None
    executable = os.environ.get("CHECKOUT_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(executable):
        raise click.ClickException(f"Chromium not found at {executable}: run `make chromium` "
                                   "or set CHECKOUT_CHROMIUM")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
