"""Indicators: each formula checked on a hand-made set of cases whose figures are worked out below."""

import csv
import datetime as dt
import io

import numpy as np
import pytest
from geoalchemy2.shape import from_shape
from openpyxl import load_workbook
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import text

from gis.beside import beside
from gis.errors import Invalid
from gis.indicators import grade, indicators, parse_period, percentiles, percentiles_of_all, trend
from gis.models import Area, Department, Report
from tests.factories import CELL, ORIGIN

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 10, 12, tzinfo=UTC)
NOV = parse_period("2026-11", "Asia/Shanghai")


def at(month, day, hour=12):
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def cases(session, town, make_department, make_user):
    """Grid 1: a closed on time (10 h), b closed late after a rework (72 h), c overdue, d still in
    time, e voided, g overdue from October. Grid 2: f solved on the spot (2 h). h unassigned."""
    d1, d2 = make_department("D1", "自来水公司"), make_department("D2", "市政道路处")
    g1, g2 = town["grids"][0], town["grids"][1]
    make_user("grid_worker", grids=[g1, g2], username="wang")
    make_user("grid_worker", grids=[g2], username="li")

    def report(
        name,
        grid,
        created,
        status,
        *,
        deadline=None,
        closed=None,
        opened=True,
        department=None,
        rework=0,
        local=False,
        channel="app",
        category="0101",
    ):
        x = ORIGIN[0] + CELL / 2 + (CELL if grid is g2 else 0)
        row = Report(
            geom=from_shape(Point(x, ORIGIN[1] + CELL / 2), 4326),
            original_lon=x,
            original_lat=ORIGIN[1],
            category_code=category,
            description=name,
            channel=channel,
            grid_id=grid and grid.id,
            status=status,
            created_at=created,
            updated_at=created,
            opened_at=created if opened else None,
            dispatched_at=created if deadline else None,
            deadline_at=deadline,
            closed_at=closed,
            department_id=department and department.id,
            rework_count=rework,
            resolved_locally=local,
        )
        session.add(row)
        return row

    report("a", g1, at(11, 2), "closed", deadline=at(11, 5), closed=at(11, 2, 22), department=d1)
    report(
        "b",
        g1,
        at(11, 3),
        "closed",
        deadline=at(11, 4),
        closed=at(11, 6),
        department=d1,
        rework=1,
        channel="hotline",
    )
    report("c", g1, at(11, 10), "dispatched", deadline=at(11, 12), department=d2, category="2301")
    report("d", g1, at(11, 28), "dispatched", deadline=at(12, 20), department=d2)
    report("e", g1, at(11, 15), "voided", opened=False)
    report("f", g2, at(11, 20), "closed", closed=at(11, 20, 14), opened=False, local=True, channel="patrol")
    report("g", g1, at(10, 20), "dispatched", deadline=at(10, 25), department=d1)
    report("h", None, at(11, 5), "reported", opened=False, channel="public")
    session.flush()
    return town


def by_code(result):
    return {u["code"]: u for u in result["units"]}


