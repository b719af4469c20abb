"""Patrol coverage checked against figures worked out by hand on simple geometry.

Two 200 m × 200 m grids side by side, A and B, drawn in UTM 45N (the projection coverage measures
in) so they are exact squares there. A patroller walks a straight street along their middle line
at 1 m/s, one fix every 10 s, from 100 m west of A to 100 m into B. With r = 30 m:
- A: a 60 m × 200 m band is covered → 12,000 / 40,000 m² = 30 %; B: 60 × 100 plus a half disc
  (π·30²/2) → (6,000 + 1,413.7) / 40,000;
- the middle street: all 200 m in A; in B up to 30 m past the walk's end → 130 / 200;
  a second street in A, 80 m north of the walk, is not covered → A's street share 200 / 400;
- minutes: 200 s inside A, 100 s inside B;
- buildings: one 25 m from the walk (passed), one 35 m away (not).
"""

from __future__ import annotations

import datetime as dt
import json
import math

import geopandas as gpd
import pytest
from shapely.geometry import LineString, box
from sqlalchemy import text

from gis.areas.crs import reproject, transformer
from gis.areas.importer import import_areas, import_streets
from gis.errors import Invalid
from gis.models import PatrolReach
from gis.patrols.coverage import (
    Window,
    grid_coverage,
    grids_near_track,
    store_missing_reach,
    store_reach,
    uncovered_streets_geojson,
)
from gis.patrols.tracks import import_gpx
from tests.gpx import gpx_file

UTM45 = 32645
E0, N0 = (round(v) for v in transformer(4326, UTM45).transform(84.90, 44.30))
CODE_A, CODE_B, CODE_C = "650202001001001", "650202001001002", "650202001001003"


def lonlat(x, y):
    return transformer(UTM45, 4326).transform(x, y)


def metric(geom):
    return reproject(geom, UTM45, 4326)


@pytest.fixture
def t0():
    """Two hours ago, on a whole minute (coverage cuts walks into clock minutes)."""
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    return now - dt.timedelta(hours=2)


@pytest.fixture
def field(session, make_area, make_building, make_user, tmp_path, t0):
    a = make_area("grid", CODE_A, metric(box(E0, N0, E0 + 200, N0 + 200)), "A")
    b = make_area("grid", CODE_B, metric(box(E0 + 200, N0, E0 + 400, N0 + 200)), "B")
    c = make_area("grid", CODE_C, metric(box(E0 + 2000, N0, E0 + 2200, N0 + 200)), "C")
    make_building(metric(box(E0 + 95, N0 + 135, E0 + 105, N0 + 145)), a, name="35 m away")
    make_building(metric(box(E0 + 45, N0 + 65, E0 + 55, N0 + 75)), a, name="25 m away")
    streets = gpd.GeoDataFrame(
        {"name": ["中心路", "北路"]},
        geometry=[
            metric(LineString([(E0, N0 + 100), (E0 + 400, N0 + 100)])),
            metric(LineString([(E0, N0 + 180), (E0 + 200, N0 + 180)])),
        ],
        crs=4326,
    )
    streets.to_file(tmp_path / "streets.geojson")
    import_streets(session, tmp_path / "streets.geojson")
    walker = make_user("grid_worker")
    walk = [
        (*lonlat(E0 - 100 + 10 * i, N0 + 100), t0 + dt.timedelta(seconds=10 * i), None) for i in range(41)
    ]
    track = import_gpx(session, gpx_file([walk]), walker)
    # a route without times over C: drawn, never counted
    route = [(*lonlat(E0 + 2000 + 10 * i, N0 + 100), None, None) for i in range(21)]
    import_gpx(session, gpx_file([route]), walker)
    return {"track": track, "grids": (a, b, c)}


def by_code(coverage):
    return {g["code"]: g for g in coverage.grids}


