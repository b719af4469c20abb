"""Buildings go to the grid holding the largest part of their footprint."""

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import select

from gis.areas.importer import import_buildings
from gis.models import Building
from tests.factories import CELL, ORIGIN
from tests.files import write_shapefile


def test_buildings_go_to_the_grid_with_the_largest_share(session, town, tmp_path):
    x, y = ORIGIN
    footprints = [
        box(x + 0.2 * CELL, y + 0.2 * CELL, x + 0.4 * CELL, y + 0.3 * CELL),  # inside grid 001
        box(x + 0.9 * CELL, y + 0.2 * CELL, x + 1.3 * CELL, y + 0.3 * CELL),  # 25 % in 001, 75 % in 002
        box(x + 5 * CELL, y + 5 * CELL, x + 5.1 * CELL, y + 5.1 * CELL),  # outside the town
    ]
    frame = gpd.GeoDataFrame(
        {"名称": ["1号楼", "2号楼", "3号楼"], "户数": [24, 36, 0], "层数": [6, 6, 2]},
        geometry=footprints,
        crs=4326,
    )
    path = write_shapefile(frame, tmp_path / "b.shp", crs=4537, encoding="GBK", keep_cpg=False, ldid=0)
    result = import_buildings(session, path)
    assert result.report["fields"] == {"name": "名称", "households": "户数", "floors": "层数"}
    assert result.report["assigned_to_grid"] == 2 and result.report["outside_every_grid"] == 1
    rows = {b.name: b for b in session.scalars(select(Building))}
    assert rows["1号楼"].grid_id == town["grids"][0].id
    assert rows["2号楼"].grid_id == town["grids"][1].id
    assert rows["3号楼"].grid_id is None
    assert rows["2号楼"].households == 36 and rows["2号楼"].floors == 6


def test_replace_swaps_all_buildings(session, town, tmp_path):
    x, y = ORIGIN
    one = gpd.GeoDataFrame(
        {"name": ["A"]},
        geometry=[box(x + 0.1 * CELL, y + 0.1 * CELL, x + 0.2 * CELL, y + 0.2 * CELL)],
        crs=4326,
    )
    path = tmp_path / "b.geojson"
    one.to_file(path, driver="GeoJSON")
    import_buildings(session, path)
    import_buildings(session, path)
    assert session.query(Building).count() == 2
    import_buildings(session, path, replace=True)
    assert session.query(Building).count() == 1


@pytest.mark.parametrize("overlap", [True, False])  # planned beside the copies, or in turn (a job)
def test_an_import_in_chunks_writes_and_says_what_the_check_said(
    session, town, tmp_path, monkeypatch, overlap
):
    """import_buildings plans a chunk while the one before is copied: the rows, their grids and
    the report (repairs and refusals under the file's row numbers) are the check's."""
    from shapely.geometry import Polygon

    from gis.areas import importer

    x, y = ORIGIN
    bow_tie = Polygon(
        [
            (x + 0.1 * CELL, y),
            (x + 0.3 * CELL, y + 0.2 * CELL),
            (x + 0.3 * CELL, y),
            (x + 0.1 * CELL, y + 0.2 * CELL),
        ]
    )
    footprints = [
        box(x + k * 0.3 * CELL, y + 0.5 * CELL, x + (k * 0.3 + 0.2) * CELL, y + 0.6 * CELL) for k in range(5)
    ]
    footprints[3] = bow_tie  # row 4: repaired
    footprints.append(Polygon([(x, y), (x + 1e-9, y), (x, y + 1e-9)]))  # row 6: no area
    frame = gpd.GeoDataFrame({"name": [f"{k + 1}号楼" for k in range(6)]}, geometry=footprints, crs=4326)
    path = tmp_path / "b.geojson"
    frame.to_file(path, driver="GeoJSON")
    monkeypatch.setattr(importer, "CHUNK", 2)
    check = importer.plan_buildings(session, path)
    result = import_buildings(session, path)
    assert (
        [r["row"] for r in result.report["repaired"]] == [r["row"] for r in check.report["repaired"]] == [4]
    )
    assert (
        [r["row"] for r in result.report["rejected"]] == [r["row"] for r in check.report["rejected"]] == [6]
    )
    assert (
        result.written == result.report["features_kept"] == 5 and result.report["diff"]["counts"]["new"] == 5
    )
    stored = dict(session.execute(select(Building.name, Building.grid_id)).all())
    assert stored == dict(zip(importer._names(check.cleaned, "name"), check.grid_ids))


def test_an_import_with_nothing_usable_is_refused_and_writes_nothing(session, town, tmp_path):
    import pytest
    from shapely.geometry import Polygon

    from gis.areas.importer import ImportRefused
    from gis.models import ImportBatch

    x, y = ORIGIN
    flat = gpd.GeoDataFrame(geometry=[Polygon([(x, y), (x + 1e-9, y), (x, y + 1e-9)])], crs=4326)
    path = tmp_path / "flat.geojson"
    flat.to_file(path, driver="GeoJSON")
    with pytest.raises(ImportRefused) as refused:
        import_buildings(session, path)
    assert "no usable polygon" in refused.value.text
    session.rollback()
    assert session.query(Building).count() == 0 and session.query(ImportBatch).count() == 0
