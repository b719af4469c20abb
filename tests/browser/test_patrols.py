"""Patrols in the browser: a worker starts and ends a patrol on the phone page while GPS moves;
a supervisor reads /coverage and loads a GPX file there."""

import datetime as dt
import time

import pytest

from gis.demo import ORIGIN_LONLAT
from tests.gpx import gpx_file, walk

pytestmark = pytest.mark.browser

# inside the demo district, a little south-east of its north-west corner
HERE = (ORIGIN_LONLAT[0] + 0.004, ORIGIN_LONLAT[1] - 0.004)


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server,
        viewport={"width": 360, "height": 740},
        permissions=["geolocation"],
        geolocation={"longitude": HERE[0], "latitude": HERE[1], "accuracy": 8},
    )
    page = context.new_page()
    page.add_init_script("window.GW_PATROL_MIN_S = 0; localStorage.clear();")
    yield context, page
    context.close()


def test_start_walk_and_end_a_patrol_on_the_phone(phone):
    from tests.browser.conftest import DEMO_PASSWORD

    context, page = phone
    page.goto("/login")
    page.fill("#username", "worker")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#patrol-bar[data-ready]")  # a click before the script is in is lost
    page.click("#patrol-start")
    page.wait_for_selector("#patrol-end:not(.d-none)")
    for step in range(1, 8):  # ~2 m every 0.3 s: a brisk walk
        time.sleep(0.3)
        context.set_geolocation({"longitude": HERE[0] + step * 0.00003, "latitude": HERE[1], "accuracy": 8})
    # end only once two fixes are on the server (a loaded machine sends them later, not fewer)
    page.wait_for_function(
        "() => Number((document.getElementById('patrol-status').textContent"
        ".match(/On patrol: (\\d+) fixes sent/) || [0, 0])[1]) >= 2"
    )
    page.click("#patrol-end")
    page.wait_for_selector("#patrol-bar[data-ended]")
    status = page.text_content("#patrol-status")
    assert "Patrol ended" in status and "grid(s) passed" in status
    assert int(status.split("Patrol ended: ")[1].split(" fixes")[0]) >= 2
    assert page.evaluate("localStorage.getItem('gridwatch.patrol')") is None
    assert page.locator("#patrol-start:not(.d-none)").count() == 1


def test_coverage_page_draws_grids_tracks_and_the_hour_check(page, log_in):
    log_in("supervisor")
    page.goto("/coverage")
    page.wait_for_selector(".folium-map[data-grids-loaded][data-tracks-loaded][data-gaps-loaded]")
    assert int(page.get_attribute(".folium-map", "data-grids-loaded")) == 96
    assert int(page.get_attribute(".folium-map", "data-tracks-loaded")) >= 6
    assert int(page.get_attribute(".folium-map", "data-gaps-loaded")) > 0
    assert page.locator("#hour-bars .gw-hour").count() == 24
    assert page.locator("#unvisited li").count() > 0
    fills = page.eval_on_selector_all("path.leaflet-interactive", "ps => ps.map(p => p.getAttribute('fill'))")
    assert "#bdbdbd" in fills and any(f in fills for f in ("#1a9850", "#91cf60", "#fee08b", "#fc8d59"))
    assert page.external_requests == []


def test_gpx_upload_on_the_coverage_page(page, log_in, tmp_path):
    log_in("supervisor")
    page.goto("/coverage")
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    fixes = walk(HERE, (0.00013, 0), 30, t0=t0)
    fixes[10] = (fixes[10][0] + 0.05, fixes[10][1], fixes[10][2], None)
    path = tmp_path / "晚间巡逻.gpx"
    path.write_text(gpx_file([fixes], name="<b>evening</b>"))
    page.set_input_files("#gpx-form input[type=file]", str(path))
    page.click("#gpx-form button")
    page.wait_for_selector("#gpx-result[data-track]")
    result = page.text_content("#gpx-result")
    assert "29 of 30 fixes kept" in result and "impossible speed" in result
