"""The community's own organisations: volunteers' points from rules kept as data (across a rule
change), teams bound to their community, the mediation path of disputes and its figures on
hand-made cases, several grid networks (a point and a building found in each; overlaps refused
at import), and a volunteer limited to their community."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import func, select

from gis.areas.importer import ImportRefused
from gis.areas.networks import areas_at, building_areas, import_network, network_indicators
from gis.cases.intake import submit_report
from gis.cases.lifecycle import act
from gis.cases.mediation import mediation_figures, record_follow_up, record_step
from gis.cases.policy import visible_to
from gis.errors import Conflict, Forbidden, Invalid, NotFound
from gis.models import (
    MediationStep,
    NetworkArea,
    NetworkAreaPerson,
    PatrolTrack,
    Person,
    PointRule,
    Report,
    Visit,
)
from gis.people.volunteers import (
    Month,
    add_member,
    add_point_rule,
    create_team,
    monthly_points,
    team_for,
)
from tests.factories import CELL, ORIGIN, bearer

TZ = "Asia/Shanghai"
LOCAL = dt.timezone(dt.timedelta(hours=8))


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=LOCAL)


def inside(n: int = 0) -> tuple[float, float]:
    """The middle of the town's grid ``n`` (0: south-west, 1: south-east)."""
    return ORIGIN[0] + (n + 0.5) * CELL, ORIGIN[1] + 0.5 * CELL


@pytest.fixture
def place(town, make_area, make_user, make_building, session):
    """The town's community with two volunteers, its supervisor, a dispatcher, a grid worker, and
    a second community (east of the town) with a volunteer of its own."""
    x, y = ORIGIN
    other_street = make_area(
        "street", "650202002", box(x + 2 * CELL, y, x + 4 * CELL, y + 2 * CELL), parent=town["district"]
    )
    other = make_area(
        "community", "650202002001", box(x + 2 * CELL, y, x + 4 * CELL, y + 2 * CELL), parent=other_street
    )
    make_area("grid", "650202002001001", box(x + 2 * CELL, y, x + 4 * CELL, y + 2 * CELL), parent=other)
    community = town["community"].code
    return {
        "town": town,
        "other": other,
        "v1": make_user("volunteer", area=community),
        "v2": make_user("volunteer", area=community),
        "far_volunteer": make_user("volunteer", area=other.code),
        "staff": make_user("supervisor", area=community),
        "far_staff": make_user("supervisor", area=other.code),
        "dispatcher": make_user("dispatcher"),
        "worker": make_user("grid_worker", grids=town["grids"][:1]),
        "admin": make_user("admin"),
        "building": make_building(
            box(x + 0.0002, y + 0.0002, x + 0.0006, y + 0.0006), town["grids"][0], name="1号楼"
        ),
    }


def _dispute(session, place, reporter, when: dt.datetime, n: int = 0, category: str = "2101") -> Report:
    lon, lat = inside(n)
    report = submit_report(
        session,
        lon=lon,
        lat=lat,
        category=category,
        description="邻里纠纷",
        reporter_id=reporter.id,
        now=when,
    ).report(session)
    return report