def test_coverage_figures_match_the_hand_computed_ones(session, field, t0):
    window = Window(t0 - dt.timedelta(hours=1), t0 + dt.timedelta(hours=23))
    result = grid_coverage(session, window)
    a, b, c = (by_code(result)[code] for code in (CODE_A, CODE_B, CODE_C))

    assert a["area_m2"] == pytest.approx(40_000, rel=1e-3)
    assert a["area_share"] == pytest.approx(0.30, abs=0.002)
    half_disc = math.pi * 30**2 / 2  # the buffer draws it with 16 segments a circle: 2.6 % less
    assert b["area_covered_m2"] == pytest.approx(6_000 + half_disc, rel=0.01)

    assert a["street_m"] == pytest.approx(400, rel=1e-3)
    assert a["street_covered_m"] == pytest.approx(200, rel=1e-3)
    assert a["street_share"] == pytest.approx(0.5, abs=0.002)
    assert b["street_share"] == pytest.approx(130 / 200, abs=0.002)

    assert a["minutes"] == pytest.approx(200 / 60, abs=0.05)
    assert b["minutes"] == pytest.approx(100 / 60, abs=0.05)
    assert (a["buildings"], a["buildings_passed"]) == (2, 1)
    assert (b["buildings"], b["buildings_passed"]) == (0, 0)

    # the last fix within 30 m of A is at 330 s; coverage tells it to the minute
    assert abs((a["last_visit"] - (t0 + dt.timedelta(seconds=330))).total_seconds()) <= 60
    assert b["last_visit"] == t0 + dt.timedelta(seconds=400)
    assert b["hours_since_visit"] == pytest.approx(
        (window.end - b["last_visit"]).total_seconds() / 3600, abs=0.01
    )
    assert a["hours_visited"] == [1] and len(window.hours * [0]) == 24

    # C: no streets, no timed patrol; the route over it is reported, not counted
    assert (c["area_share"], c["minutes"], c["last_visit"], c["street_share"]) == (0, 0, None, None)
    assert result.untimed_tracks == 1
    body = result.as_json()
    assert body["grids_visited"] == 2 and "without timestamps" in body["warnings"][0]


def test_a_wider_radius_covers_more(session, field, t0):
    window = Window(t0 - dt.timedelta(hours=1), t0 + dt.timedelta(hours=1), radius_m=60)
    a = by_code(grid_coverage(session, window))[CODE_A]
    assert a["area_share"] == pytest.approx(120 * 200 / 40_000, abs=0.002)
    assert a["street_share"] == pytest.approx(0.5, abs=0.002)  # the north street is 80 m away
    assert a["buildings_passed"] == 2


def test_a_window_before_the_walk_sees_nothing(session, field, t0):
    window = Window(t0 - dt.timedelta(hours=3), t0 - dt.timedelta(minutes=1))
    assert all(g["minutes"] == 0 and g["area_share"] == 0 for g in grid_coverage(session, window).grids)


def test_half_the_walk_in_the_window_counts_half(session, field, t0):
    # the window ends just after the fix at 200 s: the walk has reached x = 100 m inside A
    window = Window(t0 - dt.timedelta(hours=1), t0 + dt.timedelta(seconds=201))
    a = by_code(grid_coverage(session, window))[CODE_A]
    assert a["minutes"] == pytest.approx(100 / 60, abs=0.1)


def test_uncovered_streets_are_what_nobody_walked(session, field, t0):
    window = Window(t0 - dt.timedelta(hours=1), t0 + dt.timedelta(hours=1))
    gaps = json.loads(uncovered_streets_geojson(session, window))
    lengths = sorted((f["properties"]["grid"], f["properties"]["length_m"]) for f in gaps["features"])
    assert lengths == [(CODE_A, 200), (CODE_B, 70)]


def test_one_new_track_updates_only_the_grids_it_passed(session, field, t0):
    touched = grids_near_track(session, field["track"].id)
    assert touched == [field["grids"][0].id, field["grids"][1].id]
    window = Window(t0 - dt.timedelta(hours=1), t0 + dt.timedelta(hours=23))
    partial = by_code(grid_coverage(session, window, grid_ids=touched))
    full = by_code(grid_coverage(session, window))
    assert set(partial) == {CODE_A, CODE_B}
    assert partial[CODE_B] == full[CODE_B]


