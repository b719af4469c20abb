"""Test fixtures: a real PostGIS, schema from the migrations once per run, each test rolled back.

The database is ``<name>_test`` on the server GridWatch uses (the embedded cluster unless
DATABASE_URL is set), or TEST_DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gis import schema
from gis.cases.categories import sync_categories
from gis.embedded_postgres import EmbeddedPostgres, database_url

pytest_plugins = ["tests.factories"]  # make_area, make_user, town, … (small callables)

# Tests read English unless they ask for Chinese (tests/test_i18n.py, the browser tests in both).
os.environ["LOCALE"] = "en"


@pytest.fixture(scope="session", autouse=True)
def english_by_default():
    from gis import i18n

    i18n.set_default_locale("en")


def scratch_database_url(suffix: str = "test"):
    if os.environ.get("TEST_DATABASE_URL"):
        url = make_url(os.environ["TEST_DATABASE_URL"])
        return url.set(database=f"{url.database}_{suffix}" if suffix != "test" else url.database)
    url = make_url(database_url())
    return url.set(database=f"{url.database}_{suffix}")


def recreate_database(url, template: str | None = None) -> None:
    """Drop and create ``url``'s database (from ``template`` when given), with PostGIS."""
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :d AND pid <> pg_backend_pid()"
            ),
            {"d": url.database},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))
        conn.execute(
            text(f'CREATE DATABASE "{url.database}"' + (f' TEMPLATE "{template}"' if template else ""))
        )
    admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Tests make hundreds of users; scrypt would cost seconds. Production keeps scrypt."""
    from gis import accounts

    accounts.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


@pytest.fixture(scope="session")
def engine():
    if not os.environ.get("DATABASE_URL") and not os.environ.get("TEST_DATABASE_URL"):
        EmbeddedPostgres().up()
    url = scratch_database_url()
    recreate_database(url)
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    schema.upgrade(eng)
    with Session(eng) as s:
        sync_categories(s)
        s.commit()
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine):
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def committed(engine):
    """A session whose commits are real, for the few tests that need another connection to see
    their rows (every other test's rows are rolled back); what they wrote is removed afterwards."""
    try:
        with Session(engine, expire_on_commit=False) as s:
            yield s
    finally:
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE areas, users, departments, reports RESTART IDENTITY CASCADE"))


def _session_on(connection) -> Session:
    return Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(connection):
    with _session_on(connection) as s:
        yield s


@pytest.fixture
def app(connection, engine):
    from app import create_app

    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SESSION_FACTORY": lambda: _session_on(connection),
            # one connection for the whole test: an import job runs before its request answers
            # (tests/browser runs them in threads, as a server does)
            "JOBS_INLINE": True,
        }
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    """Runs the real ``gridwatch`` command group against the test app (and its transaction)."""
    from app.cli import main

    cli_runner = app.test_cli_runner()

    class Runner:
        @staticmethod
        def invoke(args):
            return cli_runner.invoke(main, args=args)

    return Runner()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def login(client):
    """Log ``user`` in through the real form (CSRF and all); returns the client."""

    def do(user, password="correct-horse-battery"):
        page = client.get("/login").get_data(as_text=True)
        response = client.post(
            "/login", data={"username": user.username, "password": password, "csrf_token": csrf_from(page)}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return do


@contextlib.contextmanager
def demo_server(suffix: str):
    """A live GridWatch (threads, as a server runs) on its own database ``<test db>_<suffix>``
    holding the demo city, committed for real: yields its base URL and that database's engine."""
    from werkzeug.serving import make_server

    from app import create_app
    from gis.demo import load_demo

    url = scratch_database_url(suffix)
    recreate_database(url)
    eng = create_engine(url)
    schema.upgrade(eng)
    with Session(eng) as session:
        sync_categories(session)
        load_demo(session)
        session.commit()
    app = create_app({"DATABASE_URL": url.render_as_string(hide_password=False)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", eng
    finally:
        server.shutdown()
        app.extensions["gridwatch.engine"].dispose()
        eng.dispose()