# -- points --------------------------------------------------------------------------------------------
def test_points_follow_the_rule_in_force_on_each_day_across_a_rule_change(session, place):
    v1, v2, dispatcher = place["v1"], place["v2"], place["dispatcher"]
    # the rules of the test's own (the migration's defaults date from 2000, and a truncating test may
    # have taken them): a report accepted is worth 2 until the 15th, 3 from then on
    for action, points, since in (
        ("report_accepted", 2, dt.date(2026, 10, 1)),
        ("report_accepted", 3, dt.date(2026, 11, 15)),
        ("patrol_hour", 1.5, dt.date(2026, 11, 1)),
        ("dispute_mediated", 5, dt.date(2026, 10, 1)),
        ("head_visit", 1, dt.date(2026, 10, 1)),
    ):
        session.add(PointRule(action=action, points=points, effective_from=since))
    for day in ("2026-11-10", "2026-11-14", "2026-11-20"):  # accepted on 10th and 14th (2 each), 20th (3)
        report = _dispute(session, place, v1, at(day, 8))
        act(session, report, dispatcher, "accept", version=report.version, now=at(day, 9))
    unaccepted = _dispute(session, place, v1, at("2026-11-21"))
    assert unaccepted.status == "reported"  # not accepted: worth nothing
    # an accepted report in October counts for October, not November
    october = _dispute(session, place, v2, at("2026-10-30"))
    act(session, october, dispatcher, "accept", version=october.version, now=at("2026-10-31"))
    # two hours of patrol on 5 November (1.5 a point from the 1st), and a track still running
    session.add(
        PatrolTrack(
            user_id=v2.id, source="live", started_at=at("2026-11-05", 8), ended_at=at("2026-11-05", 10)
        )
    )
    session.add(PatrolTrack(user_id=v2.id, source="live", started_at=at("2026-11-06", 8), ended_at=None))
    # a dispute v2 mediated (5 points) and one they failed to
    done = _dispute(session, place, v1, at("2026-11-02"), category="2102")
    record_step(
        session,
        place["staff"],
        done.id,
        level="neighbours",
        outcome="resolved",
        mediator_username=v2.username,
        at=at("2026-11-03"),
    )
    failed = _dispute(session, place, v1, at("2026-11-02"))
    record_step(
        session,
        place["staff"],
        failed.id,
        level="neighbours",
        outcome="not_resolved",
        mediator_username=v2.username,
        at=at("2026-11-03"),
    )
    # v1 is a building head: two visits met them (1 point each)
    head = Person(kind="building_head", name="王楼长", building_id=place["building"].id, user_id=v1.id)
    session.add(head)
    session.flush()
    for day in (dt.date(2026, 11, 8), dt.date(2026, 11, 28)):
        session.add(
            Visit(
                building_id=place["building"].id,
                user_id=place["worker"].id,
                visited_on=day,
                met_person_id=head.id,
            )
        )
    team = create_team(
        session,
        place["staff"],
        community_code=place["town"]["community"].code,
        kind="patrol",
        name="平安巡防队",
    )
    add_member(session, place["staff"], team.id, v1.username, leader=True)
    add_member(session, place["staff"], team.id, v2.username)
    session.flush()

    result = monthly_points(session, place["staff"], Month(dt.date(2026, 11, 1)), TZ)
    by_user = {v["id"]: v for v in result["volunteers"]}
    one, two = by_user[v1.id], by_user[v2.id]
    assert one["actions"]["report_accepted"] == {"quantity": 3.0, "points": 2 + 2 + 3}
    assert one["actions"]["head_visit"] == {"quantity": 2.0, "points": 2.0}
    assert one["points"] == 9.0
    assert two["actions"]["report_accepted"]["quantity"] == 0  # October's
    assert two["actions"]["patrol_hour"] == {"quantity": 2.0, "points": 3.0}
    assert two["actions"]["dispute_mediated"] == {"quantity": 1.0, "points": 5.0}
    assert two["points"] == 8.0
    assert result["teams"] == [
        {
            "id": team.id,
            "name": "平安巡防队",
            "kind": "patrol",
            "community": team.community_code,
            "leader": v1.display_name,
            "members": 2,
            "points": 17.0,
        }
    ]
    assert place["far_volunteer"].id not in by_user  # another community's volunteer
    october_points = monthly_points(session, place["staff"], Month(dt.date(2026, 10, 1)), TZ)
    assert {v["id"]: v["points"] for v in october_points["volunteers"]}[v2.id] == 2.0
    # a volunteer reads their own community's table; another community's staff do not see it
    assert {v["id"] for v in monthly_points(session, v1, Month(dt.date(2026, 11, 1)), TZ)["volunteers"]} == {
        v1.id,
        v2.id,
    }
    far = monthly_points(session, place["far_staff"], Month(dt.date(2026, 11, 1)), TZ)
    assert {v["id"] for v in far["volunteers"]} == {place["far_volunteer"].id} and far["teams"] == []


