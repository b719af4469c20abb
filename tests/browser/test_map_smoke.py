"""A supervisor logs in and sees the demo grids on the map, with Leaflet from /static."""

import pytest

pytestmark = pytest.mark.browser


def test_login_then_map_shows_the_demo_grids(page, log_in, live_server):
    log_in("supervisor")
    assert page.url.endswith("/map")
    page.wait_for_selector(".folium-map[data-grids-loaded]")
    assert int(page.get_attribute(".folium-map", "data-grids-loaded")) == 96
    assert page.locator("path.leaflet-interactive").count() >= 96  # grids, then pins
    leaflet_src = page.eval_on_selector_all("script[src]", "els => els.map(e => e.getAttribute('src'))")
    assert "/static/vendor/leaflet/leaflet.js" in leaflet_src
    assert page.evaluate("typeof L") == "object"
    assert page.external_requests == []  # nothing from a CDN or the internet


def test_wrong_password_stays_on_login(page, log_in):
    log_in("supervisor", "wrong-password")
    assert "/login" in page.url
    assert page.get_by_text("Wrong user name or password").is_visible()