def test_a_few_grids_see_a_long_step_that_has_no_fix_near_them(session, field, make_user, t0):
    """Coverage of some grids reads only fixes near them: a patrol on an e-bike (a fix every 30 s,
    300 m apart) crosses C with no fix within r of it; C must still count it, as the full run does."""
    rider = [
        (*lonlat(E0 + 1650 + 300 * i, N0 + 100), t0 + dt.timedelta(seconds=30 * i), None) for i in range(4)
    ]
    track = import_gpx(session, gpx_file([rider]), make_user("grid_worker"))
    c = field["grids"][2]
    assert grids_near_track(session, track.id) == [c.id]
    window = Window(t0 - dt.timedelta(hours=1), t0 + dt.timedelta(hours=23))
    partial = by_code(grid_coverage(session, window, grid_ids=[c.id]))
    full = by_code(grid_coverage(session, window))
    assert partial[CODE_C]["minutes"] > 0
    assert partial[CODE_C]["area_share"] == pytest.approx(60 * 200 / 40_000, rel=0.02)
    assert partial[CODE_C] == full[CODE_C]


def test_a_stored_track_reads_its_reach_and_gives_the_same_figures(session, field, t0):
    """A finished track's reach per grid is stored with it; a window holding the whole track
    reads that instead of the fixes, and the figures do not move."""
    track = field["track"]
    assert track.reach_radius_m == 30
    stored = session.query(PatrolReach).filter_by(track_id=track.id).all()
    assert sorted(r.grid_id for r in stored) == [field["grids"][0].id, field["grids"][1].id]
    a_row = next(r for r in stored if r.grid_id == field["grids"][0].id)
    assert sum(a_row.piece_seconds) == pytest.approx(200, abs=3)  # 200 s inside A, as by hand
    window = Window(t0 - dt.timedelta(hours=1), t0 + dt.timedelta(hours=23))
    read = by_code(grid_coverage(session, window))
    recomputed = by_code(grid_coverage(session, window, use_stored=False))
    for code in (CODE_A, CODE_B, CODE_C):
        for key, value in recomputed[code].items():
            assert read[code][key] == (
                pytest.approx(value, abs=0.05) if isinstance(value, float) else value
            ), key


def test_a_track_whose_fixes_leave_its_recorded_span_is_not_stored(session, field):
    track = field["track"]
    track.started_at = track.started_at + dt.timedelta(minutes=5)  # e.g. a phone's clock ahead
    assert store_reach(session, track.id) is False
    session.refresh(track)
    assert track.reach_radius_m is None
    assert session.query(PatrolReach).filter_by(track_id=track.id).count() == 0


def test_new_grids_make_the_stored_reach_stale(session, field, make_area, tmp_path, t0):
    """Grids imported after a patrol cut its reach differently: it is recomputed from the fixes."""
    make_area("community", "650202001001", metric(box(E0 - 300, N0 - 100, E0 + 500, N0 + 300)))
    grid = gpd.GeoDataFrame(
        {"code": ["650202001001004"], "name": ["D"]},
        geometry=[metric(box(E0 - 200, N0, E0, N0 + 200))],
        crs=4326,
    )
    grid.to_file(tmp_path / "d.geojson")
    import_areas(session, tmp_path / "d.geojson", "grid", code_field="code")
    session.refresh(field["track"])
    assert field["track"].reach_radius_m is None and session.query(PatrolReach).count() == 0
    window = Window(t0 - dt.timedelta(hours=1), t0 + dt.timedelta(hours=23))
    d = by_code(grid_coverage(session, window))["650202001001004"]
    assert d["minutes"] == pytest.approx(100 / 60, abs=0.05)  # the walk's first 100 m
    assert store_missing_reach(session) == (1, 0)  # `gridwatch patrols store-reach`
    assert by_code(grid_coverage(session, window))["650202001001004"] == d


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"radius_m": 0}, "radius"),
        ({"radius_m": 1000}, "radius"),
        ({"end": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, "before"),
        ({"end": dt.datetime(2027, 6, 1, tzinfo=dt.UTC)}, "at most"),
    ],
)
def test_bad_windows_are_refused(kwargs, message):
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    args = {"start": start, "end": start + dt.timedelta(days=1), **kwargs}
    with pytest.raises(Invalid, match=message):
        Window(**args)