def test_a_rule_starts_today_or_later_and_only_admins_set_it(session, place):
    today = dt.date(2026, 12, 3)
    with pytest.raises(Invalid):
        add_point_rule(
            session,
            place["admin"],
            action="patrol_hour",
            points=4,
            effective_from=today - dt.timedelta(days=1),
            today=today,
        )
    with pytest.raises(Forbidden):
        add_point_rule(
            session, place["staff"], action="patrol_hour", points=4, effective_from=today, today=today
        )
    with pytest.raises(Invalid):
        add_point_rule(session, place["admin"], action="flying", points=4, effective_from=today, today=today)
    rule = add_point_rule(
        session, place["admin"], action="patrol_hour", points=4, effective_from=today, today=today
    )
    again = add_point_rule(
        session, place["admin"], action="patrol_hour", points=5, effective_from=today, today=today
    )
    assert again.id == rule.id and again.points == 5  # the same day's rule, replaced


def test_a_team_takes_only_its_own_communitys_volunteers(session, place):
    community = place["town"]["community"].code
    with pytest.raises(Forbidden):  # another community's staff do not organise it
        create_team(session, place["far_staff"], community_code=community, kind="patrol", name="巡防队")
    team = create_team(session, place["staff"], community_code=community, kind="mediation", name="调解队")
    with pytest.raises(Conflict):
        create_team(session, place["staff"], community_code=community, kind="patrol", name="调解队")
    with pytest.raises(Invalid):
        add_member(session, place["staff"], team.id, place["far_volunteer"].username)
    with pytest.raises(Invalid):
        add_member(session, place["staff"], team.id, place["worker"].username)  # not a volunteer
    with pytest.raises(NotFound):  # another community's volunteer cannot even see the team
        team_for(session, place["far_volunteer"], team.id)
    assert team_for(session, place["v1"], team.id).name == "调解队"


# -- mediation -----------------------------------------------------------------------------------------
def test_the_mediation_path_climbs_in_order_and_ends_when_resolved(session, place):
    staff = place["staff"]
    report = _dispute(session, place, place["v1"], at("2026-11-01"))
    with pytest.raises(Invalid):  # who mediated is required
        record_step(
            session, staff, report.id, level="neighbours", outcome="not_resolved", at=at("2026-11-02")
        )
    record_step(
        session,
        staff,
        report.id,
        level="party_member",
        outcome="referred",
        mediator_name="老党员",
        at=at("2026-11-02"),
    )
    with pytest.raises(Invalid):  # referred up: the next step is higher
        record_step(
            session,
            staff,
            report.id,
            level="party_member",
            outcome="resolved",
            mediator_name="老党员",
            at=at("2026-11-03"),
        )
    with pytest.raises(Invalid):  # not before the step it follows
        record_step(
            session,
            staff,
            report.id,
            level="committee",
            outcome="resolved",
            mediator_name="调委会",
            at=at("2026-11-01", 12),
        )
    with pytest.raises(Conflict):  # no follow-up call before it is resolved
        record_follow_up(session, staff, report.id, satisfaction="satisfied", at=at("2026-11-04"))
    record_step(
        session,
        staff,
        report.id,
        level="committee",
        outcome="resolved",
        mediator_name="调委会",
        at=at("2026-11-03"),
    )
    with pytest.raises(Conflict):  # resolved: the path has ended
        record_step(
            session,
            staff,
            report.id,
            level="judicial",
            outcome="resolved",
            mediator_name="法院",
            at=at("2026-11-04"),
        )
    record_follow_up(session, staff, report.id, satisfaction="satisfied", at=at("2026-11-05"))
    with pytest.raises(Conflict):
        record_follow_up(session, staff, report.id, satisfaction="unsatisfied", at=at("2026-11-06"))
    with pytest.raises(Forbidden):  # the volunteer who reported it reads it, and does not record its path
        record_step(
            session,
            place["v1"],
            _dispute(session, place, place["v1"], at("2026-11-01")).id,
            level="neighbours",
            outcome="resolved",
            mediator_name="x",
        )
    with pytest.raises(NotFound):  # another community's staff do not even see it
        record_step(
            session, place["far_staff"], report.id, level="judicial", outcome="resolved", mediator_name="x"
        )
    not_dispute = submit_report(
        session, lon=inside()[0], lat=inside()[1], category="0101", reporter_id=staff.id
    ).report(session)
    with pytest.raises(Invalid):
        record_step(session, staff, not_dispute.id, level="neighbours", outcome="resolved", mediator_name="x")


