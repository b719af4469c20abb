"""The supervisors' map: grids, pins and legend; filters; the grid panel; user text stays text."""

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def _popup(page) -> bool:
    try:
        page.wait_for_selector(".gw-popup", timeout=1000)
        return True
    except PlaywrightTimeout:
        return False


def pins(page) -> int:
    return int(page.get_attribute(".folium-map", "data-pins-loaded"))


def test_map_shows_grids_pins_and_legend(page, log_in):
    log_in("supervisor")
    page.wait_for_selector(".folium-map[data-pins-loaded]")
    assert int(page.get_attribute(".folium-map", "data-grids-loaded")) == 96
    assert pins(page) > 0
    assert page.locator(".marker-cluster, path.leaflet-interactive").count() > 96
    legend = " ".join(page.locator(".gw-legend").all_text_contents())
    assert "overdue cases" in legend and "dispatched" in legend
    assert page.external_requests == []


def test_a_filter_changes_what_is_drawn(page, log_in):
    log_in("supervisor")
    page.wait_for_selector(".folium-map[data-pins-loaded]")
    open_pins = pins(page)
    page.select_option("#map-filters select[name=status]", "")  # every report, closed ones too
    page.wait_for_function(
        f"() => Number(document.querySelector('.folium-map').dataset.pinsLoaded) > {open_pins}"
    )
    every = pins(page)
    page.select_option("#map-filters select[name=status]", "closed")
    page.wait_for_function(
        f"() => Number(document.querySelector('.folium-map').dataset.pinsLoaded) < {every}"
    )
    assert 0 < pins(page) < every


def test_clicking_a_grid_opens_its_panel(page, log_in):
    log_in("supervisor")
    page.wait_for_selector(".folium-map[data-pins-loaded]")
    page.select_option("#map-filters select[name=status]", "voided")  # few pins in the way
    page.wait_for_timeout(300)
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    page.wait_for_selector("#grid-panel[data-grid]")
    panel = page.text_content("#grid-panel")
    assert "Grid worker" in panel and "Households" in panel and "Open cases" in panel
    assert page.locator("#grid-panel svg.gw-spark rect").count() == 12
    assert len(page.get_attribute("#grid-panel", "data-grid")) == 15


def test_description_with_html_is_shown_as_text_in_a_popup(page, log_in):
    log_in("supervisor")
    page.wait_for_selector(".folium-map[data-pins-loaded]")
    created = page.evaluate(
        """async (xss) => {
        const c = GridWatch.map.getCenter();
        const token = document.querySelector('meta[name=csrf-token]').content;
        const r = await fetch('/api/v1/reports', {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': token},
            body: JSON.stringify({lon: c.lng, lat: c.lat, category: '1601', description: xss})});
        const body = await r.json();
        delete GridWatch.map.getContainer().dataset.pinsLoaded;  // set again when the pins reload
        GridWatch.map.setView([body.lat, body.lon], 19, {animate: false});
        return body;
    }""",
        XSS,
    )
    assert created["description"] == XSS
    page.wait_for_selector(".folium-map[data-pins-loaded]", state="attached")
    box = page.locator(".folium-map").bounding_box()
    for _ in range(5):  # the pins may be redrawn once more as the view settles: click again
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        if _popup(page):
            break
    assert page.text_content(".gw-popup .gw-description") == XSS
    assert page.locator(".gw-popup img, .gw-popup script").count() == 0
    assert page.evaluate("window.__xss") is None


def test_grids_can_be_coloured_by_patrol_coverage_and_tracks_shown(page, log_in):
    log_in("supervisor")
    page.wait_for_selector(".folium-map[data-grids-loaded]")
    page.select_option("#map-filters select[name=colour]", "coverage")
    page.wait_for_selector(".folium-map[data-coloured-by=coverage]")
    legend = " ".join(page.locator(".gw-legend").all_text_contents())
    assert "patrol coverage" in legend and "nobody came" in legend and "overdue cases" not in legend
    fills = page.eval_on_selector_all("path.leaflet-interactive", "ps => ps.map(p => p.getAttribute('fill'))")
    assert "#bdbdbd" in fills and any(f in fills for f in ("#1a9850", "#91cf60", "#fee08b", "#fc8d59"))
    page.hover(".leaflet-control-layers")  # the layer control opens on hover
    page.check("label:has-text('Patrol tracks (24 h)') input")
    page.wait_for_selector(".folium-map[data-tracks-loaded]")
    assert int(page.get_attribute(".folium-map", "data-tracks-loaded")) >= 1


