"""Households and the people's diary: the import's match report (every kind, nothing half
written), a visit opening a report, the not-visited list with its flags, masking and the audit
for a person outside the community (API and pages), a person's export and erasure."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from shapely.geometry import box
from sqlalchemy import func, select

from gis.errors import Forbidden
from gis.models import Household, Person, PersonalRead, Report, Visit
from gis.people.diary import not_visited, record_visit
from gis.people.households import HouseholdsRefused, import_households
from tests.factories import CELL, ORIGIN, bearer, jpeg

TODAY = dt.date(2026, 12, 3)


def local_today() -> dt.date:
    """Today where the grids are (the app's TIMEZONE): what a visit sent without a day gets."""
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _csv(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode("utf-8")


@pytest.fixture
def estate(town, make_building, make_user, make_area, session):
    """Two buildings in the town's first grid (one named twice: 2号楼 twice, for the ambiguous
    row), one in its fourth grid; the workers of the first and fourth grids, the community's
    supervisor, a supervisor of another community, a department."""
    g1, g4 = town["grids"][0], town["grids"][3]
    x, y = ORIGIN
    b1 = make_building(
        box(x + 0.0002, y + 0.0002, x + 0.0006, y + 0.0006), g1, name="1号楼", address="西宁路1号"
    )
    b2a = make_building(box(x + 0.0008, y + 0.0002, x + 0.0012, y + 0.0006), g1, name="2号楼")
    b2b = make_building(box(x + 0.0014, y + 0.0002, x + 0.0018, y + 0.0006), g1, name="2号楼")
    b4 = make_building(
        box(x + CELL + 0.0002, y + CELL + 0.0002, x + CELL + 0.0006, y + CELL + 0.0006), g4, name="9号楼"
    )
    other_street = make_area(
        "street", "650202002", box(x + 1, y, x + 1.01, y + 0.01), parent=town["district"]
    )
    other = make_area("community", "650202002001", box(x + 1, y, x + 1.01, y + 0.01), parent=other_street)
    return {
        "grid": g1,
        "far_grid": g4,
        "b1": b1,
        "b2": (b2a, b2b),
        "b4": b4,
        "worker": make_user("grid_worker", grids=[g1]),
        "far_worker": make_user("grid_worker", grids=[g4]),
        "staff": make_user("supervisor", area=town["community"].code),
        "outsider": make_user("supervisor", area=other.code),
        "volunteer": make_user("volunteer", area=other.code),
        "admin": make_user("admin"),
    }


def _households(session) -> int:
    return session.scalar(select(func.count()).select_from(Household))


def test_the_match_report_names_every_kind_and_a_refused_file_writes_nothing(session, estate):
    data = _csv(
        "楼栋,单元,门牌,人数,标记,联系人,电话",
        "1号楼,1单元,101,1,独居老人,王秀英,13800138000",  # matched
        "2号楼,1单元,201,3,,李四,",  # ambiguous: two buildings are 2号楼
        "8号楼,1单元,301,2,,张三,",  # unmatched
        "1号楼,1单元,102,lots,,赵六,",  # a bad size
        "1号楼,1单元,103,2,会飞,钱七,",  # an unknown flag
    )
    with pytest.raises(HouseholdsRefused) as refused:
        import_households(session, "households.csv", data)
    report = refused.value.report.as_dict()
    assert report["counts"] == {"matched": 1, "ambiguous": 1, "unmatched": 1, "invalid": 2}
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[2]["building"] == estate["b1"].id
    assert sorted(by_row[3]["candidates"]) == sorted(b.id for b in estate["b2"])
    assert "8号楼" in str(by_row[4]["reason"])
    assert "lots" in str(by_row[5]["reason"]) and "会飞" in str(by_row[6]["reason"])
    assert _households(session) == 0  # not even the matched row
    assert session.scalar(select(func.count()).select_from(Person)) == 0


def test_a_good_file_writes_every_row_and_sending_it_again_updates(session, estate):
    rows = [
        "楼栋,building_id,单元,门牌,人数,标记,联系人,电话",
        "1号楼,,1单元,101,1,独居老人,王秀英,13800138000",
        f',{estate["b2"][1].id},2单元,201,4,"低保户,出租户",李四,13900139000',
    ]
    first = import_households(session, "h.csv", _csv(*rows))
    assert first.written == 2 and first.count("matched") == 2
    again = import_households(session, "h.csv", _csv(*rows[:2], rows[2].replace(",4,", ",5,")))
    assert again.written == 2
    assert _households(session) == 2  # the same rooms: updated, not doubled
    h = session.scalar(select(Household).where(Household.building_id == estate["b2"][1].id))
    assert (h.size, h.flags, h.unit.name) == (5, ["low_income", "rented"], "2单元")
    assert [p.name for p in h.people] == ["李四"]


def test_xlsx_and_gbk_are_read(session, estate):
    book = Workbook()
    book.active.append(["地址", "门牌", "人数"])
    book.active.append(["西宁路1号", 402, 2])
    out = io.BytesIO()
    book.save(out)
    assert import_households(session, "h.xlsx", out.getvalue()).written == 1
    assert import_households(session, "h.csv", "楼栋,门牌\n1号楼,501\n".encode("gbk")).written == 1
    assert sorted(session.scalars(select(Household.room))) == ["402", "501"]


def test_the_command_and_the_page_import_and_refuse(runner, app, login, session, estate, tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(_csv("楼栋,门牌", "1号楼,101"))
    bad.write_bytes(_csv("楼栋,门牌", "2号楼,101"))
    result = runner.invoke(["import", "households", str(bad)])
    assert result.exit_code != 0 and "nothing was written" in result.output and "row 2" in result.output
    result = runner.invoke(["import", "households", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 households written" in result.output
    client = login(estate["admin"])
    page = client.get("/import/households").get_data(as_text=True)
    from tests.conftest import csrf_from

    answer = client.post(
        "/import/households",
        data={"csrf_token": csrf_from(page), "file": (io.BytesIO(_csv("楼栋,门牌", "7号楼,1")), "h.csv")},
        content_type="multipart/form-data",
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'class="gw-row-unmatched"' in html and "7号楼" in html
    assert _households(session) == 1


@pytest.fixture
def households(session, estate):
    """In the first grid: an elderly person living alone never visited, a low-income household
    visited 40 days ago, a plain one visited yesterday; one household in the fourth grid."""
    import_households(
        session,
        "h.csv",
        _csv(
            "楼栋,门牌,标记,联系人,电话",
            "1号楼,101,独居老人,王秀英,13800138000",
            "1号楼,102,低保户,李四,13900139000",
            "1号楼,103,,张三,13700137000",
            "9号楼,901,,孙八,13600136000",
        ),
    )
    rooms = {h.room: h for h in session.scalars(select(Household))}
    for room, days in (("102", 40), ("103", 1)):
        record_visit(
            session,
            estate["worker"],
            visited_on=TODAY - dt.timedelta(days=days),
            today=TODAY,
            household_id=rooms[room].id,
            discussed="入户走访",
        )
    return rooms


def test_not_visited_puts_flags_first_and_an_elderly_person_alone_is_red(session, estate, households):
    rows, total = not_visited(session, estate["worker"], estate["grid"].id, 30, TODAY, via="test")
    assert total == 2
    assert [r["room"] for r in rows] == ["101", "102"]  # elderly alone first; 103 was visited yesterday
    assert rows[0]["red"] and not rows[1]["red"] and rows[1]["days_since"] == 40
    assert rows[0]["contact"] == "王秀英"
    rows, total = not_visited(session, estate["worker"], estate["grid"].id, 200, TODAY, via="test")
    assert [r["room"] for r in rows] == ["101"]  # 102 was visited within 200 days


def test_the_not_visited_page_and_layer(login, estate, households):
    client = login(estate["worker"])
    html = client.get(f"/households/unvisited?grid={estate['grid'].code}&days=30").get_data(as_text=True)
    assert html.count("gw-unvisited ") == 2 and "gw-red" in html and "王秀英" in html
    x, y = ORIGIN
    layer = client.get(
        f"/api/v1/layers/unvisited.geojson?bbox={x},{y},{x + 0.01},{y + 0.01}&days=30"
    ).get_json()
    by_id = {f["id"]: f["properties"] for f in layer["features"]}
    assert by_id[estate["b1"].id] == {
        "name": "1号楼",
        "grid_id": estate["grid"].id,
        "households": 2,
        "flagged": 2,
        "red": True,
    }
    assert "王" not in str(layer)  # counts only


def test_a_visit_opens_a_report_linked_both_ways_and_a_retry_lands_once(
    app, login, session, estate, households
):
    client = login(estate["worker"])
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    client_id = str(uuid.uuid4())
    form = {
        "household_id": households["101"].id,
        "met": "王秀英",
        "discussed": "说楼道灯坏了",
        "needs": "楼道灯维修",
        "follow_up_on": (local_today() + dt.timedelta(days=7)).isoformat(),
        "client_id": client_id,
        "report_category": "0101",
    }
    first = client.post(
        "/api/v1/visits",
        data={**form, "photo": (io.BytesIO(jpeg()), "p.jpg")},
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )
    assert first.status_code == 201, first.get_data(as_text=True)
    again = client.post("/api/v1/visits", data=form, headers={"X-CSRFToken": token})
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    visit = session.get(Visit, first.get_json()["id"])
    report = session.get(Report, visit.report_id)
    assert report.description == "楼道灯维修" and report.building_id == estate["b1"].id
    assert report.reporter_id == estate["worker"].id and report.grid_id == estate["grid"].id
    session.expire_all()
    assert session.get(Household, households["101"].id).last_visit_on == local_today()
    case = client.get(f"/cases/{report.id}").get_data(as_text=True)
    assert 'id="from-visit"' in case and f"/buildings/{estate['b1'].id}" in case
    diary = client.get("/diary").get_data(as_text=True)
    assert f'href="/cases/{report.id}"' in diary and "说楼道灯坏了" in diary
    assert "gw-follow-up" in diary  # the worker's follow-up, due in a week
    assert "my-follow-ups" in client.get("/my").get_data(as_text=True)
    assert client.get(f"/api/v1/visits/{visit.id}/photo").status_code == 200


def test_bad_visits_are_refused_clearly(login, estate, households):
    client = login(estate["worker"])
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    h = {"X-CSRFToken": token}
    future = (local_today() + dt.timedelta(days=2)).isoformat()
    cases = [
        ({"household_id": households["101"].id}, 422),  # nothing said
        ({"household_id": households["101"].id, "discussed": "x", "visited_on": future}, 422),
        ({"household_id": households["901"].id, "discussed": "x"}, 403),  # another grid's
        ({"household_id": 999999, "discussed": "x"}, 404),
        ({"household_id": "abc", "discussed": "x"}, 422),
        ({"discussed": "x"}, 422),
    ]
    for form, status in cases:
        answer = client.post("/api/v1/visits", json=form, headers=h)
        assert answer.status_code == status, (form, answer.get_data(as_text=True))
        assert answer.get_json()["error"]


def test_outside_the_community_names_and_phones_are_masked_and_the_read_recorded(
    app, login, session, estate, households
):
    outsider = estate["outsider"]
    api = app.test_client()
    before = session.scalar(select(func.count()).select_from(PersonalRead))
    people = api.get(f"/api/v1/buildings/{estate['b1'].id}/people", headers=bearer(outsider)).get_json()
    names = {p["name"] for h in people["households"] for p in h["people"]}
    phones = {p["phone"] for h in people["households"] for p in h["people"]}
    assert names == {"王**", "李*", "张*"} and "138****8000" in phones
    assert {h["room"] for h in people["households"]} == {"***"}
    diary = api.get(f"/api/v1/visits?building={estate['b1'].id}", headers=bearer(outsider)).get_json()
    assert diary["visits"] and all(not v["handled"] for v in diary["visits"])
    html = login(outsider).get(f"/buildings/{estate['b1'].id}").get_data(as_text=True)
    assert (
        "王秀英" not in html and "13800138000" not in html and "王**" in html and 'id="masked-note"' in html
    )
    reads = session.scalars(
        select(PersonalRead).where(PersonalRead.user_id == outsider.id).order_by(PersonalRead.id)
    ).all()
    assert len(reads) >= 3 and {r.subject for r in reads} >= {"building", "visits"}
    assert session.scalar(select(func.count()).select_from(PersonalRead)) == before + len(reads)
    # the admins' audit lists them
    audit = login(estate["admin"]).get("/admin/audit").get_data(as_text=True)
    assert f"/buildings/{estate['b1'].id}" in audit
    # the grid's own worker and the community's staff see them whole
    for handler in (estate["worker"], estate["staff"]):
        whole = api.get(f"/api/v1/buildings/{estate['b1'].id}/people", headers=bearer(handler)).get_json()
        assert "王秀英" in {p["name"] for h in whole["households"] for p in h["people"]}
    # and another community's volunteer sees not even the building
    assert (
        api.get(
            f"/api/v1/buildings/{estate['b1'].id}/people", headers=bearer(estate["volunteer"])
        ).status_code
        == 404
    )
    # nor may an outsider record a visit or export a person
    person = households["101"].people[0]
    assert api.get(f"/api/v1/people/{person.id}/export", headers=bearer(outsider)).status_code == 404
    with pytest.raises(Forbidden):
        record_visit(
            session,
            estate["far_worker"],
            visited_on=TODAY,
            today=TODAY,
            household_id=households["101"].id,
            discussed="x",
        )


def test_a_person_is_exported_and_erased_and_the_visit_counts_stay(app, session, estate, households):
    api = app.test_client()
    person = households["101"].people[0]
    record_visit(
        session,
        estate["worker"],
        visited_on=TODAY,
        today=TODAY,
        household_id=households["101"].id,
        met="王秀英",
        met_person_id=person.id,
        discussed="腿脚不便，需要送餐",
    )
    exported = api.get(f"/api/v1/people/{person.id}/export", headers=bearer(estate["worker"]))
    body = exported.get_json()
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    assert body["person"]["name"] == "王秀英" and body["household"]["room"] == "101"
    assert [v["discussed"] for v in body["visits"]] == ["腿脚不便，需要送餐"]
    visits_before = session.scalar(select(func.count()).select_from(Visit))
    erased = api.post(f"/api/v1/people/{person.id}/erase", headers=bearer(estate["worker"])).get_json()
    assert erased == {"id": person.id, "erased": True, "visits_cleared": 1}
    session.expire_all()
    gone = session.get(Person, person.id)
    assert (gone.name, gone.phone) == (None, None) and gone.erased_at is not None
    assert session.scalar(select(func.count()).select_from(Visit)) == visits_before
    cleared = session.scalar(select(Visit).where(Visit.met_person_id == person.id))
    assert (cleared.met, cleared.discussed) == (None, None) and cleared.visited_on == TODAY
    assert "王秀英" not in str(
        api.get(f"/api/v1/people/{person.id}/export", headers=bearer(estate["worker"])).get_json()
    )


def test_visits_per_worker_in_the_indicators_and_export(app, login, session, estate, households):
    api = app.test_client()
    month = (TODAY - dt.timedelta(days=1)).strftime("%Y-%m")
    rows = api.get(f"/api/v1/visits/per-worker?month={month}", headers=bearer(estate["staff"])).get_json()
    assert rows["workers"] == [
        {
            "user_id": estate["worker"].id,
            "worker": estate["worker"].display_name,
            "visits": 1,
            "households": 1,
            "follow_ups_open": 0,
            "reports": 0,
        }
    ]
    assert (
        api.get(f"/api/v1/visits/per-worker?month={month}", headers=bearer(estate["outsider"])).get_json()[
            "workers"
        ]
        == []
    )
    staff = login(estate["staff"])
    csv_text = staff.get(f"/dashboard/visits.csv?month={month}").get_data(as_text=True)
    assert estate["worker"].display_name in csv_text and ",1,1,0,0" in csv_text
    if local_today().strftime("%Y-%m") == month:  # the dashboard shows this month's
        assert estate["worker"].display_name in staff.get("/dashboard").get_data(as_text=True)


def test_the_building_page_edits_households_and_heads(login, session, estate, households):
    from tests.conftest import csrf_from

    client = login(estate["worker"])
    page = client.get(f"/buildings/{estate['b1'].id}").get_data(as_text=True)
    token = csrf_from(page)
    assert "王秀英" in page and "13800138000" in page
    client.post(
        f"/buildings/{estate['b1'].id}/households",
        data={
            "csrf_token": token,
            "unit": "",
            "room": "104",
            "size": "2",
            "flags": ["special_care"],
            "contact": "周九",
        },
    )
    client.post(
        f"/buildings/{estate['b1'].id}/heads",
        data={
            "csrf_token": token,
            "kind": "unit_head",
            "name": "吴十",
            "phone": "13500135000",
            "unit": "1单元",
        },
    )
    page = client.get(f"/buildings/{estate['b1'].id}").get_data(as_text=True)
    assert "周九" in page and "吴十" in page and "gw-flag-special_care" in page
    refused = client.post(
        f"/buildings/{estate['b1'].id}/households", data={"csrf_token": token, "room": "", "size": "x"}
    )
    assert refused.status_code == 302
    far = login(estate["far_worker"])
    far.post(f"/buildings/{estate['b1'].id}/households", data={"csrf_token": token, "room": "999"})
    assert session.scalar(select(func.count()).where(Household.room == "999")) == 0
