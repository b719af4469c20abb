"""The phone on a weak signal, in a real Chromium with its network switched off: a report made
offline survives a reload and lands exactly once when the network is back; a nearby report is
offered and a confirmation lands on it; verifying far from the report is refused."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import scratch_database_url
from tests.factories import jpeg

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def demo_db(live_server):
    engine = create_engine(scratch_database_url("browser"))
    yield engine
    engine.dispose()


@pytest.fixture
def phone(browser, live_server, request):
    def open_(username: str, **context):
        from gis.demo import DEMO_PASSWORD

        ctx = browser.new_context(
            base_url=live_server, viewport=PHONE, is_mobile=True, has_touch=True, **context
        )
        request.addfinalizer(ctx.close)
        page = ctx.new_page()
        page.goto("/login")
        page.fill("#username", username)
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return open_


def controlled(page, path: str):
    """``path`` opened once the service worker controls the page (it caches what it serves)."""
    page.goto(path)
    page.evaluate("navigator.serviceWorker.ready")
    page.wait_for_function("() => !!navigator.serviceWorker.controller")
    page.goto(path)
    page.wait_for_load_state("networkidle")


def pin_at(page, lon: float, lat: float):
    page.wait_for_selector("#report-map[data-ready]")
    page.evaluate("([lon, lat]) => GridWatch.map.setView([lat, lon], 18)", [lon, lat])
    page.evaluate("([lon, lat]) => GridWatch.map.fire('click', {latlng: L.latLng(lat, lon)})", [lon, lat])


def test_a_report_made_offline_survives_a_reload_and_lands_once(phone, demo_db):
    page = phone("worker")
    controlled(page, "/report")
    lon, lat = (
        demo_db.connect()
        .execute(
            text(
                "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM areas "
                "WHERE level = 'grid' ORDER BY code LIMIT 1"
            )
        )
        .one()
    )
    page.context.set_offline(True)
    pin_at(page, lon, lat)
    marker = f"offline {uuid.uuid4().hex[:8]}"
    page.select_option("#cat-group", "23")
    page.select_option("#category", "2301")
    page.fill("#description", marker)
    page.set_input_files(
        "#photos", files=[{"name": "a.jpg", "mimeType": "image/jpeg", "buffer": jpeg(2400, 1800)}]
    )
    page.click("#send")
    page.wait_for_selector("#outbox[data-waiting='1']")
    assert "1" in page.text_content("#outbox") and marker in page.text_content("#outbox")
    page.reload()  # offline: the page comes from the phone, the report from its outbox
    page.wait_for_selector("#outbox[data-waiting='1']")
    assert marker in page.text_content("#outbox")
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#outbox[data-waiting='0']", timeout=20000)
    page.wait_for_selector("#outbox a[href^='/cases/']")
    # sent again (a second tab, a retry): still one report
    page.evaluate("GridWatchOutbox.flush()")
    with demo_db.connect() as conn:
        rows = conn.execute(text("SELECT id FROM reports WHERE description = :d"), {"d": marker}).all()
        assert len(rows) == 1
        (width,) = conn.execute(
            text("SELECT length(data) FROM report_photos WHERE report_id = :id"), {"id": rows[0].id}
        ).one()
    assert width < 200_000  # made small on the phone before it was sent


def test_a_nearby_report_is_offered_and_a_confirmation_lands_on_it(phone, demo_db):
    with demo_db.begin() as conn:
        grid = conn.execute(
            text("""SELECT a.id, ST_X(ST_Centroid(a.geom)) AS lon, ST_Y(ST_Centroid(a.geom)) AS lat
                    FROM areas a JOIN user_grids ug ON ug.area_id = a.id JOIN users u ON u.id = ug.user_id
                    WHERE u.username = 'worker' ORDER BY a.code OFFSET 1 LIMIT 1""")
        ).one()
    supervisor = phone("supervisor")
    seen = f"manhole {uuid.uuid4().hex[:6]}"
    made = supervisor.evaluate(
        """async ([lon, lat, seen]) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const body = JSON.stringify({lon, lat, category: '0101', description: seen,
                                         client_id: crypto.randomUUID()});
            const headers = {'Content-Type': 'application/json', 'X-CSRFToken': token};
            const r = await fetch('/api/v1/reports', {method: 'POST', headers, body});
            return (await r.json()).id;
        }""",
        [grid.lon, grid.lat, seen],
    )
    page = phone("worker")
    page.goto("/report")
    pin_at(page, grid.lon + 0.0001, grid.lat)  # ~8 m east of it, the same group (01)
    page.wait_for_selector(f"#nearby .gw-nearby[data-id='{made}']")
    page.click(f"#nearby .gw-nearby[data-id='{made}'] button")
    page.wait_for_selector("#outbox[data-waiting='0'] a[href^='/cases/']")
    with demo_db.connect() as conn:
        confirmations, events = conn.execute(
            text("""SELECT r.confirmations, count(e.id) FROM reports r
                    JOIN report_events e ON e.report_id = r.id AND e.action = 'confirm'
                    WHERE r.id = :id GROUP BY r.confirmations"""),
            {"id": made},
        ).one()
    assert confirmations == 1 and events == 1


def test_verifying_far_from_the_report_is_refused(phone, demo_db):
    with demo_db.connect() as conn:
        case = conn.execute(
            text(
                "SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM reports "
                "WHERE status = 'handled' ORDER BY id LIMIT 1"
            )
        ).one()
    far = {"longitude": case.lon + 0.01, "latitude": case.lat}  # ~800 m east
    page = phone("supervisor", geolocation=far, permissions=["geolocation"])
    page.goto(f"/cases/{case.id}")
    page.wait_for_function("() => document.getElementById('here-lon').value !== ''")
    assert "text-danger" in page.get_attribute("#here", "class")
    page.set_input_files(
        "#step-photos", files=[{"name": "now.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    page.click("#actions button[value=verify]")
    page.wait_for_selector(".alert-danger")
    assert "m from the report" in page.text_content(".alert-danger")
    with demo_db.connect() as conn:
        assert conn.scalar(text("SELECT status FROM reports WHERE id = :id"), {"id": case.id}) == "handled"
