"""final_case_counts: the ended cases' counts the indicators read for whole months, kept by triggers
on reports. Whatever happens to the reports, the figures must equal judging every report."""

import datetime as dt
import random

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select, text

from gis.cases.categories import TREE
from gis.cases.lifecycle import act
from gis.indicators import FIGURES, LEVELS, indicators, kept_months, parse_period, whole_months
from gis.models import CHANNELS, COUNTED_GROUPS, FINAL_COUNTS, Report, final_case_counts
from tests.factories import CELL, ORIGIN

UTC = dt.UTC
NOW = dt.datetime(2027, 2, 10, 12, tzinfo=UTC)
ZONE = "Asia/Shanghai"
PERIODS = [parse_period(p, ZONE) for p in ("2026", "2026-Q4", "2026-11", "2026-W47", "2026-10-31")] + [
    parse_period(None, ZONE, date_from=dt.date(2026, 9, 15), date_to=dt.date(2026, 12, 20))
]
STATUSES = ("reported", "accepted", "voided", "opened", "dispatched", "handled", "verified", "closed")


def make_report(session, grid, department, created, status, rng, **extra):
    hours = dt.timedelta(hours=rng.choice((1, 5, 30, 100, 400)))
    deadline = created + dt.timedelta(hours=rng.choice((4, 48, 200))) if rng.random() < 0.7 else None
    fields = dict(
        geom=from_shape(Point(ORIGIN[0] + CELL / 2, ORIGIN[1] + CELL / 2), 4326),
        original_lon=ORIGIN[0],
        original_lat=ORIGIN[1],
        description="",
        category_code=rng.choice(("0101", "0203", "1101", "2301")),
        channel=rng.choice(("app", "hotline", "patrol", "public")),
        grid_id=grid and grid.id,
        department_id=department and department.id,
        status=status,
        created_at=created,
        updated_at=created,
        opened_at=created if status not in ("reported", "accepted") and rng.random() < 0.8 else None,
        dispatched_at=created if deadline else None,
        deadline_at=deadline,
        closed_at=created + hours if status == "closed" else None,
        rework_count=int(rng.random() < 0.2),
        resolved_locally=rng.random() < 0.2,
    )
    report = Report(**{**fields, **extra})
    session.add(report)
    return report


@pytest.fixture
def many_cases(session, town, make_department, make_user):
    """200 cases from September 2026 to January 2027 in the town's grids (and none), for two
    departments (and none), at every status."""
    rng = random.Random(7)
    departments = [make_department("D1"), make_department("D2"), None]
    make_user("grid_worker", grids=town["grids"][:2], username="wang")
    start = dt.datetime(2026, 9, 1, tzinfo=UTC)
    reports = [
        make_report(
            session,
            rng.choice([*town["grids"], None]),
            rng.choice(departments),
            start + dt.timedelta(hours=rng.randrange(150 * 24)),
            rng.choice(STATUSES),
            rng,
        )
        for _ in range(200)
    ]
    session.flush()
    return {"town": town, "reports": reports}


def assert_rolled_up_equals_every_report(session, within=None):
    for period in PERIODS:
        for level in LEVELS:
            rolled = indicators(session, level, period, now=NOW, within=within)
            judged = indicators(session, level, period, now=NOW, within=within, rolled_up=False)
            assert rolled == judged, (level, period.label, within)


def test_the_figures_equal_judging_every_report_whatever_happens_to_the_cases(session, many_cases):
    town, reports = many_cases["town"], many_cases["reports"]
    assert_rolled_up_equals_every_report(session)
    assert_rolled_up_equals_every_report(session, within=town["community"].code)
    assert_rolled_up_equals_every_report(session, within=town["grids"][0].code)

    open_ones = [r for r in reports if r.status not in ("closed", "voided")]
    for report in open_ones[:10]:  # cases end
        report.status, report.closed_at = "closed", report.created_at + dt.timedelta(hours=3)
    for report in open_ones[10:13]:
        report.status = "voided"
    closed = [r for r in reports if r.status == "closed"]
    closed[0].department_id = None  # an ended case edited after all
    closed[1].rework_count = 2
    session.delete(closed[2])  # and one deleted
    session.flush()
    session.execute(
        text("DELETE FROM areas WHERE id = :id"), {"id": town["grids"][3].id}
    )  # its reports: no grid
    session.expire_all()
    assert_rolled_up_equals_every_report(session)
    assert_rolled_up_equals_every_report(session, within=town["community"].code)
    assert kept_seconds(session) == seconds_of_closed_cases(session)


def kept_seconds(session) -> dict:
    """Each final_case_seconds row's times to close, as a sorted list of seconds."""
    rows = session.execute(text("SELECT keyed_by, key, month, close_seconds FROM final_case_seconds"))
    out = {}
    for keyed_by, key, month, blob in rows:
        values = sorted(int.from_bytes(blob[i : i + 4], "big", signed=True) for i in range(0, len(blob), 4))
        if values:
            out[(keyed_by, key, month)] = values
    return out


def seconds_of_closed_cases(session) -> dict:
    rows = session.execute(
        text("""
        SELECT k.keyed_by, k.key, date_trunc('month', r.created_at, 'Asia/Shanghai'),
               array_agg(floor(extract(epoch FROM r.closed_at - r.created_at))::int)
        FROM reports r,
             LATERAL (VALUES ('grid_id', r.grid_id), ('department_id', r.department_id)) k (keyed_by, key)
        WHERE r.status = 'closed' GROUP BY 1, 2, 3""")
    )
    return {(keyed_by, key, month): sorted(values) for keyed_by, key, month, values in rows}


