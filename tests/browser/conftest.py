"""Browser tests: a live GridWatch on its own database (demo city, committed for real), driven by
Debian's Chromium through Playwright."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from gis import schema
from gis.cases.categories import sync_categories
from gis.demo import DEMO_PASSWORD, load_demo
from tests.conftest import recreate_database, scratch_database_url

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def live_server(engine):  # engine: the embedded cluster is up
    from app import create_app

    url = scratch_database_url("browser")
    recreate_database(url)
    eng = create_engine(url)
    schema.upgrade(eng)
    with Session(eng) as session:
        sync_categories(session)
        load_demo(session)
        session.commit()
    app = create_app({"DATABASE_URL": url.render_as_string(hide_password=False)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["gridwatch.engine"].dispose()
    eng.dispose()


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