def test_mediation_figures_per_level_with_satisfaction_by_community_and_team(session, place):
    staff, v1, v2 = place["staff"], place["v1"], place["v2"]
    team = create_team(
        session, staff, community_code=place["town"]["community"].code, kind="mediation", name="调解队"
    )
    add_member(session, staff, team.id, v2.username)
    # A: resolved by neighbours (v2, the team), satisfied; B: neighbours fail twice, party member
    # resolves, basically satisfied; C: neighbours refer, committee refers, judicial resolves,
    # unsatisfied; D: neighbours fail, still open
    paths = {
        "A": ([("neighbours", "resolved", v2)], "satisfied"),
        "B": (
            [
                ("neighbours", "not_resolved", v2),
                ("neighbours", "not_resolved", v2),
                ("party_member", "resolved", None),
            ],
            "basically",
        ),
        "C": (
            [
                ("neighbours", "referred", None),
                ("committee", "referred", None),
                ("judicial", "resolved", None),
            ],
            "unsatisfied",
        ),
        "D": ([("neighbours", "not_resolved", None)], None),
    }
    for n, (steps, satisfaction) in enumerate(paths.values()):
        report = _dispute(session, place, v1, at("2026-11-01"), n=n % 2)
        when = at("2026-11-02")
        for level, outcome, mediator in steps:
            when += dt.timedelta(hours=1)
            record_step(
                session,
                staff,
                report.id,
                level=level,
                outcome=outcome,
                mediator_username=mediator.username if mediator else None,
                mediator_name=None if mediator else "某人",
                at=when,
            )
        if satisfaction:
            record_follow_up(
                session, staff, report.id, satisfaction=satisfaction, at=when + dt.timedelta(hours=1)
            )
    assert session.scalar(select(func.count()).select_from(MediationStep)) == 8
    figures = mediation_figures(session, staff, at("2026-11-01", 0), at("2026-12-01", 0), None)
    levels = figures["levels"]
    assert levels["neighbours"] == {"reached": 4, "resolved": 1, "rate": 0.25}
    assert levels["party_member"] == {"reached": 1, "resolved": 1, "rate": 1.0}
    assert levels["committee"] == {"reached": 1, "resolved": 0, "rate": 0.0}
    assert levels["judicial"] == {"reached": 1, "resolved": 1, "rate": 1.0}
    assert figures["satisfaction"] == {"calls": 3, "satisfied": 2, "rate": 0.6667}
    (community,) = figures["communities"]
    assert community["code"] == place["town"]["community"].code and community["satisfaction"]["calls"] == 3
    (by_team,) = figures["teams"]
    assert by_team["id"] == team.id
    assert by_team["levels"]["neighbours"] == {"reached": 2, "resolved": 1, "rate": 0.5}
    assert by_team["satisfaction"] == {
        "calls": 1,
        "satisfied": 1,
        "rate": 1.0,
    }  # A's (B's resolver is no member)
    # another community's staff count none of it
    far = mediation_figures(session, place["far_staff"], at("2026-11-01", 0), at("2026-12-01", 0), None)
    assert far["levels"]["neighbours"]["reached"] == 0 and far["satisfaction"]["calls"] == 0