def test_the_median_and_p90_equal_postgresql_s_percentiles_of_the_exact_times(session, many_cases):
    """Read from the kept seconds, the median and p90 are percentile_cont's over the exact times to
    close (to the microsecond) within a second, per unit and in all."""
    rng = random.Random(3)
    for report in many_cases["reports"]:  # times to close that are not whole hours
        if report.status == "closed":
            report.closed_at += dt.timedelta(seconds=rng.uniform(0, 3600))
    session.flush()
    exact = {
        (code, float(q)): value
        for code, q, value in session.execute(
            text("""
            SELECT a.code, q, percentile_cont(q) WITHIN GROUP (ORDER BY
                       extract(epoch FROM r.closed_at - r.created_at) / 3600)
            FROM reports r JOIN areas a ON a.id = r.grid_id, unnest(ARRAY[0.5, 0.9]) q
            WHERE r.status = 'closed' AND r.created_at >= :start AND r.created_at < :end
            GROUP BY a.code, q"""),
            {"start": PERIODS[0].start, "end": PERIODS[0].end},
        )
    }
    result = indicators(session, "grid", PERIODS[0], now=NOW)
    assert {u["code"] for u in result["units"] if u["median_hours"] is not None} == {c for c, _ in exact}
    for unit in result["units"]:
        if unit["code"] in {c for c, _ in exact}:
            assert unit["median_hours"] == pytest.approx(float(exact[(unit["code"], 0.5)]), abs=0.006)
            assert unit["p90_hours"] == pytest.approx(float(exact[(unit["code"], 0.9)]), abs=0.006)


def test_whole_months_are_read_from_the_counts_and_the_rest_from_the_reports(session, many_cases):
    year, week = PERIODS[0], PERIODS[3]
    assert whole_months(week) is None
    first, last = whole_months(PERIODS[-1])  # 15 September to 20 December: October, November
    assert (first.isoformat(), last.isoformat()) == ("2026-10-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00")
    # the counts also read September and December, more inside the period than out, less the
    # ended cases of 1-14 September and 21-31 December (the figures' equality above covers them)
    first, last = kept_months(PERIODS[-1])
    assert (first.isoformat(), last.isoformat()) == ("2026-09-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00")
    assert kept_months(week) is None and kept_months(PERIODS[4]) is None  # a week, a day
    before = {p.label: indicators(session, "district", p, now=NOW)["total"]["reports"] for p in (year, week)}
    session.execute(text("UPDATE final_case_counts SET reports = reports + 1000 WHERE keyed_by = 'grid_id'"))
    after = {p.label: indicators(session, "district", p, now=NOW)["total"]["reports"] for p in (year, week)}
    assert after[week.label] == before[week.label]
    assert after[year.label] > before[year.label] + 1000
    assert (
        indicators(session, "district", year, now=NOW, rolled_up=False)["total"]["reports"]
        == before[year.label]
    )


def test_an_open_case_is_not_counted_and_closing_it_counts_it(session, town, make_user):
    rng = random.Random(1)
    created = dt.datetime(2026, 11, 3, tzinfo=UTC)
    report = make_report(
        session,
        town["grids"][0],
        None,
        created,
        "verified",
        rng,
        channel="hotline",
        category_code="2301",
        rework_count=0,
        opened_at=created,
        dispatched_at=created,
        deadline_at=created + dt.timedelta(hours=48),
    )
    session.flush()
    assert session.scalar(text("SELECT count(*) FROM final_case_counts")) == 0
    act(
        session,
        report,
        make_user("dispatcher"),
        "close",
        version=report.version,
        now=dt.datetime(2026, 11, 4, tzinfo=UTC),
    )
    row = session.execute(
        select(final_case_counts).where(
            final_case_counts.c.keyed_by == "grid_id", final_case_counts.c.key == town["grids"][0].id
        )
    ).one()
    assert row.month == dt.datetime(2026, 10, 31, 16, tzinfo=UTC)  # 1 November, Beijing time
    counted = {name for name in FINAL_COUNTS if row._mapping[name]}
    assert counted == {"reports", "closed", "due", "on_time", "opened", "handled", "ch:hotline", "cat:23"}
    department_row = session.execute(
        text("SELECT reports FROM final_case_counts WHERE keyed_by = 'department_id' AND key IS NULL")
    ).scalar_one()
    assert department_row == 1
    session.execute(text("TRUNCATE reports CASCADE"))
    assert session.scalar(text("SELECT count(*) FROM final_case_counts")) == 0


def test_a_closed_case_must_say_when(session, town):
    report = make_report(
        session, town["grids"][0], None, dt.datetime(2026, 11, 3, tzinfo=UTC), "closed", random.Random(2)
    )
    report.closed_at = None
    with pytest.raises(Exception, match="ck_reports_closed_at"):
        session.flush()


def test_every_figure_and_category_group_has_its_column():
    assert set(FIGURES) | {f"ch:{c}" for c in CHANNELS} <= set(FINAL_COUNTS)
    groups = {code for entries in TREE.values() for code, *_ in entries if len(code) == 2}
    assert groups == set(COUNTED_GROUPS), (
        "a new category group needs a final_case_counts column (a migration)"
    )
