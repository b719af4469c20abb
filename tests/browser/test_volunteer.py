"""A volunteer (the building head ``louzhang``) on a 360 px phone: reports a dispute in their own
community with the grid workers' phone page, is refused a pin outside it with the reason on the
phone, and reads their community's points."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.browser.test_field_kit import PHONE, demo_db, phone, pin_at  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def _centre(demo_db, sql: str) -> tuple[float, float]:
    with demo_db.connect() as conn:
        return conn.execute(text(sql)).one()


def test_a_volunteer_reports_from_a_phone_in_their_community_only(phone, demo_db):
    own = _centre(
        demo_db,
        "SELECT ST_X(ST_PointOnSurface(a.geom)), ST_Y(ST_PointOnSurface(a.geom)) FROM areas a"
        " JOIN users u ON a.code LIKE u.area_code || '%' WHERE u.username = 'louzhang' AND a.level = 'grid'"
        " ORDER BY a.code LIMIT 1",
    )
    far = _centre(
        demo_db,
        "SELECT ST_X(ST_PointOnSurface(a.geom)), ST_Y(ST_PointOnSurface(a.geom)) FROM areas a"
        " JOIN users u ON u.username = 'louzhang'"
        " WHERE a.level = 'grid' AND a.code NOT LIKE u.area_code || '%'"
        " ORDER BY a.code LIMIT 1",
    )
    page = phone("louzhang", locale="zh-CN")
    page.goto("/report")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    marker = f"volunteer {uuid.uuid4().hex[:8]}"
    pin_at(page, *own)
    page.select_option("#cat-group", "21")
    page.select_option("#category", "2101")
    page.fill("#description", marker)
    page.click("#send")
    page.wait_for_selector("#outbox[data-waiting='0'] a[href^='/cases/']", timeout=20000)
    with demo_db.connect() as conn:
        reporter, community = conn.execute(
            text(
                "SELECT u.username, substr(g.code, 1, 12) = u.area_code FROM reports r"
                " JOIN users u ON u.id = r.reporter_id JOIN areas g ON g.id = r.grid_id"
                " WHERE r.description = :d"
            ),
            {"d": marker},
        ).one()
    assert reporter == "louzhang" and community
    outside = f"outside {uuid.uuid4().hex[:8]}"
    pin_at(page, *far)
    page.select_option("#cat-group", "21")
    page.select_option("#category", "2101")
    page.fill("#description", outside)
    page.click("#send")
    page.wait_for_selector("#outbox[data-failed='1']", timeout=20000)
    assert "社区之外" in page.text_content("#outbox")  # the reason, in the volunteer's language
    with demo_db.connect() as conn:
        assert not conn.execute(text("SELECT 1 FROM reports WHERE description = :d"), {"d": outside}).first()
    page.goto("/points")
    assert page.locator("#volunteer-points .gw-volunteer-points").count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