# -- networks ------------------------------------------------------------------------------------------
def _layer(tmp_path, name: str, features: list[tuple[str, str, object, dict]]):
    path = tmp_path / f"{name}.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"code": c, "name": n, **extra}, "geometry": mapping(g)}
                    for c, n, g, extra in features
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def _halves(x0: float = ORIGIN[0], y0: float = ORIGIN[1]):
    west = box(x0, y0, x0 + CELL, y0 + 2 * CELL)
    east = box(x0 + CELL, y0, x0 + 2 * CELL, y0 + 2 * CELL)
    return west, east


def test_a_point_and_a_building_are_found_in_each_network(session, place, tmp_path):
    west, east = _halves()
    south = box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 2 * CELL, ORIGIN[1] + CELL)
    north = box(ORIGIN[0], ORIGIN[1] + CELL, ORIGIN[0] + 2 * CELL, ORIGIN[1] + 2 * CELL)
    party = _layer(
        tmp_path,
        "party",
        [
            (
                "P1",
                "第一党建网格",
                west,
                {"负责人": "张书记", "负责人电话": "13800138000", "协管员": "李党员"},
            ),
            ("P2", "第二党建网格", east, {"负责人": "王书记"}),
        ],
    )
    result = import_network(session, party, "party", network_name="党建网格")
    assert result.written == 2
    security = _layer(tmp_path, "security", [("S1", "南片", south, {}), ("S2", "北片", north, {})])
    import_network(session, security, "security", network_name="治安网格")
    lon, lat = ORIGIN[0] + 0.5 * CELL, ORIGIN[1] + 1.5 * CELL  # north-west
    found = {a["network"]: a for a in areas_at(session, lon, lat)}
    assert found["party"]["code"] == "P1" and found["security"]["code"] == "S2"
    people = found["party"]["people"]
    assert {(p["role"], p["name"]) for p in people} == {("manager", "张书记"), ("co_manager", "李党员")}
    assert [p["phone"] for p in people if p["role"] == "manager"] == ["138****8000"]  # masked
    assert [
        p["phone"] for p in areas_at(session, lon, lat, unmasked=True)[0]["people"] if p["role"] == "manager"
    ] == ["13800138000"]
    building = {a["network"]: a["code"] for a in building_areas(session, place["building"].id)}
    assert building == {"party": "P1", "security": "S1"}
    outside = {a["network"]: a["code"] for a in areas_at(session, ORIGIN[0] - 1, ORIGIN[1])}
    assert outside == {"party": None, "security": None}
    # indicators per network area: the reports each holds, as the asker may read them
    for n in (0, 0, 1):
        submit_report(
            session,
            lon=inside(n)[0],
            lat=inside(n)[1],
            category="0101",
            reporter_id=place["staff"].id,
            now=at("2026-11-10"),
        )
    rows = network_indicators(
        session,
        "party",
        visible_to(place["staff"], "r"),
        at("2026-11-01", 0),
        at("2026-12-01", 0),
        at("2026-12-01", 0),
    )
    assert [(r["code"], r["reports"]) for r in rows] == [("P1", 2), ("P2", 1)]
    # the co-manager works with the heads of the area's buildings: counted, not named
    session.add(Person(kind="building_head", name="赵楼长", building_id=place["building"].id))
    session.flush()
    rows = network_indicators(
        session,
        "party",
        visible_to(place["staff"], "r"),
        at("2026-11-01", 0),
        at("2026-12-01", 0),
        at("2026-12-01", 0),
    )
    assert [(r["code"], r["buildings"], r["heads"]) for r in rows] == [("P1", 1, 1), ("P2", 0, 0)]
    assert {(p["role"], p["name"]) for p in rows[0]["people"]} == {
        ("manager", "张书记"),
        ("co_manager", "李党员"),
    }
    rows = network_indicators(
        session,
        "party",
        visible_to(place["far_staff"], "r"),
        at("2026-11-01", 0),
        at("2026-12-01", 0),
        at("2026-12-01", 0),
    )
    assert [(r["code"], r["reports"]) for r in rows] == [("P1", 0), ("P2", 0)]


