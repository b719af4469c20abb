"""Importing grid layers: every CRS family lands right, GBK text reads right, broken geometry is
repaired or rejected by row, topology is reported, and a failed import writes nothing."""

import json

import pytest
import shapely
from geoalchemy2.shape import to_shape
from shapely.geometry import Polygon, box
from sqlalchemy import select

from gis.areas.importer import ImportRefused, import_areas
from gis.cases.intake import submit_report
from gis.errors import Invalid
from gis.models import Area, ReportEvent
from tests.factories import CELL, ORIGIN
from tests.files import town_cells, write_shapefile

CODES = [f"650202001001{n:03d}" for n in (1, 2, 3, 4)]


@pytest.fixture
def community(make_area):
    outline = box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 2 * CELL, ORIGIN[1] + 2 * CELL)
    district = make_area("district", "650202", outline, "独山子区")
    street = make_area("street", "650202001", outline, "西宁路街道", district)
    return make_area("community", "650202001001", outline, "第一社区", street)


def grids(session):
    return session.scalars(select(Area).where(Area.level == "grid").order_by(Area.code)).all()


@pytest.mark.parametrize(
    "epsg",
    [
        4326,  # WGS 84
        4490,  # CGCS2000 geographic
        4537,  # CGCS2000 / 3-degree Gauss-Kruger CM 84E
        4516,  # CGCS2000 / 3-degree Gauss-Kruger zone 28 (zone number prefixed to the easting)
        4495,  # CGCS2000 / Gauss-Kruger zone 14 (6-degree, prefixed)
        3857,  # Web Mercator
        32645,  # WGS 84 / UTM 45N
    ],
)
def test_every_crs_family_lands_in_the_right_place(session, community, tmp_path, epsg):
    path = write_shapefile(town_cells(CODES), tmp_path / "grids.shp", crs=epsg)
    result = import_areas(session, path, "grid")
    assert result.written == 4
    stored = grids(session)
    assert [g.code for g in stored] == CODES
    expected = town_cells(CODES).geometry
    for grid, geom in zip(stored, expected):
        shape = to_shape(grid.geom)
        assert shape.centroid.distance(geom.centroid) < 1e-6  # ≈ 0.1 m
        assert shape.symmetric_difference(geom).area < 1e-9
        assert grid.area_m2 == pytest.approx(159.3 * 222.4, rel=0.01)  # 0.002° × 0.002° at 44.3°N
        assert grid.parent_id == community.id


def test_gbk_dbf_without_cpg_and_blank_language_byte_reads_chinese(session, community, tmp_path):
    path = write_shapefile(town_cells(CODES), tmp_path / "gbk.shp", encoding="GBK", keep_cpg=False, ldid=0)
    result = import_areas(session, path, "grid")
    assert result.report["encoding"] == "gb18030"
    assert result.report["encoding_source"] == "not UTF-8, read as GB18030"
    assert [g.name for g in grids(session)] == ["一号网格", "二号网格", "三号网格", "四号网格"]


def test_dbf_language_byte_is_read(session, community, tmp_path):
    path = write_shapefile(
        town_cells(CODES), tmp_path / "ldid.shp", encoding="GBK", keep_cpg=False, ldid=0x4D
    )
    result = import_areas(session, path, "grid")
    assert result.report["encoding_source"] == "dbf language byte"
    assert grids(session)[0].name == "一号网格"


def test_utf8_without_cpg_is_recognised(session, community, tmp_path):
    path = write_shapefile(town_cells(CODES), tmp_path / "u.shp", keep_cpg=False, ldid=0)
    result = import_areas(session, path, "grid")
    assert result.report["encoding"] == "utf-8"
    assert grids(session)[3].name == "四号网格"


def test_encoding_option_overrides(session, community, tmp_path):
    path = write_shapefile(town_cells(CODES), tmp_path / "o.shp", encoding="GBK", keep_cpg=False, ldid=0)
    result = import_areas(session, path, "grid", encoding="gb18030")
    assert result.report["encoding_source"] == "--encoding"


