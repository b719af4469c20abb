"""A planner's check → diff map → import → undo on the demo city, in Chromium (#23)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import create_engine, text

from tests.conftest import scratch_database_url

pytestmark = pytest.mark.browser


def grid_layer(eng) -> list:
    with eng.connect() as conn:
        return conn.execute(
            text(
                "SELECT id, code, name, parent_id, ST_AsEWKB(geom), area_m2 FROM areas "
                "WHERE level = 'grid' ORDER BY id"
            )
        ).all()


def test_check_shows_the_diff_then_import_and_undo(page, log_in, tmp_path):
    eng = create_engine(scratch_database_url("browser"))
    before = grid_layer(eng)
    with eng.connect() as conn:
        layer = gpd.read_postgis(
            "SELECT code, name, geom FROM areas WHERE level = 'grid' ORDER BY code", conn, geom_col="geom"
        )
        reports_before = conn.execute(text("SELECT id, grid_id FROM reports ORDER BY id")).all()
    # the first grid shrinks a little (changed), the last is left out (gone)
    layer.loc[0, "geom"] = shapely.buffer(layer.loc[0, "geom"], -0.0001)
    layer = layer.iloc[:-1]
    path = tmp_path / "网格.geojson"
    layer.to_file(path, driver="GeoJSON")

    log_in("planner")
    page.goto("/import")
    page.set_input_files("#file", str(path))
    page.check("#replace")
    page.click("#check")
    page.wait_for_selector("#status.text-success")
    legend = page.text_content(".gw-diff-legend")
    assert "1" in legend and str(len(layer) - 1) in legend
    assert page.locator("#preview-map path[stroke='#e6550d']").count() == 1  # changed, orange
    assert page.locator("#preview-map path[stroke='#de2d26']").count() == 1  # gone, red
    assert grid_layer(eng) == before  # a check writes nothing

    page.click("#commit")
    page.wait_for_selector("#status a[href='/imports']")
    assert len(grid_layer(eng)) == len(before) - 1

    page.goto("/imports")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click(".gw-undo")
    page.wait_for_load_state("networkidle")
    assert page.locator("#imports tbody tr").first.locator(".gw-undo").count() == 0
    assert grid_layer(eng) == before
    with eng.connect() as conn:
        assert conn.execute(text("SELECT id, grid_id FROM reports ORDER BY id")).all() == reports_before
    eng.dispose()