def test_a_network_whose_areas_overlap_is_refused_whole(session, place, tmp_path):
    west, east = _halves()
    wide = box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 1.5 * CELL, ORIGIN[1] + 2 * CELL)
    overlapping = _layer(tmp_path, "bad", [("P1", "一", wide, {"负责人": "张"}), ("P2", "二", east, {})])
    with pytest.raises(ImportRefused) as refused:
        import_network(session, overlapping, "party")
    assert refused.value.report["topology"]["overlaps"][0]["a"] in ("P1", "P2")
    assert session.scalar(select(func.count()).select_from(NetworkArea)) == 0
    assert session.scalar(select(func.count()).select_from(NetworkAreaPerson)) == 0
    import_network(session, _layer(tmp_path, "good", [("P1", "一", west, {})]), "party")
    with pytest.raises(ImportRefused):  # added to: lies over what stays
        import_network(session, _layer(tmp_path, "more", [("P9", "九", wide, {})]), "party")
    import_network(session, _layer(tmp_path, "swap", [("P9", "九", wide, {})]), "party", replace=True)
    assert list(session.scalars(select(NetworkArea.code))) == ["P9"]
    with pytest.raises(Invalid):
        import_network(session, _layer(tmp_path, "x", [("P1", "一", west, {})]), "Party Grids!")


# -- a volunteer in their community ---------------------------------------------------------------------
def test_a_volunteer_reports_only_within_their_community(session, place, client):
    v1 = place["v1"]
    lon, lat = inside(0)
    assert submit_report(session, lon=lon, lat=lat, category="2302", reporter_id=v1.id).created
    far_lon, far_lat = ORIGIN[0] + 3 * CELL, ORIGIN[1] + 0.5 * CELL  # the other community
    with pytest.raises(Invalid) as refused:
        submit_report(session, lon=far_lon, lat=far_lat, category="2302", reporter_id=v1.id)
    assert "community" in str(refused.value)
    # over the API with the volunteer's token: a clear 422, nothing written
    before = session.scalar(select(func.count()).select_from(Report))
    answer = client.post(
        "/api/v1/reports", json={"lon": far_lon, "lat": far_lat, "category": "2302"}, headers=bearer(v1)
    )
    assert answer.status_code == 422 and "community" in answer.get_json()["error"]
    assert session.scalar(select(func.count()).select_from(Report)) == before
    # staff report anywhere
    assert submit_report(
        session, lon=far_lon, lat=far_lat, category="2302", reporter_id=place["staff"].id
    ).created


