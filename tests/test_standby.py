"""A hot standby (PostgreSQL streaming replication) of a cluster of the test's own: the reads it may
serve go to it, a user's own write is visible to them at once (synchronously applied, or by its
LSN when commits do not wait), /healthz says how far behind it is; and under a steady stream of
reports the primary is killed, the standby promoted, and no acknowledged report is lost."""

from __future__ import annotations

import shutil
import threading
import time
import traceback
import uuid

import pytest
from shapely.geometry import MultiPolygon, box
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from gis import schema
from gis.accounts import create_user, issue_token
from gis.cases.categories import sync_categories
from gis.embedded_postgres import PG_BIN, EmbeddedPostgres, EmbeddedReplica, var_dir
from tests.factories import CELL, ORIGIN

pytestmark = pytest.mark.skipif(
    not (PG_BIN / "pg_basebackup").exists(), reason="PostgreSQL 15 is not installed"
)
BBOX = f"{ORIGIN[0] - 0.01},{ORIGIN[1] - 0.01},{ORIGIN[0] + 0.01},{ORIGIN[1] + 0.01}"


def _town(url: str) -> str:
    """One district, street, community and grid, and a grid worker; their API token."""
    from geoalchemy2.shape import from_shape

    from gis.models import Area

    engine = create_engine(url)
    schema.upgrade(engine)
    with Session(engine) as session:
        sync_categories(session)
        outline = from_shape(
            MultiPolygon([box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + CELL, ORIGIN[1] + CELL)]), srid=4326
        )
        parent = None
        for level, code in (
            ("district", "650202"),
            ("street", "650202001"),
            ("community", "650202001001"),
            ("grid", "650202001001001"),
        ):
            parent = Area(level=level, code=code, name=code, geom=outline, area_m2=1, parent=parent)
            session.add(parent)
        session.flush()
        worker = create_user(
            session, "worker", "grid_worker", "correct-horse-battery", grid_codes=(parent.code,)
        )
        token = issue_token(worker)
        session.commit()
    engine.dispose()
    return token


@pytest.fixture
def apps():
    """The apps a test makes: their engines disposed of at its end (their servers are gone)."""
    made = []
    yield made
    for app in made:
        for name in ("gridwatch.engine", "gridwatch.replica_engine"):
            if name in app.extensions:
                app.extensions[name].dispose()


@pytest.fixture
def pair():
    """A primary with the schema and a town, and its standby (not yet started), under var/."""
    root = var_dir() / f"test-standby-{uuid.uuid4().hex[:6]}"
    primary = EmbeddedPostgres(root / "pg")
    standby = EmbeddedReplica(root / "pgr", primary=primary)
    try:
        primary.up()
        yield primary, standby, _town(primary.url())
    finally:
        for cluster in (standby, primary):
            if cluster.status() == "running":
                cluster._run([PG_BIN / "pg_ctl", "stop", "-D", cluster.data, "-m", "immediate", "-w"])
        shutil.rmtree(root, ignore_errors=True)


def _app(apps: list, standby: EmbeddedReplica, synchronous: bool):
    from app import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": standby.writes_url(),
            "DATABASE_REPLICA_URL": standby.reads_url(),
            "SYNCHRONOUS_STANDBY": synchronous,
        }
    )
    apps.append(app)
    return app


def _report(client, token: str, client_id: str | None = None, headers: dict | None = None):
    lon, lat = ORIGIN[0] + CELL / 2, ORIGIN[1] + CELL / 2
    return client.post(
        "/api/v1/reports",
        json={"lon": lon, "lat": lat, "category": "0101", "client_id": client_id or str(uuid.uuid4())},
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
    )


