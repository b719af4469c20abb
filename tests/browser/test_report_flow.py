"""A grid worker drops a pin on /report on a 360 px phone; the case shows up in /cases."""

import uuid

import pytest

pytestmark = pytest.mark.browser


def test_drop_a_pin_and_find_the_case(page, log_in):
    page.set_viewport_size({"width": 360, "height": 740})
    log_in("worker")
    assert page.url.endswith("/report")
    page.wait_for_selector("#report-map.leaflet-container")
    box = page.locator("#report-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => document.getElementById('report-map').dataset.grid")
    grid_code = page.get_attribute("#report-map", "data-grid")
    assert len(grid_code) == 15
    assert grid_code in page.text_content("#pin-where")
    page.select_option("#cat-group", "23")
    page.select_option("#category", "2301")
    marker = f"browser test {uuid.uuid4().hex[:6]} <b>not bold</b>"
    page.fill("#description", marker)
    page.click("#send")
    page.wait_for_selector("#outbox a[href^='/cases/']")  # kept on the phone, then sent
    case_link = page.locator("#outbox a[href^='/cases/']").first
    case_path = case_link.get_attribute("href")
    # the send button fits a 360 px screen
    assert page.locator("#send").bounding_box()["width"] <= 360
    page.goto(f"/cases?grid={grid_code}")
    row = page.locator(f"#cases a[href='{case_path}']")
    assert row.count() == 1
    assert page.locator("#cases").get_by_text(marker).count() == 1  # shown as text, not HTML
    page.goto(case_path)
    assert page.text_content("#description") == marker
    assert page.text_content("#status") == "reported"