# -- the pages ------------------------------------------------------------------------------------------
def test_the_community_pages_answer_their_roles(session, place, login, tmp_path):
    staff = place["staff"]
    report = _dispute(session, place, place["v1"], at("2026-11-01"))
    west, east = _halves()
    import_network(
        session,
        _layer(tmp_path, "party", [("P1", "一", west, {"负责人": "张书记"}), ("P2", "二", east, {})]),
        "party",
        network_name="党建网格",
    )
    session.flush()
    client = login(staff)
    page = client.get(f"/cases/{report.id}").get_data(as_text=True)
    assert 'id="mediation-form"' in page and "党建网格" in page and "张书记" in page
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(
        f"/cases/{report.id}/mediation",
        data={
            "csrf_token": csrf,
            "level": "neighbours",
            "outcome": "resolved",
            "mediator_username": place["v2"].username,
            "note": "和解",
        },
    )
    assert answer.status_code == 302
    page = client.get(f"/cases/{report.id}").get_data(as_text=True)
    assert 'data-outcome="resolved"' in page and 'id="follow-up-form"' in page
    client.post(f"/cases/{report.id}/follow-up", data={"csrf_token": csrf, "satisfaction": "satisfied"})
    assert 'id="follow-up"' in client.get(f"/cases/{report.id}").get_data(as_text=True)
    bad = client.post(
        f"/cases/{report.id}/mediation",
        data={"csrf_token": csrf, "level": "judicial", "outcome": "resolved", "mediator_name": "x"},
    )
    assert bad.status_code == 302  # refused with a message on the page, nothing written
    assert session.scalar(select(func.count()).select_from(MediationStep)) == 1
    for path in (
        "/teams",
        "/points",
        "/points?board=1",
        "/mediation",
        "/networks",
        "/networks?network=party",
        "/map?network=party",
    ):
        assert client.get(path).status_code == 200, path
    csv_text = client.get("/points.csv").get_data(as_text=True)
    assert place["v2"].display_name in csv_text
    assert client.get("/api/v1/points?month=2026-13").status_code == 422
    figures = client.get("/api/v1/indicators/mediation?period=last7").get_json()
    assert figures["levels"]["neighbours"]["resolved"] == 1
    layer = client.get(
        "/api/v1/layers/network.geojson?network=party"
        f"&bbox={ORIGIN[0] - 0.01},{ORIGIN[1] - 0.01},{ORIGIN[0] + 0.01},{ORIGIN[1] + 0.01}"
    ).get_json()
    assert sorted(f["properties"]["code"] for f in layer["features"]) == ["P1", "P2"]
    assert client.get("/api/v1/layers/network.geojson?network=nope&bbox=0,0,1,1").status_code == 404
    at_point = client.get(f"/api/v1/networks/at?lon={inside(1)[0]}&lat={inside(1)[1]}").get_json()
    assert [a["code"] for a in at_point["areas"]] == ["P2"]
    assert (
        client.get("/api/v1/networks/party/indicators?period=2026-11").get_json()["areas"][0]["reports"] == 1
    )
    assert client.get("/admin/point-rules").status_code == 403


def test_the_command_checks_then_imports_a_network(session, place, runner, tmp_path):
    west, east = _halves()
    path = _layer(tmp_path, "party", [("P1", "一", west, {"负责人": "张书记"}), ("P2", "二", east, {})])
    checked = runner.invoke(["import", "network", str(path), "--network", "party", "--dry-run"])
    assert checked.exit_code == 0, checked.output
    assert session.scalar(select(func.count()).select_from(NetworkArea)) == 0
    done = runner.invoke(["import", "network", str(path), "--network", "party", "--name", "党建网格"])
    assert done.exit_code == 0, done.output
    assert sorted(session.scalars(select(NetworkArea.code))) == ["P1", "P2"]
    again = runner.invoke(["import", "network", str(path), "--network", "party"])
    assert again.exit_code != 0 and "nothing was written" in again.output


def test_a_planner_checks_then_imports_a_network_on_the_web(client, session, place, make_user, tmp_path):
    planner = make_user("planner")
    west, east = _halves()
    path = _layer(
        tmp_path, "治安网格", [("S1", "西片", west, {"负责人": "民警甲"}), ("S2", "东片", east, {})]
    )
    form = {"kind": "networks", "network": "security", "network_name": "治安网格"}

    def post(**extra):
        data = {**form, **extra, "file": (io.BytesIO(path.read_bytes()), path.name)}
        return client.post(
            "/api/v1/imports", headers=bearer(planner), content_type="multipart/form-data", data=data
        )

    check = post()
    assert check.status_code == 200 and check.get_json()["report"]["features_kept"] == 2
    assert session.scalar(select(func.count()).select_from(NetworkArea)) == 0
    done = post(dry_run="0").get_json()
    assert done["state"] == "done", done
    assert sorted(session.scalars(select(NetworkArea.code))) == ["S1", "S2"]
    again = post()  # the same codes, not replacing: refused with the report
    assert again.status_code == 422 and "S1" in again.get_json()["error"]
    assert post(network="Not A Code").status_code == 422