def _pins(client, token: str, headers: dict | None = None) -> set[int]:
    answer = client.get(
        f"/api/v1/layers/reports.geojson?bbox={BBOX}&status=",
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {f["id"] for f in answer.get_json()["features"]}


def test_reads_go_to_the_standby_and_a_users_own_write_is_theirs_at_once(pair, apps):
    _primary, standby, token = pair
    assert "copied" in standby.up(synchronous=True)
    assert standby.up(synchronous=True) == "synchronous"  # idempotent
    app = _app(apps, standby, synchronous=True)
    client = app.test_client()
    health = client.get("/healthz").get_json()
    assert health["standby"]["status"] == "streaming" and health["standby"]["synchronous"]
    # synchronous: applied on the standby before it is acknowledged, so the map (the standby's) has it
    made = _report(client, token)
    assert made.status_code == 201
    assert made.get_json()["id"] in _pins(client, token)

    # asynchronous, with the standby's replay paused: the map the standby serves is behind, and a
    # user who sends back their last write's LSN is served by the primary until it has caught up
    standby.down()  # the primary stops waiting for it
    standby.up(synchronous=False)
    app = _app(apps, standby, synchronous=False)
    client = app.test_client()
    standby.execute("postgres", "SELECT pg_wal_replay_pause()")
    assert "X-GridWatch-LSN" not in _report(client, token).headers  # a client that sends no mark gets none
    made = _report(client, token, headers={"X-GridWatch-LSN": "0/0"})  # one that keeps marks asks
    mark = made.headers["X-GridWatch-LSN"]
    own = made.get_json()["id"]
    assert own not in _pins(client, token)  # served by the paused standby: not there yet
    assert own in _pins(client, token, {"X-GridWatch-LSN": mark})  # the writer's own: the primary's
    lag = client.get("/healthz").get_json()["standby"]["replay_lag_bytes"]
    assert lag > 0
    standby.execute("postgres", "SELECT pg_wal_replay_resume()")
    for _ in range(100):
        if own in _pins(client, token):
            break
        time.sleep(0.05)
    assert own in _pins(client, token)


def test_the_primary_dies_the_standby_takes_over_and_no_acknowledged_report_is_lost(pair, apps):
    primary, standby, token = pair
    standby.up(synchronous=True)
    client = _app(apps, standby, synchronous=True).test_client()
    acknowledged: list[int] = []
    refused_at: list[float] = []
    killed = threading.Event()
    accepted_again: list[float] = []
    stop = threading.Event()
    failures: list[str] = []

    def phones():
        """Reports one after another, each retried with its client_id until acknowledged; what went
        wrong is kept for the assertion (an exception in a thread would only be a warning)."""
        try:
            send()
        except BaseException:
            failures.append(traceback.format_exc())

    def send():
        while not stop.is_set() and len(acknowledged) < 400:
            client_id = str(uuid.uuid4())
            while not stop.is_set():
                answer = _report(client, token, client_id)
                # 201 made, or 200: a retry found the report its first try committed (the primary
                # died between the commit and the answer)
                if answer.status_code in (200, 201):
                    acknowledged.append(answer.get_json()["id"])
                    if killed.is_set() and not accepted_again:
                        accepted_again.append(time.monotonic())
                    break
                assert answer.status_code == 503, answer.get_data(as_text=True)
                refused_at.append(time.monotonic())
                time.sleep(0.05)

    sender = threading.Thread(target=phones)
    sender.start()
    try:
        while len(acknowledged) < 30 and not failures:
            time.sleep(0.02)
        primary._run([PG_BIN / "pg_ctl", "stop", "-D", primary.data, "-m", "immediate", "-w"])
        killed_at = time.monotonic()
        killed.set()
        standby.promote()
        deadline = time.monotonic() + 60
        while not accepted_again and not failures and time.monotonic() < deadline:
            time.sleep(0.05)
        before = len(acknowledged)
        while len(acknowledged) < before + 10 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        sender.join(30)
    assert not failures, failures[0]
    assert accepted_again, "no report was accepted after the standby was promoted"
    engine = create_engine(standby.url())
    with engine.connect() as conn:
        stored = set(conn.execute(text("SELECT id FROM reports")).scalars())
        in_recovery = conn.execute(text("SELECT pg_is_in_recovery()")).scalar()
    engine.dispose()
    assert not in_recovery
    lost = [i for i in acknowledged if i not in stored]
    assert lost == []  # every acknowledged report is on the promoted standby
    print(
        f"\nfailover: {len(acknowledged)} acknowledged, {len(lost)} lost, "
        f"reports accepted again {accepted_again[0] - killed_at:.2f} s after the primary died"
    )
