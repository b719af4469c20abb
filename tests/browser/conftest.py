"""Browser tests: a live GridWatch on its own database (demo city, committed for real), driven by
Debian's Chromium through Playwright."""

from __future__ import annotations

import pytest

from gis.demo import DEMO_PASSWORD
from tests.conftest import demo_server

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def live_server(engine):  # engine: the embedded cluster is up
    with demo_server("browser") as (url, _engine):
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1200, "height": 800})
    pg = context.new_page()
    pg.external_requests = []
    pg.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(live_server) or r.url.startswith("data:")
            else pg.external_requests.append(r.url)
        ),
    )
    yield pg
    context.close()


@pytest.fixture
def log_in(page):
    def do(username: str = "supervisor", password: str = DEMO_PASSWORD):
        page.goto("/login")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return do