def test_invalid_polygons_are_repaired_and_degenerate_ones_rejected_by_row(session, community, tmp_path):
    frame = town_cells(CODES)
    x, y = ORIGIN[0] + CELL, ORIGIN[1]
    # row 2: a bow-tie (self-intersecting) over the south-east cell
    frame.loc[1, "geometry"] = Polygon([(x, y), (x + CELL, y + CELL), (x + CELL, y), (x, y + CELL)])
    # row 4: a sliver with no area
    frame.loc[3, "geometry"] = Polygon([(x, y + CELL), (x + CELL, y + CELL), (x + 2 * CELL, y + CELL)])
    path = tmp_path / "broken.geojson"
    frame.to_file(path, driver="GeoJSON")
    result = import_areas(session, path, "grid")
    assert [(r["row"], r["id"]) for r in result.report["repaired"]] == [(2, CODES[1])]
    assert "Self-intersection" in result.report["repaired"][0]["problem"]
    assert [(r["row"], r["id"]) for r in result.report["rejected"]] == [(4, CODES[3])]
    assert "degenerate" in result.report["rejected"][0]["reason"]
    stored = {g.code: to_shape(g.geom) for g in grids(session)}
    assert set(stored) == set(CODES[:3])
    assert stored[CODES[1]].is_valid and stored[CODES[1]].geom_type == "MultiPolygon"


def test_points_for_grids_are_refused(session, community, tmp_path):
    path = tmp_path / "points.geojson"
    cells = town_cells(CODES)
    cells.set_geometry(shapely.centroid(cells.geometry.values), crs=4326).to_file(path, driver="GeoJSON")
    with pytest.raises(Invalid, match="must be polygons; this layer holds Point"):
        import_areas(session, path, "grid")


def test_codes_are_generated_west_to_east_then_north_to_south(session, community, tmp_path):
    path = tmp_path / "nocodes.geojson"
    town_cells().to_file(path, driver="GeoJSON")
    result = import_areas(session, path, "grid")
    assert result.report["codes_generated"] == 4
    by_name = {g.name: g.code for g in grids(session)}
    # north row first (三 north-west, 四 north-east), then the south row (一, 二)
    assert [by_name[n] for n in ("三号网格", "四号网格", "一号网格", "二号网格")] == CODES


def test_parent_is_the_largest_overlap_or_the_parent_field(session, community, make_area, tmp_path):
    other = make_area(
        "community",
        "650202001002",
        box(ORIGIN[0] + 2 * CELL, ORIGIN[1], ORIGIN[0] + 4 * CELL, ORIGIN[1] + 2 * CELL),
        "第二社区",
        session.get(Area, community.parent_id),
    )
    frame = town_cells()
    frame.loc[1, "geometry"] = shapely.affinity.translate(
        frame.geometry[1], xoff=CELL * 0.6
    )  # mostly in 第二社区
    path = tmp_path / "p.geojson"
    frame.to_file(path, driver="GeoJSON")
    import_areas(session, path, "grid")
    parents = {g.name: g.parent_id for g in grids(session)}
    assert parents["二号网格"] == other.id and parents["一号网格"] == community.id


def test_topology_report_names_overlaps_gaps_and_outsiders(session, community, tmp_path):
    frame = town_cells(CODES)
    frame.loc[1, "geometry"] = shapely.affinity.translate(frame.geometry[1], xoff=-CELL * 0.1)  # overlaps 001
    frame = frame.drop(index=3)  # a gap
    path = tmp_path / "topo.geojson"
    frame.to_file(path, driver="GeoJSON")
    report = import_areas(session, path, "grid").report["topology"]
    [overlap] = report["overlaps"]
    assert {overlap["a"], overlap["b"]} == {CODES[0], CODES[1]}
    assert overlap["area_m2"] == pytest.approx(0.1 * 159.3 * 222.4, rel=0.02)
    [gap] = report["gaps"]
    assert gap["parent"] == "650202001001"
    assert gap["area_m2"] == pytest.approx(1.1 * 159.3 * 222.4, rel=0.02)  # the cell + the shifted strip
    assert report["outside_parent"] == []