def test_grid_figures(session, cases):
    result = indicators(session, "grid", NOV, now=NOW)
    g1 = by_code(result)[cases["grids"][0].code]
    # reports a b c d e; due = a, b (closed) + c (past deadline); d still has time, e voided
    assert {k: g1[k] for k in ("reports", "voided", "opened", "due", "closed", "on_time")} == {
        "reports": 5,
        "voided": 1,
        "opened": 4,
        "due": 3,
        "closed": 2,
        "on_time": 1,
    }
    assert g1["closure_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert g1["on_time_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert g1["rework_rate"] == 0.5  # b of a and b, the two handled at least once
    assert g1["solved_locally_share"] == 0.0
    assert g1["median_hours"] == 41.0  # 10 h and 72 h
    assert g1["p90_hours"] == pytest.approx(10 + 0.9 * 62)
    assert g1["overdue_now"] == 2  # c, and g from October: the backlog is today's
    assert g1["grade"] == "E"  # 33 %
    assert g1["by_channel"] == {"app": 4, "hotline": 1}
    assert g1["by_category"] == {"01": 4, "23": 1}

    g2 = by_code(result)[cases["grids"][1].code]
    assert (g2["reports"], g2["due"], g2["closed"], g2["on_time"]) == (1, 1, 1, 1)
    assert g2["solved_locally_share"] == 1.0 and g2["rework_rate"] is None
    assert g2["grade"] == "A" and g2["median_hours"] == 2.0

    unassigned = by_code(result)[None]
    assert unassigned["name"] == "unassigned" and unassigned["reports"] == 1 and unassigned["due"] == 0
    assert unassigned["closure_rate"] is None and unassigned["grade"] is None


def test_total_and_higher_levels_add_up(session, cases):
    grid_total = indicators(session, "grid", NOV, now=NOW)["total"]
    assert (grid_total["reports"], grid_total["due"], grid_total["closed"], grid_total["on_time"]) == (
        7,
        4,
        3,
        2,
    )
    assert grid_total["closure_rate"] == 0.75 and grid_total["on_time_rate"] == 0.5
    assert grid_total["grade"] == "D" and grid_total["overdue_now"] == 2
    for level in ("community", "street", "district", "department", "worker"):
        assert indicators(session, level, NOV, now=NOW)["total"] == grid_total, level
    street = by_code(indicators(session, "street", NOV, now=NOW))
    assert street[cases["street"].code]["reports"] == 6 and street[None]["reports"] == 1


def test_a_period_with_no_closed_case_has_no_median(session, cases):
    result = indicators(session, "grid", parse_period("2026-11-28", "Asia/Shanghai"), now=NOW)
    assert result["total"]["reports"] == 1 and result["total"]["closed"] == 0
    assert (result["total"]["median_hours"], result["total"]["p90_hours"]) == (None, None)


def test_departments_and_workers(session, cases):
    departments = by_code(indicators(session, "department", NOV, now=NOW))
    assert departments["D1"]["reports"] == 2 and departments["D1"]["on_time_rate"] == 0.5
    assert departments["D2"]["due"] == 1 and departments["D2"]["closure_rate"] == 0.0
    assert departments["D1"]["overdue_now"] == 1 and departments["D2"]["overdue_now"] == 1
    workers = by_code(indicators(session, "worker", NOV, now=NOW))
    assert workers["wang"]["reports"] == 6  # grids 1 and 2
    assert workers["li"]["reports"] == 1 and workers["li"]["grade"] == "A"


def test_within_limits_to_an_area(session, cases):
    result = indicators(session, "grid", NOV, now=NOW, within=cases["grids"][1].code)
    assert [u["code"] for u in result["units"]] == [cases["grids"][1].code]
    assert result["total"]["reports"] == 1


def test_trend_per_week_channel_and_category(session, cases):
    result = trend(session, NOV)
    assert sum(w["reports"] for w in result["weeks"]) == 7
    assert result["weeks"][0]["week"] == "2026-11-02"  # 2 November 2026 is a Monday
    assert result["by_channel"] == {"app": 4, "hotline": 1, "patrol": 1, "public": 1}
    assert result["by_category"][0] == {"code": "01", "name": result["by_category"][0]["name"], "reports": 6}


def test_trend_takes_channel_and_group_counts_from_the_indicators_total(session, cases):
    for within in (None, cases["grids"][0].code):
        total = indicators(session, "community", NOV, now=NOW, within=within)["total"]
        assert total["by_channel"] and total["by_category"]
        assert trend(session, NOV, within, totals=total) == trend(session, NOV, within)


@pytest.mark.parametrize(
    "value, start, end",
    [
        ("2026", "2026-01-01", "2027-01-01"),
        ("2026-Q4", "2026-10-01", "2027-01-01"),
        ("2026-q1", "2026-01-01", "2026-04-01"),
        ("2026-02", "2026-02-01", "2026-03-01"),
        ("2026-W47", "2026-11-16", "2026-11-23"),
        ("2026-11-20", "2026-11-20", "2026-11-21"),
        ("last7", "2026-11-17", "2026-11-24"),
    ],
)
def test_periods(value, start, end):
    period = parse_period(value, "Asia/Shanghai", today=dt.date(2026, 11, 23))
    assert period.start.date().isoformat() == start and period.end.date().isoformat() == end
    assert period.start.utcoffset() == dt.timedelta(hours=8)


@pytest.mark.parametrize("value", ["2026-13", "yesterday", "2026-W60", "last0"])
def test_bad_periods_say_what_is_expected(value):
    with pytest.raises(Invalid):
        parse_period(value)


def test_grades():
    assert [grade(x) for x in (1.0, 0.9, 0.8999, 0.75, 0.6, 0.4, 0.39, None)] == [
        "A",
        "A",
        "B",
        "B",
        "C",
        "D",
        "E",
        None,
    ]


def test_stats_api_and_exports(client, cases, make_user, login):
    supervisor = make_user("supervisor")
    headers = {"Authorization": f"Bearer {supervisor.token}"}
    body = client.get("/api/v1/stats?level=department&period=2026-11&trend=1", headers=headers).get_json()
    assert body["total"]["reports"] == 7 and {u["code"] for u in body["units"]} == {"D1", "D2", None}
    assert sum(w["reports"] for w in body["trend"]["weeks"]) == 7

    bad = client.get("/api/v1/stats?period=soon", headers=headers)
    assert bad.status_code == 422 and "2026-Q4" in bad.get_json()["error"]
    assert client.get("/api/v1/stats?level=planet", headers=headers).status_code == 422
    worker = make_user("grid_worker")
    assert client.get("/api/v1/stats", headers={"Authorization": f"Bearer {worker.token}"}).status_code == 403

    login(supervisor)
    response = client.get("/dashboard/export.csv?level=grid&period=2026-11")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0][:3] == ["code", "name", "reports"] and table[-1][0] == "total"
    assert table[-1][2] == "7" and any(row[1] == "第1网格" for row in table)

    response = client.get("/dashboard/export.xlsx?level=grid&period=2026-11")
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet["A1"].value == "code" and sheet.cell(sheet.max_row, 3).value == 7
    assert client.get("/dashboard").status_code == 200


