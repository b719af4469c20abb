"""The command centre's live map: a pin sent from a grid worker's phone (another browser context)
appears on the supervisor's open map without a reload; a case the viewer may not open does not."""

import json

import pytest

from gis.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def _log_in(page, username):
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


def _report(page, lon, lat, description):
    """The phone's call, with its session and CSRF token: the new case's id."""
    body = json.dumps({"lon": lon, "lat": lat, "category": "0101", "description": description})
    return page.evaluate(
        """async (body) => {
            const csrf = document.querySelector('meta[name=csrf-token]').content;
            const r = await fetch('/api/v1/reports', {method: 'POST', body,
                headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf}});
            return (await r.json()).id;
        }""",
        body,
    )


def test_a_pin_from_the_phone_appears_on_the_open_map(browser, live_server):
    desk = browser.new_context(base_url=live_server, viewport={"width": 1200, "height": 800}).new_page()
    phone = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740}).new_page()
    street = browser.new_context(base_url=live_server, viewport={"width": 1200, "height": 800}).new_page()
    try:
        _log_in(desk, "supervisor")
        _log_in(street, "street")  # a street's supervisor: sees only their street's cases
        for page in (desk, street):
            page.goto("/map")
            page.wait_for_selector(".folium-map[data-grids-loaded]")
            page.wait_for_function("() => document.documentElement.dataset.live === 'on'")
        _log_in(phone, "worker")
        centre = desk.evaluate("(() => { const c = GridWatch.map.getCenter(); return [c.lng, c.lat]; })()")
        url_before = desk.url
        case_id = _report(phone, centre[0], centre[1], "井盖松动，实时上图")
        desk.wait_for_function(
            "(id) => (GridWatch.map.getContainer().dataset.livePins || '').split(' ').includes(String(id))",
            arg=case_id,
            timeout=10_000,
        )
        assert desk.url == url_before  # no reload
        assert desk.locator("path.gw-live-pin").count() >= 1
        # far outside the street's area: the street supervisor's stream never carries it
        far = _report(phone, centre[0] + 1.0, centre[1] + 1.0, "区外的")
        desk.wait_for_function(
            "(id) => (GridWatch.map.getContainer().dataset.liveSeen || '').split(' ').includes(String(id))",
            arg=far,
        )
        street.wait_for_timeout(1000)
        seen = street.evaluate("GridWatch.map.getContainer().dataset.liveSeen || ''").split()
        assert str(far) not in seen
    finally:
        for page in (desk, phone, street):
            page.context.close()


def test_the_wall_screen_shows_todays_figures_and_no_controls(page, log_in):
    log_in("supervisor")
    page.goto("/map?wall=1")
    page.wait_for_selector("#wall-figures[data-loaded]")
    assert page.locator("#wall-figures .gw-wall-card").count() == 4
    assert not page.locator("#nav").is_visible() and not page.locator("#map-filters").is_visible()
    figure = page.locator("#wall-figures [data-key=reports] .gw-wall-figure").inner_text()
    assert figure.isdigit()
