"""Each person's inbox: what needs them now, per role, and never a case outside their scope; the
nav's count of what changed; bulk steps with a stale version among them; reply templates;
saved filters."""

import datetime as dt

import pytest

from gis.cases.bulk import act_on_many
from gis.cases.inbox import needs_of, new_count
from gis.cases.intake import submit_report
from gis.cases.lifecycle import act
from gis.cases.listing import inbox
from gis.models import Report, utcnow
from tests.conftest import csrf_from
from tests.factories import CELL, ORIGIN, PASSWORD, bearer


@pytest.fixture
def people(dispatch_people):
    return dispatch_people


def _report(session, people, description="井盖破损", col=0):
    return submit_report(
        session,
        lon=ORIGIN[0] + (col + 0.5) * CELL,
        lat=ORIGIN[1] + CELL / 2,
        category="0101",
        description=description,
        reporter_id=people["worker"].id,
    ).report(session)


def _to(session, report, people, *actions, department="water"):
    for action in actions:
        kw = {"department_id": people[department].id} if action == "dispatch" else {}
        act(session, report, people["dispatcher"], action, version=report.version, **kw)


def _ids(session, viewer, key):
    sections = {s.key: s for s in inbox(session, viewer, None, size=50)}
    return {row.report.id for row in sections[key].rows} if key in sections else set()


def test_each_role_finds_what_needs_it_and_nothing_else(session, people):
    new = _report(session, people, "新报")
    opened = _report(session, people, "已立案")
    _to(session, opened, people, "accept", "open")
    water_case = _report(session, people, "自来水")
    _to(session, water_case, people, "accept", "open", "dispatch")
    roads_case = _report(session, people, "道路")
    _to(session, roads_case, people, "accept", "open", "dispatch", department="roads")
    mine = _report(session, people, "给张师傅")
    _to(session, mine, people, "accept", "open", "dispatch")
    act(session, mine, people["lead"], "assign", version=mine.version, assignee_id=people["plumber"].id)

    assert _ids(session, people["dispatcher"], "to_accept") == {new.id}
    assert _ids(session, people["supervisor"], "to_accept") == {new.id}
    assert _ids(session, people["dispatcher"], "to_dispatch") == {opened.id}
    assert _ids(session, people["lead"], "to_assign") == {water_case.id}
    assert _ids(session, people["plumber"], "to_handle") == {water_case.id, mine.id}
    assert _ids(session, people["fitter"], "to_handle") == {water_case.id}  # not the plumber's
    assert _ids(session, people["road_man"], "to_handle") == {roads_case.id}
    assert {n.key for n in needs_of(people["worker"])} == {"to_verify", "changed"}
    assert {n.key for n in needs_of(people["plumber"])} >= {"to_handle", "rework", "overdue"}
    assert "to_assign" not in {n.key for n in needs_of(people["plumber"])}

    # handled, the check goes to the grid worker the dispatcher picks: now in their inbox
    act(session, mine, people["plumber"], "handle", version=mine.version, note="已修")
    assert _ids(session, people["supervisor"], "to_verify") == {mine.id}
    assert _ids(session, people["worker"], "to_verify") == set()
    act(session, mine, people["dispatcher"], "assign", version=mine.version, assignee_id=people["worker"].id)
    assert _ids(session, people["worker"], "to_verify") == {mine.id}


def test_deadlines_near_and_past_and_rework(session, people):
    soon, late, reworked = (_report(session, people, d) for d in ("快到期", "已超期", "返工"))
    for r in (soon, late, reworked):
        _to(session, r, people, "accept", "open", "dispatch")
    now = utcnow()
    soon.dispatched_at, soon.deadline_at = now - dt.timedelta(hours=9), now + dt.timedelta(hours=1)
    late.dispatched_at, late.deadline_at = now - dt.timedelta(hours=5), now - dt.timedelta(hours=1)
    reworked.rework_count = 1
    session.flush()
    for who in ("dispatcher", "plumber"):
        assert _ids(session, people[who], "due_soon") == {soon.id}
        assert _ids(session, people[who], "overdue") == {late.id}
        assert _ids(session, people[who], "rework") == {reworked.id}
    assert _ids(session, people["road_man"], "overdue") == set()


def test_mine_changed_by_others_and_the_nav_count(session, people):
    report = _report(session, people, "我报的")
    seen = utcnow()
    sections = {s.key: s for s in inbox(session, people["worker"], seen)}
    assert report.id not in {r.report.id for r in sections["changed"].rows}
    act(
        session,
        report,
        people["dispatcher"],
        "accept",
        version=report.version,
        now=seen + dt.timedelta(seconds=5),
    )
    report.updated_at = seen + dt.timedelta(seconds=5)
    session.flush()
    sections = {s.key: s for s in inbox(session, people["worker"], seen)}
    assert {r.report.id for r in sections["changed"].rows} == {report.id}
    assert new_count(session, people["worker"], seen) == 1
    assert new_count(session, people["worker"], seen + dt.timedelta(minutes=1)) == 0


