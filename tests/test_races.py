"""Two people acting on one case at once, for real (committed rows, separate connections): one
wins, the other gets 409 with the current version — on the API and on the page — never a 500. And
a pin arriving while a grid layer is replaced lands on the new layer."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.accounts import create_user, issue_token
from gis.cases.intake import submit_report
from gis.cases.lifecycle import act
from gis.errors import Conflict
from gis.models import Area, Report, ReportEvent
from tests.conftest import csrf_from
from tests.factories import CELL, ORIGIN, PASSWORD, square


@pytest.fixture
def case(committed):
    """A committed grid, a reported case in it, and two dispatchers (with API tokens)."""
    from geoalchemy2.shape import from_shape

    from gis.areas.geometry import polygonal_part

    outline = polygonal_part(square(0, 0))
    parents = {}
    for level, code in (
        ("district", "650202"),
        ("street", "650202001"),
        ("community", "650202001001"),
        ("grid", "650202001001001"),
    ):
        area = Area(
            level=level,
            code=code,
            name=code,
            geom=from_shape(outline, 4326),
            area_m2=0,
            parent_id=parents.get("last"),
        )
        committed.add(area)
        committed.flush()
        parents["last"] = area.id
    report = submit_report(
        committed, lon=ORIGIN[0] + CELL / 2, lat=ORIGIN[1] + CELL / 2, category="2301"
    ).report(committed)
    people = []
    for n in range(2):
        user = create_user(committed, f"dispatcher{n}", "dispatcher", PASSWORD)
        user.token = issue_token(user)
        people.append(user)
    committed.commit()
    return report.id, people


def test_a_step_that_lost_the_race_is_a_conflict_with_the_current_version(engine, case):
    report_id, (first, second) = case
    with Session(engine) as one, Session(engine) as two:
        mine, theirs = one.get(Report, report_id), two.get(Report, report_id)  # both saw version 1
        act(one, mine, one.get(type(first), first.id), "accept", version=1)
        one.commit()
        with pytest.raises(Conflict) as lost:
            act(two, theirs, two.get(type(second), second.id), "void", version=1, note="重复")
        assert lost.value.details["current_version"] == 2
        two.commit()  # the session is still usable: the lost step alone was undone
    with Session(engine) as check:
        assert check.get(Report, report_id).status == "accepted"
        events = check.scalars(select(ReportEvent.action).where(ReportEvent.report_id == report_id)).all()
        assert sorted(events) == ["accept", "report"]


@pytest.fixture
def live_app(engine):
    from app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": engine.url.render_as_string(hide_password=False)})
    yield app
    app.extensions["gridwatch.engine"].dispose()


def _at_once(*calls):
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_dispatchers_on_the_api_at_once(live_app, case):
    report_id, people = case
    url = f"/api/v1/reports/{report_id}/actions"
    bodies = [{"action": "accept", "version": 1}, {"action": "void", "note": "重复", "version": 1}]
    clients = [live_app.test_client() for _ in people]
    for _ in range(5):  # the race goes either way; each time exactly one wins
        version = (
            clients[0]
            .get(f"/api/v1/reports/{report_id}", headers={"Authorization": f"Bearer {people[0].token}"})
            .get_json()["version"]
        )
        if version > 1:
            break
        answers = _at_once(
            *(
                lambda c=c, p=p, b=b: c.post(url, json=b, headers={"Authorization": f"Bearer {p.token}"})
                for c, p, b in zip(clients, people, bodies)
            )
        )
        assert sorted(a.status_code for a in answers) == [200, 409], [a.get_json() for a in answers]
        lost = next(a for a in answers if a.status_code == 409).get_json()
        assert lost["current_version"] == 2 and "reload" in lost["error"]


def test_two_dispatchers_on_the_case_page_at_once(live_app, case, engine):
    report_id, people = case
    clients = []
    for person in people:
        client = live_app.test_client()
        page = client.get("/login").get_data(as_text=True)
        client.post(
            "/login", data={"username": person.username, "password": PASSWORD, "csrf_token": csrf_from(page)}
        )
        clients.append(client)
    forms = []
    for client, action in zip(clients, ("accept", "void")):
        page = client.get(f"/cases/{report_id}").get_data(as_text=True)
        forms.append({"action": action, "note": "重复", "version": 1, "csrf_token": csrf_from(page)})
    answers = _at_once(
        *(lambda c=c, f=f: c.post(f"/cases/{report_id}/actions", data=f) for c, f in zip(clients, forms))
    )
    assert [a.status_code for a in answers] == [302, 302]
    said = [c.get(f"/cases/{report_id}").get_data(as_text=True) for c in clients]
    assert sum("changed" in s and "reload" in s for s in said) == 1
    with Session(engine) as check:
        assert (
            check.scalar(
                select(func.count()).select_from(ReportEvent).where(ReportEvent.report_id == report_id)
            )
            == 2
        )


def test_a_pin_sent_while_the_grid_layer_is_replaced_lands_on_the_new_layer(committed, engine, tmp_path):
    """The pin's statement waits for the replacing import (its grid is being deleted), then tries
    again against the layer as it is now: no error, and the new grid."""
    from geoalchemy2.shape import from_shape
    from shapely.geometry import box

    from gis.areas.geometry import polygonal_part
    from gis.areas.importer import import_areas
    from tests.files import town_cells

    outline = polygonal_part(box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 2 * CELL, ORIGIN[1] + 2 * CELL))
    parent = None
    for level, code in (("district", "650202"), ("street", "650202001"), ("community", "650202001001")):
        parent = Area(
            level=level,
            code=code,
            name=code,
            geom=from_shape(outline, 4326),
            area_m2=0,
            parent_id=parent and parent.id,
        )
        committed.add(parent)
        committed.flush()
    for n, (c, r) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):
        committed.add(
            Area(
                level="grid",
                code=f"650202001001{n + 1:03d}",
                name=f"old {n}",
                parent_id=parent.id,
                geom=from_shape(polygonal_part(square(c, r)), 4326),
                area_m2=0,
            )
        )
    committed.commit()
    old = dict(committed.execute(select(Area.code, Area.id).where(Area.level == "grid")).all())
    layer = tmp_path / "grids.geojson"
    town_cells(codes=[f"650202001001{n:03d}" for n in range(1, 5)]).to_file(layer, driver="GeoJSON")

    replacing = Session(engine)
    import_areas(replacing, layer, "grid", code_field="code", replace=True)  # not committed yet
    result = {}

    def phone():
        with Session(engine) as session:
            intake = submit_report(
                session,
                lon=ORIGIN[0] + CELL / 2,
                lat=ORIGIN[1] + CELL / 2,
                category="2301",
                commit_alone=True,
            )
            session.commit()
            result["grid"] = session.get(Report, intake.report_id).grid.code
            result["grid_id"] = session.get(Report, intake.report_id).grid_id

    thread = threading.Thread(target=phone)
    thread.start()
    thread.join(1.0)
    assert thread.is_alive()  # waiting for the import
    replacing.commit()
    replacing.close()
    thread.join(20)
    assert result["grid"] == "650202001001001" and result["grid_id"] != old["650202001001001"]
