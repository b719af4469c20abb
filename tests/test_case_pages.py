"""/cases and /cases/<id>: filtered and paged, user text escaped, actions through the form."""

from gis.cases.intake import submit_report
from gis.cases.lifecycle import act
from tests.conftest import csrf_from
from tests.factories import CELL, ORIGIN

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def make_report(session, grid_index=0, category="2301", description="楼道充电", user=None, **kw):
    col, row = [(0, 0), (1, 0), (0, 1), (1, 1)][grid_index]
    return submit_report(
        session,
        lon=ORIGIN[0] + (col + 0.5) * CELL,
        lat=ORIGIN[1] + (row + 0.5) * CELL,
        category=category,
        description=description,
        reporter_id=user.id if user else None,
        **kw,
    ).report(session)


def test_case_list_filters_by_status_category_and_area(client, login, session, town, make_user):
    dispatcher = make_user("dispatcher")
    fire = make_report(session, 0, "2301")
    make_report(session, 1, "0101", "井盖")
    act(session, fire, dispatcher, "accept", version=fire.version)
    login(make_user("supervisor"))
    page = client.get("/cases").get_data(as_text=True)
    assert "2 cases" in page
    assert "1 case<" in client.get("/cases?status=accepted").get_data(as_text=True)
    assert "1 case<" in client.get("/cases?category=23").get_data(as_text=True)
    assert "1 case<" in client.get("/cases?grid=650202001001002").get_data(as_text=True)
    assert "2 cases" in client.get("/cases?grid=650202001").get_data(as_text=True)  # a street
    assert "0 cases" in client.get("/cases?overdue=1").get_data(as_text=True)


def test_case_list_pages_by_fifty(client, login, session, town, make_user):
    for n in range(55):
        make_report(session, n % 4, description=f"case {n}")
    login(make_user("supervisor"))
    first = client.get("/cases").get_data(as_text=True)
    assert "page 1 of 2" in first and first.count('href="/cases/') == 50
    second = client.get("/cases?page=2").get_data(as_text=True)
    assert second.count('href="/cases/') == 5


def test_grid_worker_sees_only_their_grids(client, login, session, town, make_user):
    worker = make_user("grid_worker", grids=town["grids"][:1])
    mine, theirs = make_report(session, 0), make_report(session, 1)
    login(worker)
    page = client.get("/cases").get_data(as_text=True)
    assert f'href="/cases/{mine.id}"' in page and f'href="/cases/{theirs.id}"' not in page
    assert client.get(f"/cases/{theirs.id}").status_code == 404  # as for a case that does not exist


def test_descriptions_are_escaped_everywhere(client, login, session, town, make_user):
    report = make_report(session, description=XSS)
    login(make_user("supervisor"))
    for path in ("/cases", f"/cases/{report.id}"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in html and 'onerror="alert' not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_case_page_action_form_moves_the_case_and_refuses_stale(client, login, session, town, make_user):
    report = make_report(session)
    login(make_user("dispatcher"))
    page = client.get(f"/cases/{report.id}").get_data(as_text=True)
    assert 'value="accept"' in page and 'value="dispatch"' not in page
    token = csrf_from(page)
    ok = client.post(
        f"/cases/{report.id}/actions", data={"action": "accept", "version": 1, "csrf_token": token}
    )
    assert ok.status_code == 302
    session.refresh(report)
    assert report.status == "accepted"
    stale = client.post(
        f"/cases/{report.id}/actions",
        data={"action": "void", "note": "x", "version": 1, "csrf_token": token},
        follow_redirects=True,
    )
    assert "changed since you loaded it" in stale.get_data(as_text=True)


def test_report_page_offers_the_category_tree(client, login, town, make_user):
    login(make_user("grid_worker", grids=town["grids"][:1]))
    assert client.get("/").headers["Location"].endswith("/report")
    page = client.get("/report").get_data(as_text=True)
    assert "E-bike charging in stairwell" in page and "楼道电动车充电" not in page
    page = client.get("/report", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "楼道电动车充电" in page and "E-bike charging in stairwell" not in page
