"""The closed loop: every transition, every refusal (wrong role, wrong grid, stale version)."""

import datetime as dt

import pytest

from gis.cases.intake import submit_report
from gis.cases.lifecycle import ACTIONS, Proof, act, traffic_light
from gis.errors import Conflict, Forbidden, Invalid
from tests.factories import CELL, ORIGIN, bearer, jpeg

T0 = dt.datetime(2026, 11, 2, 16, 45, tzinfo=dt.UTC)
# the supervisor at the place, with a photo of it: what "verified on site" takes
ON_SITE = Proof(photos=[jpeg()], position=(ORIGIN[0] + CELL / 2, ORIGIN[1] + CELL / 2))


@pytest.fixture
def people(make_user, make_department, town):
    water = make_department("WATER", "自来水公司")
    return {
        "worker": make_user("grid_worker", grids=town["grids"][:1]),
        "other_worker": make_user("grid_worker", grids=town["grids"][1:2]),
        "supervisor": make_user("supervisor"),
        "dispatcher": make_user("dispatcher"),
        "water": make_user("department", department=water),
        "roads": make_user("department", department=make_department("ROADS", "市政道路处")),
        "planner": make_user("planner"),
        "water_dept": water,
    }


@pytest.fixture
def report(session, town, people):
    """The Karamay water-main cover: reported at 16:45 in grid 001."""
    return submit_report(
        session,
        lon=ORIGIN[0] + CELL / 2,
        lat=ORIGIN[1] + CELL / 2,
        category="0101",
        description="上水井盖破损",
        reporter_id=people["worker"].id,
        now=T0,
    ).report(session)


def step(session, report, user, action, minutes, **kw):
    return act(
        session, report, user, action, version=report.version, now=T0 + dt.timedelta(minutes=minutes), **kw
    )


def test_the_whole_loop_from_report_to_close(session, report, people):
    step(session, report, people["dispatcher"], "accept", 10)
    step(session, report, people["dispatcher"], "open", 20)
    step(session, report, people["dispatcher"], "dispatch", 30, department_id=people["water_dept"].id)
    assert report.deadline_at == T0 + dt.timedelta(minutes=30, hours=4)  # 上水井盖: 4 h
    step(session, report, people["water"], "handle", 90, note="已更换井盖")
    step(session, report, people["supervisor"], "verify", 110, proof=ON_SITE)
    step(session, report, people["dispatcher"], "close", 128)
    assert report.status == "closed"
    assert report.closed_at - report.created_at == dt.timedelta(hours=2, minutes=8)
    assert [e.action for e in report.events] == [
        "report",
        "accept",
        "open",
        "dispatch",
        "handle",
        "verify",
        "close",
    ]
    assert [(e.from_status, e.to_status) for e in report.events][1:3] == [
        ("reported", "accepted"),
        ("accepted", "opened"),
    ]
    assert report.events[3].data["department"] == "自来水公司"


def test_failed_check_sends_it_back_as_rework(session, report, people):
    for action, who, kw in [
        ("accept", "dispatcher", {}),
        ("open", "dispatcher", {}),
        ("dispatch", "dispatcher", {"department_id": people["water_dept"].id}),
        ("handle", "water", {"note": "已紧固"}),
    ]:
        step(session, report, people[who], action, 10, **kw)
    step(session, report, people["supervisor"], "reject", 20, note="井盖仍松动")
    assert report.status == "dispatched" and report.rework_count == 1
    step(session, report, people["water"], "handle", 30, note="已更换")
    assert report.status == "handled"


def test_void_needs_a_note(session, report, people):
    with pytest.raises(Invalid, match="needs a note"):
        step(session, report, people["dispatcher"], "void", 5)
    step(session, report, people["dispatcher"], "void", 5, note="重复上报")
    assert report.status == "voided"


def test_department_can_send_it_back_and_dispatcher_can_extend(session, report, people):
    step(session, report, people["dispatcher"], "accept", 1)
    step(session, report, people["dispatcher"], "open", 2)
    step(session, report, people["dispatcher"], "dispatch", 3, department_id=people["water_dept"].id)
    deadline = report.deadline_at
    step(session, report, people["dispatcher"], "extend", 4, note="需停水维修", hours=24)
    assert report.deadline_at == deadline + dt.timedelta(hours=24)
    step(session, report, people["water"], "return", 5, note="不属于本单位")
    assert report.status == "opened" and report.department_id is None and report.deadline_at is None


def test_escalate_climbs_community_street_district(session, report, people):
    step(session, report, people["worker"], "escalate", 1, note="社区无法解决")
    assert report.response_level == "street"
    step(session, report, people["supervisor"], "escalate", 2, note="街道协调")
    assert report.response_level == "district"
    with pytest.raises(Forbidden, match="already at district"):
        step(session, report, people["dispatcher"], "escalate", 3, note="again")


def test_worker_resolves_locally_in_their_own_grid_only(session, report, people):
    with pytest.raises(Forbidden, match="own grids"):
        step(session, report, people["other_worker"], "resolve_locally", 1, note="done")
    step(session, report, people["worker"], "resolve_locally", 1, note="现场劝导")
    assert report.status == "closed" and report.resolved_locally