def test_time_goes_to_the_grid_each_step_of_it_was_walked_in(session, make_area, make_user, t0):
    """Standing five minutes 10 m inside A, beside B, then crossing in one 10-second step to stand
    a minute in B: A had 5 min 5 s, B 1 min 5 s (the crossing step split where it crossed). Shared
    by the length of each minute's piece instead, the crossing minute gave A half of a minute."""
    make_area("grid", CODE_A, metric(box(E0, N0, E0 + 200, N0 + 200)), "A")
    make_area("grid", CODE_B, metric(box(E0 + 200, N0, E0 + 400, N0 + 200)), "B")
    start = t0 + dt.timedelta(seconds=20)  # the crossing falls inside a clock minute
    stand_a = [(*lonlat(E0 + 190, N0 + 100), start + dt.timedelta(seconds=10 * i), None) for i in range(31)]
    stand_b = [
        (*lonlat(E0 + 210, N0 + 100), start + dt.timedelta(seconds=310 + 10 * i), None) for i in range(7)
    ]
    track = import_gpx(session, gpx_file([stand_a + stand_b]), make_user("grid_worker"))
    for use_stored in (True, False):
        window = Window(t0 - dt.timedelta(hours=1), t0 + dt.timedelta(hours=1))
        grids = by_code(grid_coverage(session, window, use_stored=use_stored))
        assert grids[CODE_A]["minutes"] == pytest.approx(305 / 60, abs=0.05), use_stored
        assert grids[CODE_B]["minutes"] == pytest.approx(65 / 60, abs=0.05), use_stored
    assert track.reach_radius_m == 30  # the stored reach was used in the first round


def test_the_whole_district_in_two_halves_on_two_connections_equals_each_grid_alone(committed, t0):
    """A whole district's coverage is computed in two halves of its grids, the first on a second
    connection (committed rows, so it can see them): the same figures as each grid asked alone."""
    from geoalchemy2.shape import from_shape
    from shapely.geometry import MultiPolygon

    from gis.models import Area, User

    grids = [
        Area(
            level="grid",
            code=code,
            name=code,
            area_m2=0,
            geom=from_shape(
                MultiPolygon([metric(box(E0 + 200 * i, N0, E0 + 200 * i + 200, N0 + 200))]), 4326
            ),
        )
        for i, code in enumerate((CODE_A, CODE_B, CODE_C))
    ]
    walker = User(username="walker", display_name="walker", role="grid_worker", password_hash="-")
    committed.add_all([*grids, walker])
    committed.flush()
    walk = [(*lonlat(E0 - 50 + 10 * i, N0 + 100), t0 + dt.timedelta(seconds=10 * i), None) for i in range(66)]
    import_gpx(committed, gpx_file([walk]), walker)
    committed.commit()
    window = Window(t0 - dt.timedelta(hours=1), t0 + dt.timedelta(hours=23))
    for use_stored in (True, False):
        whole = by_code(grid_coverage(committed, window, use_stored=use_stored))
        assert committed.scalar(text("SELECT pg_current_xact_id_if_assigned()")) is None  # nothing written
        alone = {g.code: by_code(grid_coverage(committed, window, grid_ids=[g.id]))[g.code] for g in grids}
        assert whole == alone
        assert [whole[c]["minutes"] > 0 for c in (CODE_A, CODE_B, CODE_C)] == [True, True, True]
