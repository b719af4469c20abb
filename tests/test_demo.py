"""The demo city is believable: a seamless hierarchy, buildings in grids, reports all along the loop."""

from collections import Counter

from sqlalchemy import func, select, text

from gis.demo import DEMO_PASSWORD, is_empty, load_demo
from gis.models import ROLES, Area, Building, Report, ReportEvent, User


def test_demo_city_is_a_seamless_hierarchy(session):
    assert is_empty(session)
    summary = load_demo(session)
    assert not is_empty(session)
    levels = Counter(session.scalars(select(Area.level)))
    assert levels == {"district": 1, "street": 3, "community": 6, "grid": 96}
    assert summary.areas == 106
    # every code has its level's length and starts with its parent's code
    rows = session.execute(
        text("SELECT c.code, c.level, p.code FROM areas c LEFT JOIN areas p ON p.id = c.parent_id")
    ).all()
    for code, level, parent_code in rows:
        assert len(code) == {"district": 6, "street": 9, "community": 12, "grid": 15}[level]
        assert parent_code is None or code.startswith(parent_code)
    # grids tile the district: no overlaps, and together exactly its area
    overlap = session.scalar(
        text(
            "SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0) FROM areas a "
            "JOIN areas b ON a.id < b.id AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom) "
            "WHERE a.level = 'grid' AND b.level = 'grid'"
        )
    )
    assert overlap < 1.0  # m²: shared borders only
    grid_sum, district_area = session.execute(
        text(
            "SELECT (SELECT sum(area_m2) FROM areas WHERE level = 'grid'), "
            "(SELECT area_m2 FROM areas WHERE level = 'district')"
        )
    ).one()
    assert abs(grid_sum - district_area) / district_area < 1e-6
    assert 8e6 < district_area < 9.5e6  # 3.6 km × 2.4 km


def test_demo_buildings_lie_in_their_grids(session):
    load_demo(session)
    assert session.scalar(select(func.count()).select_from(Building)) > 400
    outside = session.scalar(
        text(
            "SELECT count(*) FROM buildings b JOIN areas g ON g.id = b.grid_id "
            "WHERE NOT ST_Covers(g.geom, b.geom)"
        )
    )
    assert outside == 0


def test_demo_reports_run_through_the_loop(session):
    summary = load_demo(session)
    statuses = Counter(session.scalars(select(Report.status)))
    assert sum(statuses.values()) == summary.reports >= 40
    assert {"reported", "accepted", "opened", "dispatched", "handled", "verified", "closed", "voided"} <= set(
        statuses
    )
    assert session.scalar(select(func.count()).where(Report.rework_count > 0)) > 0
    assert session.scalar(select(func.count()).where(Report.resolved_locally)) > 0
    # every report's history ends in its current status
    last = session.execute(
        text(
            "SELECT DISTINCT ON (report_id) r.status, e.to_status FROM report_events e "
            "JOIN reports r ON r.id = e.report_id ORDER BY report_id, e.id DESC"
        )
    ).all()
    assert all(status == to_status for status, to_status in last)
    assert session.scalar(select(func.count()).select_from(ReportEvent)) > summary.reports


def test_demo_logins_cover_every_role(session):
    summary = load_demo(session)
    roles = {role for _, role in summary.logins}
    assert roles == set(ROLES)
    worker = session.scalar(select(User).where(User.username == "worker"))
    assert len(worker.grids) == 4
    street = session.scalar(select(User).where(User.username == "street"))
    assert street.role == "supervisor" and street.area_code == "650202001"
    assert len(DEMO_PASSWORD) >= 8
    head = session.scalar(select(User).where(User.username == "louzhang"))
    assert head.role == "volunteer" and len(head.area_code) == 12
    assert summary.households > 0 and 0 < summary.visits < summary.households


def test_demo_workers_patrolled_their_grids_in_the_last_day(session):
    import datetime as dt

    from gis.patrols.coverage import Window, grid_coverage

    now = dt.datetime.now(dt.UTC)
    summary = load_demo(session, now=now)
    assert summary.streets == 22 and summary.patrols == 6
    coverage = grid_coverage(session, Window(now - dt.timedelta(hours=24), now))
    visited = [g for g in coverage.grids if g["minutes"] > 0]
    assert 2 <= len(visited) <= 20  # round their own grids (and the neighbours' edges)
    assert all(g["street_share"] is not None for g in coverage.grids)
    assert max(g["street_share"] for g in visited) > 0.5
    tracks = session.execute(text("SELECT cleaning FROM patrol_tracks")).scalars().all()
    assert sum(t["dropped"].get("speed", {}).get("count", 0) for t in tracks) > 0  # the GPS jumps