@pytest.mark.parametrize(
    "who, action",
    [
        ("worker", "accept"),
        ("planner", "accept"),
        ("supervisor", "open"),
        ("water", "accept"),
    ],
)
def test_wrong_role_is_refused(session, report, people, who, action):
    if action == "open":
        step(session, report, people["dispatcher"], "accept", 1)
    with pytest.raises(Forbidden, match="belongs to"):
        step(session, report, people[who], action, 2)


def test_other_department_cannot_handle(session, report, people):
    step(session, report, people["dispatcher"], "accept", 1)
    step(session, report, people["dispatcher"], "open", 2)
    step(session, report, people["dispatcher"], "dispatch", 3, department_id=people["water_dept"].id)
    with pytest.raises(Forbidden, match="another department"):
        step(session, report, people["roads"], "handle", 4)


def test_action_from_the_wrong_state_is_a_conflict(session, report, people):
    with pytest.raises(Conflict, match="cannot be given 'Close'"):
        step(session, report, people["dispatcher"], "close", 1)


def test_stale_version_is_refused(session, report, people):
    seen = report.version
    act(session, report, people["dispatcher"], "accept", version=seen)
    with pytest.raises(Conflict, match="changed since you loaded it"):
        act(session, report, people["dispatcher"], "void", version=seen, note="late click")
    assert report.status == "accepted"


def test_dispatch_needs_a_department(session, report, people):
    step(session, report, people["dispatcher"], "accept", 1)
    step(session, report, people["dispatcher"], "open", 2)
    with pytest.raises(Invalid, match="department"):
        step(session, report, people["dispatcher"], "dispatch", 3)


def test_traffic_light_green_yellow_red(session, report, people):
    step(session, report, people["dispatcher"], "accept", 1)
    step(session, report, people["dispatcher"], "open", 2)
    step(session, report, people["dispatcher"], "dispatch", 0, department_id=people["water_dept"].id)
    at = lambda minutes: traffic_light(report, T0 + dt.timedelta(minutes=minutes))
    assert at(60) == "green"  # 25 % of 4 h
    assert at(3 * 60) == "green"  # 75 %
    assert at(int(0.85 * 240)) == "yellow"
    assert at(240) == "yellow"
    assert at(241) == "red"
    assert traffic_light(report.__class__(status="reported")) is None


def test_every_action_is_covered_by_this_file():
    tested = {
        "accept",
        "void",
        "open",
        "dispatch",
        "handle",
        "return",
        "extend",
        "verify",
        "reject",
        "close",
        "escalate",
        "resolve_locally",
        "confirm",
        "waive_check",
        "assign",
    }
    assert tested == set(ACTIONS)


def test_someone_else_on_the_spot_confirms_and_a_dispatcher_may_waive_the_site_check(session, report, people):
    step(session, report, people["supervisor"], "confirm", 5, note="我也看到了")
    assert report.confirmations == 1 and report.status == "reported"
    with pytest.raises(Forbidden, match="reported this case yourself"):
        step(session, report, people["worker"], "confirm", 6)
    for action, who, kw in [
        ("accept", "dispatcher", {}),
        ("open", "dispatcher", {}),
        ("dispatch", "dispatcher", {"department_id": people["water_dept"].id}),
        ("handle", "water", {"note": "已更换井盖"}),
    ]:
        step(session, report, people[who], action, 10, **kw)
    with pytest.raises(Invalid, match="needs your position"):
        step(session, report, people["supervisor"], "verify", 20)
    with pytest.raises(Invalid, match="needs a note"):
        step(session, report, people["dispatcher"], "waive_check", 21)
    step(session, report, people["dispatcher"], "waive_check", 21, note="现场封闭，监控确认")
    step(session, report, people["supervisor"], "verify", 22)
    assert report.status == "verified" and report.events[-1].data["site_check"] == "waived"


# -- over HTTP: two dispatchers clicking at once ------------------------------------------------
def test_two_dispatchers_clicking_at_once_only_one_wins(client, report, people, make_user, session):
    session.commit()  # the report is visible to the app's session (a savepoint of the same test)
    other = make_user("dispatcher")
    url = f"/api/v1/reports/{report.id}/actions"
    first = client.post(url, json={"action": "accept", "version": 1}, headers=bearer(people["dispatcher"]))
    second = client.post(url, json={"action": "void", "note": "dup", "version": 1}, headers=bearer(other))
    assert first.status_code == 200 and first.get_json()["status"] == "accepted"
    assert second.status_code == 409
    assert "reload it" in second.get_json()["error"]
    assert second.get_json()["current_version"] == 2


def test_http_wrong_role_is_403_and_missing_version_422(client, report, people):
    url = f"/api/v1/reports/{report.id}/actions"
    void = {"action": "void", "note": "dup", "version": 1}  # the dispatcher's, not the supervisor's
    assert client.post(url, json=void, headers=bearer(people["supervisor"])).status_code == 403
    # a planner reads no case: as for a case that does not exist
    accept = {"action": "accept", "version": 1}
    assert client.post(url, json=accept, headers=bearer(people["planner"])).status_code == 404
    assert (
        client.post(url, json={"action": "accept"}, headers=bearer(people["dispatcher"])).status_code == 422
    )
    detail = client.get(f"/api/v1/reports/{report.id}", headers=bearer(people["dispatcher"])).get_json()
    assert detail["actions"] == ["accept", "void", "escalate"]  # not "confirm": nobody confirms for a desk
    assert [e["action"] for e in detail["events"]] == ["report"]
