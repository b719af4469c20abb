"""The live feed for real (a committed case, the server's own LISTEN connection): each stream gets
the cases its viewer may open, masked as on the map, and ends when its viewer is gone."""

import json
import queue
import threading

import pytest
from sqlalchemy import text

import app.live as live
from gis.accounts import create_user, issue_token
from gis.cases.intake import submit_report
from tests.factories import CELL, ORIGIN, PASSWORD


@pytest.fixture
def real_app(committed, engine):
    from app import create_app

    application = create_app(
        {"TESTING": True, "DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    )
    yield application
    hub = application.extensions.get("gridwatch.live")
    if hub:
        hub.stop()
    application.extensions["gridwatch.engine"].dispose()


def _listen(client, token) -> queue.Queue:
    """The stream's events, read in a thread as they come: (event, data) pairs."""
    events: queue.Queue = queue.Queue()
    response = client.get("/api/v1/live", headers={"Authorization": f"Bearer {token}"}, buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"

    def read():
        name = None
        for chunk in response.response:
            for line in chunk.decode().splitlines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.put((name, json.loads(line[6:])))
        events.put(("closed", None))

    threading.Thread(target=read, daemon=True).start()
    events.response = response  # type: ignore[attr-defined]
    return events


def test_a_committed_report_reaches_whoever_may_open_it_masked(real_app, committed):
    committed.execute(
        text(
            "INSERT INTO areas (level, code, name, geom, area_m2) VALUES ('district', '650202', '区',"
            " ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)), 0)"
        ),
        {"x0": ORIGIN[0], "y0": ORIGIN[1], "x1": ORIGIN[0] + CELL, "y1": ORIGIN[1] + CELL},
    )
    admin = create_user(committed, "admin1", "admin", PASSWORD)
    supervisor = create_user(committed, "boss", "supervisor", PASSWORD)
    worker = create_user(committed, "walker", "grid_worker", PASSWORD)
    tokens = {u.username: issue_token(u) for u in (admin, supervisor, worker)}
    committed.commit()
    client = real_app.test_client()
    streams = {name: _listen(client, token) for name, token in tokens.items()}
    live.hub_of(real_app)  # listening before the case is committed
    report = submit_report(
        committed,
        lon=ORIGIN[0] + CELL / 2,
        lat=ORIGIN[1] + CELL / 2,
        category="0101",
        description="井盖坏了 电话13812345678",
    )
    committed.commit()
    name, pin = streams["boss"].get(timeout=10)
    assert name == "report" and pin["id"] == report.report_id
    assert "13812345678" in pin["properties"]["description"]  # the supervisor handles it
    name, pin = streams["admin1"].get(timeout=10)
    assert pin["id"] == report.report_id and "13812345678" not in pin["properties"]["description"]  # masked
    with pytest.raises(queue.Empty):
        streams["walker"].get(timeout=1.5)  # not in their grids: never sent
    live.hub_of(real_app).stop()  # a server stopping ends its streams
    for events in streams.values():
        while events.get(timeout=10)[0] != "closed":
            pass


def test_a_stream_ends_when_its_viewer_is_gone(real_app, committed, monkeypatch):
    monkeypatch.setattr(live, "KEEP_ALIVE_S", 0.3)
    user = create_user(committed, "leaver", "supervisor", PASSWORD)
    token = issue_token(user)
    committed.commit()
    events = _listen(real_app.test_client(), token)
    committed.execute(text("UPDATE users SET active = false WHERE id = :id"), {"id": user.id})
    committed.commit()
    assert events.get(timeout=10) == ("closed", None)