def test_colour_modes_heatmap_buildings_and_gcj02(page, log_in):
    log_in("supervisor")
    page.wait_for_selector(".folium-map[data-grids-loaded]")
    page.select_option("#map-filters select[name=colour]", "per1000")
    page.wait_for_selector(".folium-map[data-coloured-by=per1000]")
    assert "per 1,000 households" in " ".join(page.locator(".gw-legend").all_text_contents())
    assert "download=1" in page.get_attribute("#download-layer", "href")
    # buildings come in from zoom 16 (test_buildings_come_as_vector_tiles)
    page.evaluate("GridWatch.map.setZoom(17)")
    page.wait_for_function("() => Number(document.querySelector('.folium-map').dataset.buildingsLoaded) > 0")
    # the heatmap is one click away in the layer control
    assert page.locator(".leaflet-control-layers-overlays label", has_text="Heatmap").count() == 1
    # the shift onto a GCJ-02 basemap is the published one (gis.coords, checked against references)
    from gis.coords import wgs84_to_gcj02

    lon, lat = page.evaluate("gcoord.transform([84.9, 44.3], gcoord.WGS84, gcoord.GCJ02)")
    assert (lon, lat) == pytest.approx(wgs84_to_gcj02(84.9, 44.3), abs=1e-6)


def test_too_many_pins_in_view_show_as_counts_per_area(page, log_in, monkeypatch):
    from gis.maps import layers

    monkeypatch.setattr(layers, "MAX_PINS", 5)  # the live server runs in this process
    log_in("supervisor")
    page.wait_for_selector(".folium-map[data-pins-aggregated]:not([data-pins-aggregated=''])")
    bubbles = page.locator(".gw-bubble")
    assert bubbles.count() > 1
    counts = [int(t) for t in bubbles.all_text_contents()]  # the demo's are below 1,000
    assert sum(counts) > 5 and all(c > 0 for c in counts)
    assert page.evaluate(
        "[GridWatch.shortCount(950), GridWatch.shortCount(1234), GridWatch.shortCount(56789)]"
    ) == ["950", "1.2k", "57k"]
    zoom = page.evaluate("() => Object.values(window).find((v) => v instanceof L.Map).getZoom()")
    bubbles.first.click()  # zooms in towards it
    page.wait_for_function(f"() => Object.values(window).find((v) => v instanceof L.Map).getZoom() > {zoom}")


def test_buildings_come_as_vector_tiles_and_a_tap_between_them_reaches_the_grid(page, log_in):
    tiles: list[str] = []
    page.on("request", lambda r: tiles.append(r.url) if "/tiles/buildings/" in r.url else None)
    log_in("supervisor")
    page.wait_for_selector(".folium-map[data-grids-loaded]")
    assert tiles == []  # none below zoom 16
    page.select_option("#map-filters select[name=status]", "voided")  # few pins in the way
    page.evaluate("GridWatch.map.setZoom(17)")
    page.wait_for_function("() => Number(document.querySelector('.folium-map').dataset.buildingsLoaded) > 0")
    assert page.get_attribute(".folium-map", "data-buildings-from") == "tiles"
    assert tiles and all("/tiles/buildings/16/" in url for url in tiles)  # 512 px, a zoom lower
    # a footprint answers a hover with its name and households
    footprint = page.evaluate(
        """() => {
            for (const path of document.querySelectorAll(".leaflet-buildings-pane path")) {
                const r = path.getBoundingClientRect(), x = r.x + r.width / 2, y = r.y + r.height / 2;
                if (document.elementFromPoint(x, y) === path) return [x, y];  // in view, nothing above it
            }
            return null;
        }"""
    )
    assert footprint is not None, "no footprint in view"
    page.mouse.move(*footprint)
    page.wait_for_selector(".leaflet-tooltip:has-text('households')")
    # a point of the map where no footprint is: the tap goes through the tile to the grid
    box = page.locator(".folium-map").bounding_box()
    spot = page.evaluate(
        """([x0, y0, w, h]) => {
            for (let i = 1; i < 40; i++) for (let j = 1; j < 40; j++) {
                const x = x0 + w * i / 40, y = y0 + h * j / 40;
                const hit = document.elementFromPoint(x, y);
                if (hit && hit.closest(".leaflet-overlay-pane") && hit.tagName === "path") return [x, y];
            }
            return null;
        }""",
        [box["x"], box["y"], box["width"], box["height"]],
    )
    assert spot is not None, "every point of the view is a building or a pin"
    page.mouse.click(*spot)
    page.wait_for_selector("#grid-panel[data-grid]")
