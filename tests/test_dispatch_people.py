"""People in departments: the lead assigns a dispatched case to a member (and reassigns it), a
dispatcher asks a grid worker to verify; who may then handle and verify."""

import datetime as dt

import pytest

from gis.cases.intake import submit_report
from gis.cases.lifecycle import Proof, act, available_actions
from gis.errors import Conflict, Forbidden, Invalid
from tests.factories import CELL, ORIGIN, bearer, jpeg

T0 = dt.datetime(2026, 11, 2, 16, 45, tzinfo=dt.UTC)
AT_THE_PLACE = (ORIGIN[0] + CELL / 2, ORIGIN[1] + CELL / 2)


@pytest.fixture
def people(dispatch_people):
    return dispatch_people


@pytest.fixture
def dispatched(session, town, people):
    report = submit_report(
        session,
        lon=AT_THE_PLACE[0],
        lat=AT_THE_PLACE[1],
        category="0101",
        description="上水井盖破损",
        reporter_id=people["worker"].id,
        now=T0,
    ).report(session)
    for action, kw in (("accept", {}), ("open", {}), ("dispatch", {"department_id": people["water"].id})):
        act(session, report, people["dispatcher"], action, version=report.version, now=T0, **kw)
    return report


def step(session, report, user, action, **kw):
    return act(session, report, user, action, version=report.version, now=T0 + dt.timedelta(hours=1), **kw)


def test_the_lead_assigns_and_reassigns_and_the_case_says_to_whom(session, dispatched, people):
    event = step(
        session, dispatched, people["lead"], "assign", assignee_id=people["plumber"].id, note="今天去"
    )
    assert dispatched.assignee_id == people["plumber"].id and dispatched.status == "dispatched"
    assert event.data["assignee"] == people["plumber"].display_name and event.note == "今天去"
    step(session, dispatched, people["lead"], "assign", assignee_id=people["fitter"].id)
    assert dispatched.assignee == people["fitter"]
    # the one it went to handles it; the one it was taken from may not any more
    with pytest.raises(Forbidden, match="assigned to someone else"):
        step(session, dispatched, people["plumber"], "handle", note="已修")
    step(session, dispatched, people["fitter"], "handle", note="已修")
    assert dispatched.status == "handled"


def test_only_the_lead_assigns_and_only_to_the_departments_own(session, dispatched, people):
    with pytest.raises(Forbidden, match="only the department's lead"):
        step(session, dispatched, people["plumber"], "assign", assignee_id=people["plumber"].id)
    with pytest.raises(Invalid, match="not in the department"):
        step(session, dispatched, people["lead"], "assign", assignee_id=people["road_man"].id)
    with pytest.raises(Invalid, match="choose the person"):
        step(session, dispatched, people["lead"], "assign")
    with pytest.raises(Forbidden, match="department's lead"):
        step(session, dispatched, people["dispatcher"], "assign", assignee_id=people["plumber"].id)
    assert dispatched.assignee_id is None and [e.action for e in dispatched.events][-1] == "dispatch"
    assert "assign" in {a.name for a in available_actions(session, people["lead"], dispatched)}
    assert "assign" not in {a.name for a in available_actions(session, people["plumber"], dispatched)}


def test_a_dispatcher_asks_a_grid_worker_to_verify_even_outside_their_grids(session, dispatched, people):
    step(session, dispatched, people["lead"], "assign", assignee_id=people["plumber"].id)
    step(session, dispatched, people["plumber"], "handle", note="已修")
    far = people["far_worker"]
    with pytest.raises(Forbidden, match="asked them to"):
        step(session, dispatched, people["worker"], "verify", proof=Proof([jpeg()], AT_THE_PLACE))
    with pytest.raises(Invalid, match="to a grid worker"):
        step(session, dispatched, people["dispatcher"], "assign", assignee_id=people["plumber"].id)
    step(session, dispatched, people["dispatcher"], "assign", assignee_id=far.id)
    assert dispatched.verifier_id == far.id
    step(session, dispatched, far, "verify", proof=Proof([jpeg()], AT_THE_PLACE))
    assert dispatched.status == "verified"


def test_a_new_dispatch_or_a_return_clears_the_person(session, dispatched, people):
    step(session, dispatched, people["lead"], "assign", assignee_id=people["plumber"].id)
    step(session, dispatched, people["plumber"], "return", note="不归我们管")
    assert dispatched.assignee_id is None and dispatched.department_id is None


def test_assign_through_the_api_by_username(client, dispatched, people, session):
    session.flush()
    answer = client.post(
        f"/api/v1/reports/{dispatched.id}/actions",
        json={"action": "assign", "version": dispatched.version, "assignee": people["plumber"].username},
        headers=bearer(people["lead"]),
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["assignee"]["username"] == people["plumber"].username
    unknown = client.post(
        f"/api/v1/reports/{dispatched.id}/actions",
        json={"action": "assign", "version": body["version"], "assignee": "nobody-here"},
        headers=bearer(people["lead"]),
    )
    assert unknown.status_code == 422 and "assignee" in unknown.get_json()["fields"]
    stale = client.post(
        f"/api/v1/reports/{dispatched.id}/actions",
        json={"action": "assign", "version": 1, "assignee": people["fitter"].id},
        headers=bearer(people["lead"]),
    )
    assert stale.status_code == 409


def test_the_members_see_the_departments_cases(client, dispatched, people, session):
    session.flush()
    for member in ("plumber", "fitter", "lead"):
        assert (
            client.get(f"/api/v1/reports/{dispatched.id}", headers=bearer(people[member])).status_code == 200
        )
    assert (
        client.get(f"/api/v1/reports/{dispatched.id}", headers=bearer(people["road_man"])).status_code == 404
    )


def test_stale_version_is_refused(session, dispatched, people):
    with pytest.raises(Conflict):
        act(session, dispatched, people["lead"], "assign", version=1, assignee_id=people["plumber"].id)


def test_my_work_lists_the_checks_given_to_me_only(login, session, dispatched, people):
    from tests.factories import PASSWORD

    step(session, dispatched, people["lead"], "assign", assignee_id=people["plumber"].id)
    step(session, dispatched, people["plumber"], "handle", note="已修")
    session.flush()
    own_grid = login(people["worker"], PASSWORD).get("/my").get_data(as_text=True)
    assert 'id="my-verify"' not in own_grid  # handled in their grid, but not given to them
    step(session, dispatched, people["dispatcher"], "assign", assignee_id=people["worker"].id)
    session.flush()
    page = login(people["worker"], PASSWORD).get("/my").get_data(as_text=True)
    section = page[page.index('id="my-verify"') :]
    assert f'data-id="{dispatched.id}"' in section