def test_inbox_page_api_and_badge(app, client, session, people):
    report = _report(session, people, "派遣员的")
    session.flush()
    body = client.get("/api/v1/inbox", headers=bearer(people["dispatcher"])).get_json()
    accept = next(s for s in body["sections"] if s["key"] == "to_accept")
    assert [c["id"] for c in accept["cases"]] == [report.id] and accept["total"] == 1
    assert body["new"] >= 1 and accept["all"].endswith("need=to_accept")
    assert client.get("/api/v1/inbox", headers=bearer(people["road_man"])).get_json()["new"] == 0

    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={"username": people["dispatcher"].username, "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    assert 'id="inbox-new"' in client.get("/cases").get_data(as_text=True)
    html = client.get("/inbox").get_data(as_text=True)
    assert f'data-id="{report.id}"' in html and 'id="inbox-to_accept"' in html
    assert 'id="inbox-new"' not in client.get("/cases").get_data(as_text=True)  # looked at: nothing new
    listed = client.get("/cases?need=to_accept").get_data(as_text=True)
    assert f'href="/cases/{report.id}"' in listed
    assert client.get("/cases?need=nonsense").status_code == 422


def test_bulk_with_a_stale_version_among_them(session, people):
    fresh = [_report(session, people, f"批量{i}") for i in range(3)]
    stale = _report(session, people, "有人先动了")
    version_seen = stale.version
    act(session, stale, people["supervisor"], "accept", version=stale.version)  # meanwhile
    outcomes = act_on_many(
        session,
        people["dispatcher"],
        "accept",
        [(r.id, r.version) for r in fresh] + [(stale.id, version_seen), (10**9, 1)],
    )
    got = {o.report_id: o.outcome for o in outcomes}
    assert got == {**{r.id: "done" for r in fresh}, stale.id: "changed", 10**9: "not_found"}
    assert all(r.status == "accepted" for r in fresh)
    # a step this role may not take is refused case by case, and nothing else is touched
    outcomes = act_on_many(session, people["plumber"], "void", [(fresh[0].id, fresh[0].version)], note="x")
    assert [o.outcome for o in outcomes] == ["not_found"]  # the plumber cannot even open it
    outcomes = act_on_many(session, people["supervisor"], "void", [(fresh[0].id, fresh[0].version)], note="x")
    assert [o.outcome for o in outcomes] == ["not_allowed"] and fresh[0].status == "accepted"


def test_bulk_dispatch_and_assign_through_the_api_and_the_page(app, client, session, people):
    cases = [_report(session, people, f"派{i}") for i in range(2)]
    for r in cases:
        _to(session, r, people, "accept", "open")
    session.flush()
    answer = client.post(
        "/api/v1/cases/bulk",
        json={
            "action": "dispatch",
            "department": "WATER",
            "items": [{"id": r.id, "version": r.version} for r in cases],
        },
        headers=bearer(people["dispatcher"]),
    )
    assert answer.status_code == 200 and answer.get_json()["done"] == 2
    session.expire_all()
    items = [{"id": r.id, "version": r.version} for r in cases]
    answer = client.post(
        "/api/v1/cases/bulk",
        json={"action": "assign", "assignee": people["fitter"].username, "items": items},
        headers=bearer(people["lead"]),
    )
    assert [r["outcome"] for r in answer.get_json()["results"]] == ["done", "done"]
    assert (
        client.post(
            "/api/v1/cases/bulk", json={"action": "handle", "items": items}, headers=bearer(people["lead"])
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/api/v1/cases/bulk", json={"action": "accept", "items": []}, headers=bearer(people["lead"])
        ).status_code
        == 422
    )

    # the page: tick boxes, one form, the result per case
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={"username": people["lead"].username, "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    listed = client.get("/cases").get_data(as_text=True)
    assert 'name="pick"' in listed and 'id="bulk"' in listed
    session.expire_all()
    result = client.post(
        "/cases/bulk",
        data={
            "csrf_token": csrf_from(listed),
            "action": "assign",
            "assignee": str(people["plumber"].id),
            "pick": [f"{cases[0].id}:{cases[0].version}", f"{cases[1].id}:1"],
        },
    ).get_data(as_text=True)
    assert f'data-id="{cases[0].id}" data-outcome="done"' in result
    assert f'data-id="{cases[1].id}" data-outcome="changed"' in result


def test_reply_templates_kept_by_the_lead_used_by_the_members(client, session, people):
    session.flush()
    made = client.post(
        "/api/v1/templates", json={"text": "已派人处理，预计今日修复"}, headers=bearer(people["lead"])
    )
    assert made.status_code == 201
    listed = client.get("/api/v1/templates", headers=bearer(people["plumber"])).get_json()
    assert [t["text"] for t in listed] == ["已派人处理，预计今日修复"]
    assert client.get("/api/v1/templates", headers=bearer(people["road_man"])).get_json() == []
    refused = client.post("/api/v1/templates", json={"text": "我也想加"}, headers=bearer(people["plumber"]))
    assert refused.status_code == 403
    assert (
        client.post("/api/v1/templates", json={"text": "  "}, headers=bearer(people["lead"])).status_code
        == 422
    )
    tid = made.get_json()["id"]
    assert client.delete(f"/api/v1/templates/{tid}", headers=bearer(people["road_man"])).status_code == 404
    assert client.delete(f"/api/v1/templates/{tid}", headers=bearer(people["lead"])).status_code == 204


def test_saved_filters_are_ones_own(client, session, people):
    session.flush()
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={"username": people["dispatcher"].username, "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    listed = client.get("/cases?status=reported&q=井盖").get_data(as_text=True)
    assert 'id="save-filter"' in listed
    saved = client.post(
        "/cases/filters",
        data={"csrf_token": csrf_from(listed), "name": "待受理井盖", "query": "status=reported&q=井盖"},
    )
    assert saved.status_code == 302
    assert "待受理井盖" in client.get("/cases").get_data(as_text=True)
    other = client.application.test_client()
    page = other.get("/login").get_data(as_text=True)
    other.post(
        "/login",
        data={"username": people["supervisor"].username, "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    assert "待受理井盖" not in other.get("/cases").get_data(as_text=True)


@pytest.mark.parametrize("sort", ["created", "deadline", "status", "department", "assignee", "id"])
@pytest.mark.parametrize("descending", [True, False])
def test_keyset_pages_walk_the_list_both_ways(session, people, sort, descending):
    from gis.cases.listing import CaseFilter, cursor_of, find_cases

    made = [_report(session, people, f"第{i}件", col=i % 4) for i in range(13)]
    for i, r in enumerate(made):
        if i % 3 == 0:
            _to(session, r, people, "accept", "open", "dispatch", department="water" if i % 2 else "roads")
            if i % 2:
                act(session, r, people["lead"], "assign", version=r.version, assignee_id=people["plumber"].id)
        elif i % 3 == 1:
            _to(session, r, people, "accept")
    f = CaseFilter(sort=sort, descending=descending)
    whole = [row.report.id for row in find_cases(session, people["dispatcher"], f, 1, 100)[0]]
    assert len(whole) == 13
    walked, pages = [], []
    page = find_cases(session, people["dispatcher"], f, 1, 4)[0]
    while page:
        pages.append([row.report.id for row in page])
        walked += pages[-1]
        f = CaseFilter(sort=sort, descending=descending, after=cursor_of(f, page[-1].report))
        page = find_cases(session, people["dispatcher"], f, 1, 4)[0]
    assert walked == whole  # every case once, in the list's order
    # and back from the last page, page by page
    back = pages[-1]
    for expected in reversed(pages[:-1]):
        f = CaseFilter(sort=sort, descending=descending, before=cursor_of(f, session.get(Report, back[0])))
        back = [row.report.id for row in find_cases(session, people["dispatcher"], f, 1, 4)[0]]
        assert back == expected


def test_a_broken_page_link_is_a_clear_422(login, session, people):
    session.flush()
    client = login(people["dispatcher"], PASSWORD)
    answer = client.get("/cases?sort=deadline&after=notadate~12")
    assert answer.status_code == 422 and "page link is broken" in answer.get_data(as_text=True)
    assert client.get("/cases?sort=deadline&after=~12&page=2").status_code == 200  # among the empty deadlines


def test_the_lead_keeps_templates_on_a_page_and_a_member_picks_one_on_a_case(login, session, people):
    session.flush()
    client = login(people["lead"], PASSWORD)
    page = client.get("/templates").get_data(as_text=True)
    assert 'id="add-template"' in page
    client.post("/templates", data={"csrf_token": csrf_from(page), "text": "已到现场，正在抢修"})
    assert "已到现场，正在抢修" in client.get("/templates").get_data(as_text=True)
    report = _report(session, people, "水管爆裂")
    _to(session, report, people, "accept", "open", "dispatch")
    session.flush()
    member = login(people["plumber"], PASSWORD)
    assert 'id="add-template"' not in member.get("/templates").get_data(as_text=True)
    case_page = member.get(f"/cases/{report.id}").get_data(as_text=True)
    assert 'id="reply-templates"' in case_page and "已到现场，正在抢修" in case_page
