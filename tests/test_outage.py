"""The database restarts under a bounded load of phones reporting: while it is down the API answers
503 with Retry-After (never another 5xx), it recovers without a restart of its own, and not one
acknowledged report is lost. A cluster of its own (not the suite's), stopped and started for real."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from gis import schema
from gis.accounts import create_user, issue_token
from gis.cases.categories import sync_categories
from gis.embedded_postgres import EmbeddedPostgres, var_dir
from gis.models import Report
from tests.factories import CELL, ORIGIN

pytestmark = pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="needs the embedded cluster")

LOAD_SECONDS = 8.0
DOWN_AT, DOWN_FOR = 2.0, 1.5


@pytest.fixture
def cluster():
    root = var_dir() / f"outage-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    pg = EmbeddedPostgres(root)
    pg.up()
    yield pg
    pg.down()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server(cluster):
    """GridWatch served over HTTP on that cluster, with a grid and a phone's token."""
    from app import create_app

    engine = create_engine(cluster.url())
    schema.upgrade(engine)
    with Session(engine) as session:
        sync_categories(session)
        session.execute(
            text("""
            INSERT INTO areas (level, code, name, geom, area_m2) VALUES
            ('grid', '650202001001001', 'g', ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)), 0)"""),
            {"x0": ORIGIN[0], "y0": ORIGIN[1], "x1": ORIGIN[0] + CELL, "y1": ORIGIN[1] + CELL},
        )
        token = issue_token(create_user(session, "phone", "grid_worker", "a long enough pass"))
        session.commit()
    app = create_app({"DATABASE_URL": cluster.url()})
    http_server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    yield http_server.server_port, token, engine
    http_server.shutdown()
    app.extensions["gridwatch.engine"].dispose()
    engine.dispose()


def _phone(port: int, token: str, until: float, log: list, lock: threading.Lock):
    """Report, and on anything but an answer send the same report again (as the phone does)."""
    conn = None
    while time.monotonic() < until:
        client_id = str(uuid.uuid4())
        body = json.dumps(
            {
                "lon": ORIGIN[0] + CELL / 2,
                "lat": ORIGIN[1] + CELL / 2,
                "category": "2301",
                "client_id": client_id,
            }
        )
        while time.monotonic() < until + 10:
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request(
                    "POST",
                    "/api/v1/reports",
                    body,
                    {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                )
                response = conn.getresponse()
                answer = response.read()
            except OSError:
                conn = None
                time.sleep(0.05)
                continue
            with lock:
                log.append(
                    (
                        time.monotonic(),
                        response.status,
                        client_id,
                        response.getheader("Retry-After"),
                        answer[:200],
                    )
                )
            if response.status in (200, 201):
                break
            time.sleep(0.1)


def test_a_database_restart_loses_no_acknowledged_report(cluster, server):
    port, token, engine = server
    log: list = []
    lock = threading.Lock()
    start = time.monotonic()
    phones = [
        threading.Thread(target=_phone, args=(port, token, start + LOAD_SECONDS, log, lock)) for _ in range(2)
    ]
    for p in phones:
        p.start()
    time.sleep(DOWN_AT)
    cluster.down()
    time.sleep(DOWN_FOR)
    cluster.up()
    back = time.monotonic()
    for p in phones:
        p.join(30)

    statuses = {status for _, status, *_ in log}
    assert statuses <= {200, 201, 503}, [entry for entry in log if entry[1] not in (200, 201, 503)][:3]
    unavailable = [entry for entry in log if entry[1] == 503]
    assert unavailable, "the restart was not seen"
    assert all(retry == "5" for *_, retry, _ in unavailable)
    acknowledged = {client_id for _, status, client_id, *_ in log if status in (200, 201)}
    recovered = min(t for t, status, *_ in log if status in (200, 201) and t > back) - back
    engine.dispose()  # this test's own connections died with the restart
    with Session(engine) as session:
        stored = set(map(str, session.scalars(select(Report.client_id))))
    lost = acknowledged - stored
    print(
        f"\noutage: {len(log)} answers, {len(acknowledged)} reports acknowledged, {len(unavailable)} × 503, "
        f"{len(lost)} acknowledged reports lost, first report accepted {recovered:.2f} s after the restart"
    )
    assert not lost
    assert recovered < 5
