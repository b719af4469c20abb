"""Patrols over HTTP and the CLI: live pings from the phone, GPX uploads, coverage JSON and page."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import func, select, text

from gis.models import PatrolPoint, PatrolTrack, StreetLine
from tests.factories import CELL, ORIGIN, bearer
from tests.gpx import gpx_file, walk

# across the town's two southern grids, west to east, at 0.00013° (≈ 10 m) every 10 s
START = (ORIGIN[0] + 0.0002, ORIGIN[1] + 0.5 * CELL)
EAST = (0.00013, 0.0)


def recent():
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)


def pings(t0, count=10, start=START):
    return [
        {"lon": lon, "lat": lat, "time": t.isoformat(), "accuracy": 8}
        for lon, lat, t, _ in walk(start, EAST, count, t0=t0)
    ]


def test_a_live_patrol_from_start_to_end(client, town, make_user, session):
    worker = make_user("grid_worker", grids=town["grids"][:2])
    started = client.post("/api/v1/patrols", json={"name": "晚间巡逻"}, headers=bearer(worker))
    assert started.status_code == 201
    track = started.get_json()
    t0 = recent()
    sent = client.post(track["points_url"], json={"points": pings(t0, 20)}, headers=bearer(worker))
    assert sent.status_code == 200 and sent.get_json()["accepted"] == 20

    # the phone lost the answer and sends the same batch again: nothing is stored twice
    again = client.post(track["points_url"], json={"points": pings(t0, 20)}, headers=bearer(worker))
    assert again.get_json()["accepted"] == 0
    assert again.get_json()["dropped"]["duplicate"]["count"] == 1
    assert again.get_json()["dropped"]["late"]["count"] == 19

    # a jump of 1 km in 10 s and a vague fix are dropped; epoch milliseconds are understood
    later = t0 + dt.timedelta(seconds=200)
    bad = [
        {"lon": START[0] + 0.013, "lat": START[1], "time": later.timestamp() * 1000, "accuracy": 5},
        {"lon": START[0] + 0.0013, "lat": START[1], "time": later.isoformat(), "accuracy": 500},
    ]
    body = client.post(track["points_url"], json={"points": bad}, headers=bearer(worker)).get_json()
    assert body["accepted"] == 0 and set(body["dropped"]) == {"speed", "accuracy"}

    # 20 minutes later: a new segment of the same patrol
    resumed = client.post(
        track["points_url"], json={"points": pings(t0 + dt.timedelta(minutes=20), 3)}, headers=bearer(worker)
    ).get_json()
    assert resumed["accepted"] == 3 and resumed["new_segment"]
    segments = session.scalars(
        select(func.count(func.distinct(PatrolPoint.segment))).where(PatrolPoint.track_id == track["id"])
    ).one()
    assert segments == 2

    ended = client.post(track["end_url"], headers=bearer(worker))
    assert ended.status_code == 200
    body = ended.get_json()
    assert body["ended_at"] is not None
    assert {g["code"] for g in body["coverage"]["grids"]} == {town["grids"][0].code, town["grids"][1].code}
    assert all(g["minutes"] > 0 for g in body["coverage"]["grids"])
    # ending twice is harmless; pinging an ended patrol is refused
    assert client.post(track["end_url"], headers=bearer(worker)).status_code == 200
    late = client.post(
        track["points_url"], json={"points": pings(t0 + dt.timedelta(hours=1), 1)}, headers=bearer(worker)
    )
    assert late.status_code == 409 and "ended" in late.get_json()["error"]


def test_pings_are_checked(client, town, make_user):
    worker, other = make_user("grid_worker"), make_user("grid_worker")
    url = client.post("/api/v1/patrols", json={}, headers=bearer(worker)).get_json()["points_url"]
    t = recent().isoformat()
    cases = [
        ({"points": [{"lon": 84.9, "lat": 44.3}]}, 422, "time"),
        ({"points": [{"lon": "east", "lat": 44.3, "time": t}]}, 422, "must be a number"),
        ({"points": [{"lon": 84.9, "lat": 44.3, "time": "yesterday"}]}, 422, "ISO 8601"),
        ({"points": [{"lon": 84.9, "lat": 44.3, "time": "2026-11-23T08:00:00"}]}, 422, "time zone"),
        ({"points": []}, 422, "points"),
    ]
    for body, status, words in cases:
        response = client.post(url, json=body, headers=bearer(worker))
        assert response.status_code == status and words in response.get_json()["error"], body
    stranger = client.post(url, json={"points": pings(recent(), 1)}, headers=bearer(other))
    assert stranger.status_code == 404  # another's patrol is, to them, none at all
    missing = client.post(
        "/api/v1/patrols/999999/points", json={"points": pings(recent(), 1)}, headers=bearer(worker)
    )
    assert missing.status_code == 404


def _upload(client, uploader, text, **form):
    data = {"file": (io.BytesIO(text.encode()), "walk.gpx"), **form}
    return client.post(
        "/api/v1/patrols/gpx", data=data, headers=bearer(uploader), content_type="multipart/form-data"
    )


def test_gpx_upload_reports_its_cleaning_and_the_grids_passed(client, town, make_user, session):
    worker = make_user("grid_worker")
    fixes = walk(START, EAST, 20, t0=recent())
    fixes[4] = (fixes[4][0] + 0.02, fixes[4][1], fixes[4][2], None)  # a GPS jump
    response = _upload(client, worker, gpx_file([fixes]))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["cleaning"]["fixes_kept"] == 19 and body["cleaning"]["dropped"]["speed"]["count"] == 1
    assert body["coverage"]["grids_total"] == 2
    assert session.get(PatrolTrack, body["id"]).user_id == worker.id


def test_gpx_upload_refuses_garbage_and_other_peoples_tracks(client, town, make_user, session):
    worker, colleague = make_user("grid_worker"), make_user("grid_worker")
    before = session.scalar(select(func.count()).select_from(PatrolTrack))
    garbage = _upload(client, worker, "<gpx><trk>")
    assert garbage.status_code == 422 and "GPX" in garbage.get_json()["error"]
    for_other = _upload(
        client, worker, gpx_file([walk(START, EAST, 5, t0=recent())]), user=colleague.username
    )
    assert for_other.status_code == 403
    assert session.scalar(select(func.count()).select_from(PatrolTrack)) == before
    supervisor = make_user("supervisor")
    done = _upload(client, supervisor, gpx_file([walk(START, EAST, 5, t0=recent())]), user=colleague.username)
    assert done.status_code == 201 and done.get_json()["user_id"] == colleague.id


def test_coverage_api_and_layers(client, town, make_user):
    worker = make_user("grid_worker")
    _upload(client, worker, gpx_file([walk(START, EAST, 20, t0=recent())]))
    response = client.get("/api/v1/coverage?radius=30", headers=bearer(worker))
    assert response.status_code == 200
    body = response.get_json()
    assert body["grids_total"] == 4 and body["grids_visited"] == 2 and body["hours"] == 24
    visited = [g for g in body["grids"] if g["minutes"]]
    assert all(0 < g["area_share"] < 1 and g["hours_visited"] for g in visited)
    bbox = f"{ORIGIN[0]},{ORIGIN[1]},{ORIGIN[0] + 2 * CELL},{ORIGIN[1] + 2 * CELL}"
    tracks = client.get(f"/api/v1/layers/tracks.geojson?bbox={bbox}", headers=bearer(worker)).get_json()
    assert len(tracks["features"]) == 1 and tracks["features"][0]["properties"]["timed"]
    gaps = client.get(f"/api/v1/coverage/gaps.geojson?bbox={bbox}", headers=bearer(worker)).get_json()
    assert gaps["features"] == []  # no street layer imported

    for query, words in [
        ("radius=abc", "must be a number"),
        ("radius=0", "radius"),
        ("from=soon", "time like"),
        ("from=2026-11-23&to=2026-11-22", "before"),
    ]:
        bad = client.get(f"/api/v1/coverage?{query}", headers=bearer(worker))
        assert bad.status_code == 422 and words in bad.get_json()["error"], query


def test_coverage_page_shows_the_hour_check_and_unvisited_grids(client, town, make_user, login):
    supervisor = make_user("supervisor")
    _upload(client, supervisor, gpx_file([walk(START, EAST, 20, t0=recent())]))
    html = login(supervisor).get("/coverage").get_data(as_text=True)
    assert "24-hour check" in html and 'id="hour-table"' in html
    assert "第3网格" in html and "第4网格" in html  # the northern grids had nobody
    assert "2 of 4 grids had a patrol" in html
    assert "/static/js/coverage.js" in html and "cdn" not in html.lower()


def test_cli_imports_a_track_and_says_what_was_dropped(runner, town, make_user, tmp_path, session):
    worker = make_user("grid_worker")
    fixes = walk(START, EAST, 12, t0=recent())
    fixes[3] = (fixes[3][0], fixes[3][1], fixes[3][2], 30.0)  # HDOP 30 → 150 m
    path = tmp_path / "walk.gpx"
    path.write_text(gpx_file([fixes], version="1.0"))
    result = runner.invoke(["import", "tracks", str(path), "--user", worker.username])
    assert result.exit_code == 0, result.output
    assert "11 of 12 fixes kept" in result.output and "accuracy worse than the limit" in result.output
    assert "passing 2 grid(s)" in result.output
    missing = runner.invoke(["import", "tracks", str(path), "--user", "nobody"])
    assert missing.exit_code == 1 and "no user 'nobody'" in missing.output
    session.execute(text("UPDATE patrol_tracks SET reach_radius_m = NULL"))  # as after a grid import
    rebuilt = runner.invoke(["patrols", "store-reach"])
    assert rebuilt.exit_code == 0 and "stored the reach of 1 track(s)" in rebuilt.output, rebuilt.output


def test_cli_imports_streets_and_refuses_polygons(runner, tmp_path, session, town):
    import geopandas as gpd
    from shapely.geometry import LineString, box

    lines = gpd.GeoDataFrame(
        {"路名": ["天山路"]}, geometry=[LineString([(84.9, 44.3), (84.904, 44.3)])], crs=4326
    )
    lines.to_file(tmp_path / "roads.geojson")
    result = runner.invoke(["import", "streets", str(tmp_path / "roads.geojson")])
    assert result.exit_code == 0, result.output
    assert session.scalar(select(StreetLine.name)) == "天山路"
    polygons = gpd.GeoDataFrame({"n": [1]}, geometry=[box(84.9, 44.3, 84.91, 44.31)], crs=4326)
    polygons.to_file(tmp_path / "blocks.geojson")
    refused = runner.invoke(["import", "streets", str(tmp_path / "blocks.geojson")])
    assert refused.exit_code == 1 and "needs lines" in refused.output
