"""Each report lands in the right grid: inside, on a border, near, far, or refused."""

import math

import pytest
from sqlalchemy import text

from gis.assignment import assign_grid, check_point, find_building
from gis.cases.lifecycle import INTAKE_PARAMETERS, INTAKE_SQL
from gis.errors import Invalid
from tests.factories import CELL, ORIGIN, square


def test_point_inside_a_grid(session, town):
    a = assign_grid(session, ORIGIN[0] + 0.5 * CELL, ORIGIN[1] + 0.5 * CELL)
    assert (a.grid_id, a.kind, a.distance_m) == (town["grids"][0].id, "inside", None)


def test_point_on_a_shared_border_goes_to_the_lowest_code(session, town):
    # the vertical border between grid 001 (west) and 002 (east)
    a = assign_grid(session, ORIGIN[0] + CELL, ORIGIN[1] + 0.5 * CELL)
    assert a.grid_id == town["grids"][0].id and a.kind == "inside"
    # the corner shared by all four grids
    a = assign_grid(session, ORIGIN[0] + CELL, ORIGIN[1] + CELL)
    assert a.grid_id == town["grids"][0].id
    # border between 002 (south-east) and 004 (north-east): 002 wins
    a = assign_grid(session, ORIGIN[0] + 1.5 * CELL, ORIGIN[1] + CELL)
    assert a.grid_id == town["grids"][1].id


def test_point_just_outside_goes_to_the_nearest_grid_flagged(session, town):
    # 30 m east of the town's east edge (1° lon ≈ 79.8 km at 44.3°N)
    lon = ORIGIN[0] + 2 * CELL + 30 / (111320 * math.cos(math.radians(44.3)))
    a = assign_grid(session, lon, ORIGIN[1] + 0.5 * CELL)
    assert a.grid_id == town["grids"][1].id
    assert a.kind == "nearest"
    assert 29 < a.distance_m < 31


def test_point_far_away_is_unassigned(session, town):
    lon = ORIGIN[0] + 2 * CELL + 80 / (111320 * math.cos(math.radians(44.3)))
    a = assign_grid(session, lon, ORIGIN[1] + 0.5 * CELL)
    assert (a.grid_id, a.kind) == (None, "unassigned")
    assert assign_grid(session, 121.0, 29.0).kind == "unassigned"  # the sea off Ningbo


def test_the_nearest_distance_is_configurable(session, town):
    lon = ORIGIN[0] + 2 * CELL + 80 / (111320 * math.cos(math.radians(44.3)))
    assert assign_grid(session, lon, ORIGIN[1] + 0.5 * CELL, max_distance_m=100).kind == "nearest"


@pytest.mark.parametrize(
    "lon, lat, message",
    [
        ("abc", 44, "must be numbers"),
        (None, 44, "must be numbers"),
        (float("nan"), 44, "not NaN"),
        (float("inf"), 44, "not NaN"),
        (200, 44, "are they swapped"),
        (84, -95, "are they swapped"),
        (0, 0, "no GPS fix"),
    ],
)
def test_impossible_coordinates_are_refused(lon, lat, message):
    with pytest.raises(Invalid, match=message):
        check_point(lon, lat)


def test_building_inside_or_nearest_within_20_m(session, town, make_building):
    grid = town["grids"][0]
    b = make_building(square(0, 0, size=CELL / 4), grid, name="1号楼")
    assert find_building(session, ORIGIN[0] + CELL / 8, ORIGIN[1] + CELL / 8) == b.id
    ten_m = 10 / (111320 * math.cos(math.radians(44.3)))
    assert find_building(session, ORIGIN[0] + CELL / 4 + ten_m, ORIGIN[1] + CELL / 8) == b.id
    assert find_building(session, ORIGIN[0] + CELL / 4 + 3 * ten_m, ORIGIN[1] + CELL / 8) is None


def test_every_lookup_can_use_the_spatial_indexes(session, town, make_building):
    """A plan test on purpose — here the plan is the behaviour. The rules are SQL functions that
    PostgreSQL must inline into intake's statement (a sub-query among their arguments would stop
    it, and each call would be planned again), and the planner must reach the grids and buildings
    through their GiST indexes for every step of the rules — inside, nearest grid, building under
    the pin, nearest building: with 10,000 grids and 300,000 buildings a scan per report is 0.2 s."""
    make_building(square(0, 0, size=CELL / 4), town["grids"][0], name="1号楼")
    session.execute(text("SET LOCAL enable_seqscan = off"))  # tiny tables: price scans out
    params = {
        **dict.fromkeys(INTAKE_PARAMETERS),  # every parameter intake sends, then:
        "lon": ORIGIN[0] + CELL / 8,
        "lat": ORIGIN[1] + CELL / 8,
        "grid_m": 50,
        "building_m": 20,
        "category": "0101",
        "crs": "wgs84",
        "channel": "app",
    }
    plan = "\n".join(session.execute(text(f"EXPLAIN {INTAKE_SQL.text}"), params).scalars())
    assert "Seq Scan on areas" not in plan and "Seq Scan on buildings" not in plan, plan
    assert "idx_areas_geom" in plan and "idx_buildings_geom" in plan


def test_the_regrid_plans_many_points_by_the_same_rule(session, town):
    """A re-grid (gis.cases.lifecycle.GRID_PICKS_SQL, from the grids' side) gives every report the
    grid, kind and distance gridwatch_grid_for gives that point alone: inside, on shared borders and
    corners, just outside, far away."""
    import random

    from gis.cases.intake import submit_report
    from gis.cases.lifecycle import regrid

    rng = random.Random(5)
    x0, y0 = ORIGIN
    points = [(x0 + rng.uniform(-0.3, 2.3) * CELL, y0 + rng.uniform(-0.3, 2.3) * CELL) for _ in range(300)]
    points += [(x0 + CELL, y0 + rng.uniform(0, 2) * CELL) for _ in range(20)]  # on the north-south seam
    points += [(x0 + CELL, y0 + CELL), (x0, y0), (x0 + 2 * CELL, y0 + 2 * CELL), (x0 + 9 * CELL, y0)]
    for lon, lat in points:
        submit_report(session, lon=lon, lat=lat, category="0101")
    session.execute(
        text("UPDATE reports SET grid_id = NULL, assignment = 'unassigned', assignment_distance_m = NULL")
    )
    regrid(session, only_unassigned=False)
    mismatched = session.execute(
        text(
            "SELECT r.id, r.grid_id, f.grid_id, r.assignment, f.kind FROM reports r "
            "CROSS JOIN LATERAL gridwatch_grid_for(r.geom, 50) f "
            "WHERE r.grid_id IS DISTINCT FROM f.grid_id "
            "OR (f.grid_id IS NOT NULL "
            "AND (r.assignment, r.assignment_distance_m) IS DISTINCT FROM (f.kind, f.distance_m))"
        )
    ).all()
    assert mismatched == []
    kinds = dict(session.execute(text("SELECT assignment, count(*) FROM reports GROUP BY 1")).all())
    assert kinds["inside"] > 150 and kinds["nearest"] > 10 and kinds.get("unassigned", 0) >= 1
