"""Personal data: masked in lists outside its handlers, every other read of a personal case
recorded, Open311 publishing public cases only and masked, exports that cannot run formulas."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from gis.cases.categories import sync_categories
from gis.cases.intake import submit_report
from gis.cases.lifecycle import act
from gis.models import Category, PersonalRead
from gis.privacy import MASK_ADDRESS, MASK_NAME, MASK_TEXT, masked
from gis.spreadsheets import csv_cell, looks_like_formula
from tests.factories import CELL, ORIGIN, bearer

PRIVATE = "私人纠纷 王先生 13800138000，身份证 65020219800101123X，邮箱 wang.wei@example.cn"
MASKED = "私人纠纷 王先生 138****8000，身份证 650202********123X，邮箱 w***@example.cn"
TOWN = f"{ORIGIN[0] - 0.01},{ORIGIN[1] - 0.01},{ORIGIN[0] + 0.01},{ORIGIN[1] + 0.01}"


def report(session, category="2101", description=PRIVATE, grid=0, **kw):
    col = grid % 2
    return submit_report(
        session,
        lon=ORIGIN[0] + (col + 0.5) * CELL,
        lat=ORIGIN[1] + 0.5 * CELL,
        category=category,
        description=description,
        **kw,
    ).report(session)


@pytest.mark.parametrize(
    ("function", "value", "expected"),
    [
        (MASK_TEXT, PRIVATE, MASKED),
        (MASK_TEXT, "call +86 139-1234-5678 or 0990-6881234", "call +86 139****5678 or 0990-****1234"),
        (MASK_TEXT, "grid 650202001001001, hotline 12345", "grid 650202001001001, hotline 12345"),
        (MASK_TEXT, None, None),
        (MASK_NAME, "王小明", "王**"),
        (MASK_NAME, "王", "王*"),
        (MASK_ADDRESS, "独山子区西宁路12号3单元401", "独山子区西宁路***"),
        (MASK_ADDRESS, "金水小区5栋2单元", "金水小区***"),
        (MASK_ADDRESS, "12号楼", "12***"),
    ],
)
def test_masking_functions(session, function, value, expected):
    assert masked(session, function, value) == expected


def test_lists_mask_personal_data_outside_its_handlers(client, login, session, town, make_user):
    case = report(session, address="西宁路12号3单元401")
    worker = make_user("grid_worker", grids=town["grids"][:1])
    for user, text in ((worker, PRIVATE), (make_user("supervisor"), PRIVATE), (make_user("admin"), MASKED)):
        login(user)
        page = client.get("/cases").get_data(as_text=True)
        assert f'href="/cases/{case.id}"' in page and text in page, user.role
        pins = client.get(f"/api/v1/layers/reports.geojson?bbox={TOWN}", headers=bearer(user)).get_json()
        [pin] = [f for f in pins["features"] if f["id"] == case.id]
        assert pin["properties"]["description"] == text, user.role


def test_a_personal_case_read_by_someone_who_does_not_handle_it_is_recorded(
    client, login, session, town, make_user
):
    case = report(session)
    session.add_all([])
    worker = make_user("grid_worker", grids=town["grids"][:1])
    admin = make_user("admin")
    assert client.get(f"/api/v1/reports/{case.id}", headers=bearer(worker)).status_code == 200
    assert session.scalar(select(func.count()).select_from(PersonalRead)) == 0  # the worker handles it
    assert client.get(f"/api/v1/reports/{case.id}", headers=bearer(admin)).status_code == 200
    login(admin)
    assert client.get(f"/cases/{case.id}").status_code == 200
    reads = session.scalars(select(PersonalRead).order_by(PersonalRead.id)).all()
    assert [(r.user_id, r.subject, r.subject_id, r.via) for r in reads] == [
        (admin.id, "report", case.id, f"/api/v1/reports/{case.id}"),
        (admin.id, "report", case.id, f"/cases/{case.id}"),
    ]
    audit = client.get("/admin/audit").get_data(as_text=True)
    assert "2 reads" in audit and f'href="/cases/{case.id}"' in audit and admin.username in audit
    # an internal case is not personal: its reads are not recorded
    internal = report(session, category="2301")
    client.get(f"/cases/{internal.id}")
    assert session.scalar(select(func.count()).select_from(PersonalRead)) == 2


def test_only_admins_list_the_reads(client, login, make_user):
    login(make_user("supervisor"))
    assert client.get("/admin/audit").status_code == 403


def test_a_department_reads_a_case_it_once_had_but_no_longer_acts_on_it(
    client, session, town, make_user, make_department
):
    water, power = make_department("W"), make_department("P")
    dispatcher, crew = make_user("dispatcher"), make_user("department", department=water)
    case = report(session, category="2301")
    for step in ("accept", "open"):
        act(session, case, dispatcher, step, version=case.version)
    act(session, case, dispatcher, "dispatch", version=case.version, department_id=water.id)
    act(session, case, crew, "return", version=case.version, note="不归我们管")
    act(session, case, dispatcher, "dispatch", version=case.version, department_id=power.id)
    detail = client.get(f"/api/v1/reports/{case.id}", headers=bearer(crew))
    assert detail.status_code == 200 and detail.get_json()["actions"] == []
    handle = client.post(
        f"/api/v1/reports/{case.id}/actions",
        json={"action": "handle", "version": case.version},
        headers=bearer(crew),
    )
    assert handle.status_code == 403 and "another department" in handle.get_json()["error"]
    stranger = make_user("department", department=make_department("X"))
    assert client.get(f"/api/v1/reports/{case.id}", headers=bearer(stranger)).status_code == 404


def test_open311_publishes_public_cases_only_masked(client, session, town, make_user):
    public = report(session, category="0101", description="井盖破损，联系 13800138000", address="西宁路12号")
    internal = report(session, category="2301", description="楼道充电")
    personal = report(session, category="2101")
    listed = {r["service_request_id"]: r for r in client.get("/open311/v2/requests.json").get_json()}
    assert set(listed) == {str(public.id)}
    shown = listed[str(public.id)]
    assert shown["description"] == "井盖破损，联系 138****8000" and shown["address"] is None
    for hidden in (internal, personal):
        assert client.get(f"/open311/v2/requests/{hidden.id}.json").status_code == 404
        assert client.get(f"/open311/v2/requests/{hidden.id}.xml").status_code == 404


def test_open311_a_key_reads_its_own_requests_whole(client, session, town, make_user):
    resident_app = make_user("grid_worker")  # a key given to an app, its requests its own
    posted = client.post(
        f"/open311/v2/requests.json?api_key={resident_app.token}",  # the key in the query string
        data={
            "service_code": "2101",
            "lat": ORIGIN[1] + CELL / 2,
            "long": ORIGIN[0] + CELL / 2,
            "description": PRIVATE,
            "address_string": "西宁路12号",
            "phone": "13900001111",
        },
    )
    assert posted.status_code == 200, posted.get_json()
    request_id = posted.get_json()[0]["service_request_id"]
    [whole] = client.get(f"/open311/v2/requests/{request_id}.json?api_key={resident_app.token}").get_json()
    assert whole["description"] == PRIVATE and whole["address"] == "西宁路12号"
    assert client.get(f"/open311/v2/requests/{request_id}.json").status_code == 404  # a personal case
    other = make_user("grid_worker")
    assert client.get(f"/open311/v2/requests/{request_id}.json?api_key={other.token}").status_code == 404
    bad = client.get("/open311/v2/requests.json?api_key=not-a-key")
    assert bad.status_code == 403


def test_open311_xml_errors_are_xml_and_text_xml_cannot_hold_is_dropped(client, session, town):
    report(session, category="0101", description="井盖\x1f破损\x0b，见图")
    missing = client.get("/open311/v2/requests/999999.xml")
    assert missing.status_code == 404 and missing.mimetype == "text/xml"
    assert b"<errors><error><code>404</code>" in missing.data
    feed = client.get("/open311/v2/requests.xml")
    assert feed.status_code == 200
    from xml.etree import ElementTree as ET

    [description] = [e.text for e in ET.fromstring(feed.data).iter("description")]
    assert description == "井盖破损，见图"


def test_category_privacy_is_the_admins_choice_and_a_sync_keeps_it(client, login, session, make_user, runner):
    login(make_user("admin"))
    page = client.get("/admin/categories").get_data(as_text=True)
    from tests.conftest import csrf_from

    saved = client.post("/admin/categories/01", data={"privacy": "internal", "csrf_token": csrf_from(page)})
    assert saved.status_code == 302
    assert {c.privacy for c in session.scalars(select(Category).where(Category.code.like("01%")))} == {
        "internal"
    }
    sync_categories(session)
    assert session.get(Category, "0101").privacy == "internal"
    result = runner.invoke(["categories", "privacy", "0101", "public"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.get(Category, "0101").privacy == "public"
    assert session.get(Category, "2101").privacy == "personal"  # the tree's default


def test_exported_cells_never_run_as_formulas(client, login, session, make_area, make_user):
    from shapely.geometry import box

    cell = box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + CELL, ORIGIN[1] + CELL)
    district = make_area("district", "650202", cell, '=HYPERLINK("http://evil.example")')
    street = make_area("street", "650202001", cell, "@SUM(A1)", district)
    community = make_area("community", "650202001001", cell, "+1", street)
    make_area("grid", "650202001001001", cell, "-2", community)
    report(session, category="0101", description="")
    login(make_user("supervisor"))
    rows = list(
        csv.reader(io.StringIO(client.get("/dashboard/export.csv?level=district").get_data(as_text=True)))
    )
    assert rows[1][1] == '\'=HYPERLINK("http://evil.example")'
    book = load_workbook(io.BytesIO(client.get("/dashboard/export.xlsx?level=street").data))
    cell = book.active["B2"]
    assert cell.value == "@SUM(A1)" and cell.data_type == "s"
    assert csv_cell("-2") == "'-2" and csv_cell("西宁路") == "西宁路" and csv_cell(3) == 3
    assert looks_like_formula("\tx") and not looks_like_formula(None)