def test_duplicate_codes_refuse_the_whole_file_and_write_nothing(session, community, tmp_path):
    path = tmp_path / "dup.geojson"
    town_cells([CODES[0], CODES[1], CODES[1], CODES[3]]).to_file(path, driver="GeoJSON")
    with pytest.raises(ImportRefused, match="duplicate codes") as refused:
        import_areas(session, path, "grid")
    assert refused.value.report["topology"]["duplicate_codes"] == [CODES[1]]
    assert grids(session) == []


def test_no_parent_layer_is_refused(session, tmp_path):
    path = tmp_path / "g.geojson"
    town_cells(CODES).to_file(path, driver="GeoJSON")
    with pytest.raises(ImportRefused, match="--build-hierarchy"):  # its codes name the levels above
        import_areas(session, path, "grid")
    town_cells(["1", "2", "3", "4"]).to_file(path, driver="GeoJSON")
    with pytest.raises(ImportRefused, match="no community areas yet"):
        import_areas(session, path, "grid")


def test_no_prj_lonlat_is_assumed_and_said(session, community, tmp_path):
    path = write_shapefile(town_cells(CODES), tmp_path / "noprj.shp", keep_prj=False)
    result = import_areas(session, path, "grid")
    assert result.report["crs_assumed"] is True
    assert any("assumed" in w for w in result.report["warnings"])


def test_no_prj_projected_is_refused_with_a_zone_hint(session, community, tmp_path):
    path = write_shapefile(town_cells(CODES), tmp_path / "gk.shp", crs=4516, keep_prj=False)
    with pytest.raises(Invalid, match=r"no coordinate system.*zone 28 \(--crs EPSG:4516\)"):
        import_areas(session, path, "grid")
    assert len(import_areas(session, path, "grid", crs="EPSG:4516").report["errors"]) == 0


def test_replace_swaps_the_layer_and_regrids_reports_with_history(session, community, make_user, tmp_path):
    first = tmp_path / "v1.geojson"
    town_cells(CODES).to_file(first, driver="GeoJSON")
    import_areas(session, first, "grid")
    worker = make_user("grid_worker", grids=[grids(session)[0]])
    # a report in the south-east cell, near its west edge
    report = submit_report(
        session, lon=ORIGIN[0] + 1.1 * CELL, lat=ORIGIN[1] + 0.5 * CELL, category="0101"
    ).report(session)
    assert report.grid.code == CODES[1]
    # v2: the south-west grid grows east by 20 % of a cell, taking the report
    frame = town_cells(CODES)
    frame.loc[0, "geometry"] = box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 1.2 * CELL, ORIGIN[1] + CELL)
    frame.loc[1, "geometry"] = box(ORIGIN[0] + 1.2 * CELL, ORIGIN[1], ORIGIN[0] + 2 * CELL, ORIGIN[1] + CELL)
    second = tmp_path / "v2.geojson"
    frame.to_file(second, driver="GeoJSON")
    result = import_areas(session, second, "grid", replace=True)
    assert result.reassigned["reports_regridded"] == 1
    session.expire_all()
    assert report.grid.code == CODES[0]
    [event] = session.scalars(
        select(ReportEvent).where(ReportEvent.report_id == report.id, ReportEvent.action == "regrid")
    ).all()
    assert event.data == {"from_grid": CODES[1], "to_grid": CODES[0]}
    assert event.from_status == event.to_status == "reported"
    assert [g.code for g in worker.grids] == [CODES[0]]  # the worker keeps the grid's code


def test_cli_dry_run_prints_the_report_and_writes_nothing(runner, session, community, tmp_path):
    path = write_shapefile(town_cells(CODES), tmp_path / "dry.shp", crs=4537)
    result = runner.invoke(["import", "grids", str(path), "--level", "grid", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["features_kept"] == 4 and report["written"] == 0
    assert grids(session) == []
    real = runner.invoke(["import", "grids", str(path)])
    assert real.exit_code == 0 and "imported 4 features" in real.output
    assert len(grids(session)) == 4
