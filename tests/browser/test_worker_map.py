"""A grid worker's map: their own grids highlighted, and only the pins of cases they may open."""

import pytest

pytestmark = pytest.mark.browser


def test_a_workers_map_shows_their_scope_and_highlights_their_grids(page, log_in):
    log_in("worker")
    page.goto("/map")
    page.wait_for_selector(".folium-map[data-pins-loaded]")
    page.select_option("#map-filters select[name=status]", "")  # every report, closed ones too
    page.wait_for_timeout(500)
    page.wait_for_selector(".folium-map[data-pins-loaded]")
    # every pin on the map is a case the worker may open, and a supervisor's map has more
    checked = page.evaluate("""async () => {
        const bbox = GridWatch.bboxOf(GridWatch.map);
        const fc = await (await fetch(`/api/v1/layers/reports.geojson?bbox=${bbox}`)).json();
        const answers = await Promise.all(
            fc.features.map((f) => fetch(`/api/v1/reports/${f.id}`).then((r) => r.status)));
        return {pins: fc.features.length, ok: answers.filter((s) => s === 200).length};
    }""")
    assert checked["pins"] > 0 and checked["ok"] == checked["pins"]
    mine = page.locator("path.gw-mine").count()
    assert mine == 4  # the demo worker's four grids, all in view
    grids = int(page.get_attribute(".folium-map", "data-grids-loaded"))
    assert grids > mine  # the others are drawn, faint, around them
    log_in("supervisor")
    page.goto("/map")
    page.wait_for_selector(".folium-map[data-pins-loaded]")
    page.select_option("#map-filters select[name=status]", "")
    page.wait_for_timeout(500)
    everyone = page.evaluate("""async () => (await (await fetch(
        `/api/v1/layers/reports.geojson?bbox=${GridWatch.bboxOf(GridWatch.map)}`)).json()).features.length""")
    assert everyone > checked["pins"]
    assert page.locator("path.gw-mine").count() == 0
