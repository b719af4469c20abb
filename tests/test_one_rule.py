"""Each rule once: the paths that apply a rule agree on random data — a point's grid (intake,
/grids/locate, the re-grid), a point's building (intake, the re-link), a footprint's grid
(Shapely at import, SQL after a grid layer changes) — and a code starts with its parent's."""

from __future__ import annotations

import random

import numpy as np
import pytest
import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import Polygon, box
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from gis.areas.geometry import polygonal_part
from gis.areas.importer import assign_buildings
from gis.assignment import GridIndex, assign_grid, find_building
from gis.cases.intake import submit_report
from gis.cases.lifecycle import regrid, relink_buildings
from gis.models import Area, Building, Report
from tests.factories import CELL, ORIGIN, bearer


@pytest.fixture
def jagged(make_area, town):
    """The town's four grids, plus a ring of irregular grids around a gap (points in the gap are
    near one grid or none)."""
    rng = random.Random(7)
    community = town["community"]
    for n in range(6):
        x0 = ORIGIN[0] + (2.2 + n * 0.9) * CELL
        pts = [
            (x0 + rng.uniform(0, 0.3) * CELL, ORIGIN[1] + rng.uniform(0, 0.2) * CELL),
            (x0 + rng.uniform(0.7, 0.9) * CELL, ORIGIN[1] + rng.uniform(0, 0.3) * CELL),
            (x0 + rng.uniform(0.6, 0.9) * CELL, ORIGIN[1] + rng.uniform(1.5, 2) * CELL),
            (x0 + rng.uniform(0, 0.3) * CELL, ORIGIN[1] + rng.uniform(1.6, 2) * CELL),
        ]
        make_area("grid", f"650202001001{n + 5:03d}", Polygon(pts), f"jagged {n}", community)
    return town


def _points(n: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [
        (ORIGIN[0] + rng.uniform(-0.5, 8.5) * CELL, ORIGIN[1] + rng.uniform(-0.5, 2.5) * CELL)
        for _ in range(n)
    ]


def test_intake_locate_and_the_regrid_put_a_point_in_the_same_grid(client, session, jagged, make_user):
    user = make_user("supervisor")
    points = _points(120, seed=1)
    reports = [submit_report(session, lon=x, lat=y, category="0101").report(session) for x, y in points]
    located = []
    for x, y in points:
        answer = client.get(f"/api/v1/grids/locate?lon={x}&lat={y}", headers=bearer(user))
        located.append(answer.get_json()["grid"]["id"] if answer.status_code == 200 else None)
    assert [r.grid_id for r in reports] == located
    assert {r.assignment for r in reports} == {"inside", "nearest", "unassigned"}
    before = {r.id: (r.grid_id, r.assignment, r.assignment_distance_m) for r in reports}
    session.execute(text("UPDATE reports SET grid_id = NULL, assignment = 'unassigned'"))
    regrid(session, only_unassigned=False, max_m=50)
    session.expire_all()
    after = {
        r.id: (r.grid_id, r.assignment, r.assignment_distance_m) for r in session.scalars(select(Report))
    }
    assert after == before
    assert [assign_grid(session, x, y, 50).grid_id for x, y in points] == located


def test_intake_and_the_relink_put_a_point_on_the_same_building(session, town, make_building):
    rng = random.Random(3)
    for _ in range(25):
        x, y = ORIGIN[0] + rng.uniform(0, 1.8) * CELL, ORIGIN[1] + rng.uniform(0, 1.8) * CELL
        make_building(box(x, y, x + rng.uniform(0.02, 0.1) * CELL, y + rng.uniform(0.02, 0.1) * CELL))
    points = _points(150, seed=2)
    reports = [submit_report(session, lon=x, lat=y, category="0101").report(session) for x, y in points]
    assert any(r.building_id for r in reports) and not all(r.building_id for r in reports)
    before = {r.id: r.building_id for r in reports}
    session.execute(text("UPDATE reports SET building_id = NULL"))
    relink_buildings(session, max_m=20)
    session.expire_all()
    assert {r.id: r.building_id for r in session.scalars(select(Report))} == before
    assert [find_building(session, x, y, 20) for x, y in points] == [before[r.id] for r in reports]


def test_shapely_at_import_and_sql_after_a_grid_change_give_a_footprint_the_same_grid(session, jagged):
    rng = np.random.default_rng(11)
    footprints = []
    for _ in range(400):
        x = ORIGIN[0] + rng.uniform(-0.3, 8.3) * CELL
        y = ORIGIN[1] + rng.uniform(-0.3, 2.3) * CELL
        w, h = rng.uniform(0.02, 0.4, 2) * CELL
        footprints.append(shapely.affinity.rotate(box(x, y, x + w, y + h), rng.uniform(0, 90)))
    footprints = np.array(footprints, dtype=object)
    shapely_grids = GridIndex.around(session, shapely.total_bounds(footprints)).best(footprints)
    session.add_all(Building(geom=from_shape(polygonal_part(f), srid=4326)) for f in footprints)
    session.flush()
    assign_buildings(session)
    sql_grids = session.scalars(select(Building.grid_id).order_by(Building.id)).all()
    assert list(shapely_grids) == sql_grids
    assert len({g for g in sql_grids if g}) >= 8 and None in sql_grids


def test_a_code_starts_with_its_parents(session, town, make_area):
    with (
        pytest.raises(IntegrityError, match="does not start with the code of its parent"),
        session.begin_nested(),
    ):
        make_area("grid", "650202001002001", box(0, 0, 1, 1), "elsewhere", town["community"])
    session.refresh(town["community"])
    assert session.scalar(select(Area.id).where(Area.code == "650202001002001")) is None


def test_an_import_whose_code_does_not_start_with_its_parents_is_refused(session, town, tmp_path):
    from gis.areas.importer import ImportRefused, import_areas
    from tests.files import town_cells

    layer = tmp_path / "grids.geojson"
    codes = ["650202001001011", "650202001001012", "650202001001013", "650202001002014"]
    town_cells(codes=codes, parent=["650202001001"] * 4).to_file(layer, driver="GeoJSON")
    with pytest.raises(ImportRefused) as refused:
        import_areas(session, layer, "grid", code_field="code", parent_field="parent", replace=True)
    assert any(
        "650202001002014 does not start with its parent's code 650202001001" in e
        for e in refused.value.report["errors"]
    )
