"""The people's diary on a 360 px phone with its network switched off: a visit recorded offline
waits on the phone, goes once when the network is back, and lands in the diary."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.browser.test_field_kit import PHONE, controlled, demo_db, phone  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_a_visit_recorded_offline_is_sent_once_back_online(phone, demo_db):
    with demo_db.connect() as conn:
        household_id = conn.execute(
            text(
                "SELECT h.id FROM households h JOIN buildings b ON b.id = h.building_id"
                " JOIN user_grids ug ON ug.area_id = b.grid_id JOIN users u ON u.id = ug.user_id"
                " WHERE u.username = 'worker' ORDER BY h.id LIMIT 1"
            )
        ).scalar_one()
    page = phone("worker")
    controlled(page, f"/diary/visit?household={household_id}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    page.context.set_offline(True)
    page.reload()  # offline: the form comes from the phone
    marker = f"offline visit {uuid.uuid4().hex[:8]}"
    page.click("#met-choices [data-person]")  # whom: one tap
    page.fill("#discussed", marker)
    page.click("#need-chips [data-need]")  # what they need: one tap
    page.click("label[for=follow-7]")  # come back in a week: one tap
    page.click("#send")
    page.wait_for_selector("#outbox[data-waiting='1']")
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#outbox[data-waiting='0']", timeout=20000)
    page.evaluate("GridWatchOutbox.flush()")  # sent again: still one visit
    with demo_db.connect() as conn:
        rows = conn.execute(
            text("SELECT id, met, needs, follow_up_on - visited_on AS wait FROM visits WHERE discussed = :d"),
            {"d": marker},
        ).all()
    assert len(rows) == 1
    assert rows[0].met and rows[0].needs and rows[0].wait == 7
    page.goto("/diary")
    assert marker in page.text_content("#visits")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
