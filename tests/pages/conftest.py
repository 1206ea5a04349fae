"""Browser fixtures: Debian's chromium driven by Playwright over the API fixtures' real server.

The seeded chain, the really indexed mirror and the uvicorn server are the API tests' own
(tests/api/conftest.py); the pages run on the SQLite mirror only (the API tests cover both
databases, and the pages read through the same route functions). Where /usr/bin/chromium is
missing the tests skip saying so, except under CI, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.api import conftest as api
from tests.api.conftest import Server

# The API tests' fixtures, shared: their anvil with the seeded demo, its indexed mirror, the served
# app, a client.
anvil = api.anvil
w3 = api.w3
deployment = api.deployment
demo = api.demo
seeded = api.seeded
mirror = api.mirror
client = api.client
postgres_unavailable = api.postgres_unavailable

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def api_backend() -> str:
    """The pages run over the SQLite mirror (the API tests run both databases)."""
    return "sqlite"


@pytest.fixture(scope="module")
def server(mirror: api.Mirror, seeded: api.Seeded) -> Iterator[Server]:
    """The API tests' server, given the demo's dossier folder, so asset pages show the scorecard."""
    settings = api.api_settings(mirror, dossier_dir=Path(seeded.result.dossier_dir))
    with Server(settings) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _missing(
            f"no browser at {CHROMIUM}: install Debian's chromium (apt-get install chromium) to run the page tests"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A fresh tab (own cookies, no cache) on the served site, 1280 px wide."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE.exists():
        _missing(f"axe-core is not installed ({AXE}): run npm install")
    return AXE