@pytest.fixture
def closed_cases(committed):
    """A grid with three cases closed after 2, 10 and 72 hours, committed for real."""
    outline = box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + CELL, ORIGIN[1] + CELL)
    parent = None
    for level, code in (
        ("district", "650202"),
        ("street", "650202001"),
        ("community", "650202001001"),
        ("grid", "650202001001001"),
    ):
        parent = Area(
            level=level,
            code=code,
            name=code,
            parent_id=parent and parent.id,
            geom=from_shape(MultiPolygon([outline]), 4326),
            area_m2=0,
        )
        committed.add(parent)
        committed.flush()
    for hours in (2, 10, 72):
        committed.add(
            Report(
                geom=from_shape(Point(*ORIGIN), 4326),
                original_lon=ORIGIN[0],
                original_lat=ORIGIN[1],
                category_code="0101",
                description="",
                channel="app",
                grid_id=parent.id,
                status="closed",
                created_at=at(11, 2),
                updated_at=at(11, 2),
                closed_at=at(11, 2) + dt.timedelta(hours=hours),
            )
        )
    committed.commit()
    return committed


def test_percentiles_beside_the_counts_give_the_same_figures(closed_cases):
    committed = closed_cases
    beside = indicators(committed, "grid", NOV, now=NOW)
    committed.rollback()
    committed.add(Department(code="DX", name="x"))  # a write of its own: one connection only
    committed.flush()
    alone = indicators(committed, "grid", NOV, now=NOW)
    assert beside == alone
    assert (beside["total"]["median_hours"], beside["total"]["p90_hours"]) == (10.0, 59.6)


def test_work_goes_to_a_second_connection_only_when_this_one_has_written_nothing(
    committed, session, make_department
):
    def backend(s):
        return s.scalar(text("SELECT pg_backend_pid()"))

    with beside(committed, backend) as result:
        here = committed.scalar(text("SELECT pg_backend_pid()"))
    assert result() != here
    make_department("DY")  # the test's transaction has written: the work must see that row
    with beside(session, lambda s: s.scalar(text("SELECT count(*) FROM departments"))) as result:
        assert result() == 1


def test_the_percentiles_interpolate_as_percentile_cont_does():
    """Linear between the two nearest sorted values (numpy's default, PostgreSQL's
    percentile_cont), per blob of seconds and over one big blob; None for none."""
    rng = np.random.default_rng(1)
    groups = [rng.integers(-10, 10**7, n) for n in (0, 1, 2, 7, 100, 0, 1000)]
    blobs = [group.astype(">i4").tobytes() for group in groups]
    for group, found in zip(groups, percentiles(blobs)):
        if len(group):
            assert found == pytest.approx(tuple(np.percentile(group / 3600, [50, 90])), rel=1e-12)
        else:
            assert found is None
    every = np.concatenate(groups) / 3600
    assert percentiles_of_all(b"".join(blobs)) == pytest.approx(
        tuple(np.percentile(every, [50, 90])), rel=1e-12
    )
    assert percentiles_of_all(b"") is None and percentiles([]) == []
