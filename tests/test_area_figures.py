"""area_figures: each grid's and community's buildings, households and open cases with their
deadlines, kept by triggers. Whatever happens to buildings, reports and areas, the rows must equal
counting them again, and "overdue now" read from the deadlines must equal judging each case."""

import datetime as dt
import random
import threading

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import text

from gis.cases.lifecycle import act
from gis.models import Report
from tests.factories import CELL, ORIGIN, square

UTC = dt.UTC
START = dt.datetime(2026, 11, 1, tzinfo=UTC)
STATUSES = ("reported", "accepted", "voided", "opened", "dispatched", "handled", "verified", "closed")

RECOUNT_SQL = text("""
    WITH grid_of AS (SELECT id AS area_id, id AS grid_id FROM areas WHERE level = 'grid'
                     UNION ALL
                     SELECT parent_id, id FROM areas WHERE level = 'grid' AND parent_id IS NOT NULL)
    SELECT k.area_id,
           (SELECT count(*) FROM buildings b JOIN grid_of g ON g.grid_id = b.grid_id
            WHERE g.area_id = k.area_id),
           (SELECT coalesce(sum(b.households), 0) FROM buildings b JOIN grid_of g ON g.grid_id = b.grid_id
            WHERE g.area_id = k.area_id),
           (SELECT count(*) FROM reports r JOIN grid_of g ON g.grid_id = r.grid_id
            WHERE g.area_id = k.area_id AND r.status NOT IN ('closed', 'voided')),
           (SELECT count(*) FROM reports r JOIN grid_of g ON g.grid_id = r.grid_id
            WHERE g.area_id = k.area_id AND r.status NOT IN ('closed', 'voided') AND r.deadline_at < now()),
           coalesce((SELECT array_agg(r.deadline_at ORDER BY r.deadline_at) FROM reports r
                     JOIN grid_of g ON g.grid_id = r.grid_id
                     WHERE g.area_id = k.area_id AND r.status NOT IN ('closed', 'voided')
                       AND r.deadline_at IS NOT NULL), '{}')
    FROM (SELECT DISTINCT area_id FROM grid_of) k
""")
KEPT_SQL = text("""
    SELECT a.id, coalesce(f.buildings, 0), coalesce(f.households, 0), coalesce(f.open, 0),
           coalesce(width_bucket(now() - interval '1 microsecond', f.deadlines), 0),
           coalesce(f.deadlines, '{}')
    FROM areas a LEFT JOIN area_figures f ON f.area_id = a.id
    WHERE a.level = 'grid' OR a.id IN (SELECT parent_id FROM areas WHERE level = 'grid')
""")


def assert_figures_equal_counting_again(session):
    session.flush()
    recounted = {row[0]: tuple(row[1:]) for row in session.execute(RECOUNT_SQL)}
    kept = {row[0]: tuple(row[1:]) for row in session.execute(KEPT_SQL)}
    assert kept == recounted


def add_report(session, grid, rng, **extra):
    created = START + dt.timedelta(hours=rng.randrange(40 * 24))
    status = rng.choice(STATUSES)
    # a few deadlines shared by several cases: one taken back must not take back the others
    deadline = rng.choice(
        [None, created + dt.timedelta(hours=48), START + dt.timedelta(days=rng.choice((3, 30, 3000)))]
    )
    report = Report(
        geom=from_shape(Point(ORIGIN[0] + CELL / 2, ORIGIN[1] + CELL / 2), 4326),
        original_lon=ORIGIN[0],
        original_lat=ORIGIN[1],
        category_code="0101",
        description="",
        grid_id=grid and grid.id,
        status=status,
        created_at=created,
        updated_at=created,
        deadline_at=deadline,
        closed_at=created + dt.timedelta(hours=5) if status == "closed" else None,
        **extra,
    )
    session.add(report)
    return report


def test_the_figures_equal_counting_again_whatever_happens(
    session, town, make_area, make_building, make_user
):
    rng = random.Random(5)
    grids = town["grids"]
    reports = [add_report(session, rng.choice([*grids, None]), rng) for _ in range(120)]
    buildings = [
        make_building(
            square(i % 2, i // 2 % 2, CELL / 4),
            grid=rng.choice([*grids, None]),
            households=rng.choice((None, 12, 40)),
        )
        for i in range(12)
    ]
    assert_figures_equal_counting_again(session)

    open_ones = [r for r in reports if r.status not in ("closed", "voided")]
    for report in open_ones[:8]:  # cases end
        report.status, report.closed_at = "closed", report.created_at + dt.timedelta(hours=2)
    for report in open_ones[8:14]:  # deadlines set, moved, dropped
        report.deadline_at = rng.choice([None, START + dt.timedelta(days=3), START + dt.timedelta(days=90)])
    for report in open_ones[14:20]:  # reassigned, or out of every grid
        report.grid_id = rng.choice([grids[0].id, grids[3].id, None])
    open_ones[20].description = "edited, nothing the map counts"
    session.delete(open_ones[21])
    buildings[0].households, buildings[1].grid_id = 99, grids[2].id
    session.delete(buildings[2])
    assert_figures_equal_counting_again(session)

    dispatcher = make_user("dispatcher")
    waiting = next(r for r in reports if r.status == "reported")
    session.flush()
    act(session, waiting, dispatcher, "accept", version=waiting.version)
    act(session, waiting, dispatcher, "open", version=waiting.version)
    assert_figures_equal_counting_again(session)

    # an import re-links a grid to another community, then deletes another grid outright
    other = make_area("community", "650202001002", square(5, 5), "第二社区", town["street"])
    session.execute(  # (its code follows: a code starts with its parent's)
        text("UPDATE areas SET parent_id = :c, code = :code WHERE id = :g"),
        {"c": other.id, "code": other.code + "001", "g": grids[1].id},
    )
    assert_figures_equal_counting_again(session)
    session.execute(text("DELETE FROM areas WHERE id = :id"), {"id": grids[3].id})
    session.expire_all()
    assert_figures_equal_counting_again(session)


def test_emptying_reports_or_buildings_empties_their_figures(session, town, make_building):
    rng = random.Random(3)
    for _ in range(30):
        add_report(session, town["grids"][0], rng)
    make_building(square(0, 0, CELL / 4), grid=town["grids"][0], households=30)
    session.flush()
    session.execute(text("TRUNCATE reports CASCADE"))
    assert session.scalar(text("SELECT sum(open) + sum(cardinality(deadlines)) FROM area_figures")) == 0
    assert session.scalar(text("SELECT sum(households) FROM area_figures")) == 60  # grid and community
    session.execute(text("TRUNCATE buildings CASCADE"))
    assert session.scalar(text("SELECT sum(households) + sum(buildings) FROM area_figures")) == 0


def test_two_phones_reporting_in_one_grid_at_once_are_both_counted(committed, engine):
    """The second writer waits for the first one's row lock, then adds to what it committed."""
    outline = square(0, 0)
    committed.execute(
        text("""
        INSERT INTO areas (level, code, name, geom, area_m2) VALUES
            ('community', '650202001001', '第一社区', ST_Multi(ST_GeomFromText(:wkt, 4326)), 0)"""),
        {"wkt": outline.wkt},
    )
    committed.execute(
        text("""
        INSERT INTO areas (level, code, name, geom, area_m2, parent_id)
        SELECT 'grid', '650202001001001', '第1网格', geom, 0, id FROM areas WHERE level = 'community'""")
    )
    committed.commit()
    grid_id = committed.scalar(text("SELECT id FROM areas WHERE level = 'grid'"))
    insert = text("""
        INSERT INTO reports (geom, original_crs, original_lon, original_lat, category_code, description,
                             channel, grid_id, assignment, status, response_level, resolved_locally,
                             rework_count, created_at, updated_at, version, deadline_at)
        VALUES (ST_SetSRID(ST_MakePoint(84.901, 44.301), 4326), 'wgs84', 84.901, 44.301, '0101', '',
                'app', :grid, 'inside', 'dispatched', 'community', false, 0, now(), now(), 1, :deadline)""")
    first = engine.connect()
    first.begin()
    first.execute(insert, {"grid": grid_id, "deadline": START})
    done = threading.Event()

    def second_phone():
        with engine.begin() as conn:
            conn.execute(insert, {"grid": grid_id, "deadline": START})
        done.set()

    thread = threading.Thread(target=second_phone)
    thread.start()
    assert not done.wait(0.5)  # waiting on the first phone's rows
    first.commit()
    first.close()
    thread.join(10)
    assert done.is_set()
    rows = committed.execute(
        text(
            "SELECT a.level, f.open, f.deadlines FROM area_figures f "
            "JOIN areas a ON a.id = f.area_id ORDER BY a.level"
        )
    ).all()
    assert [(level, n, len(deadlines)) for level, n, deadlines in rows] == [
        ("community", 2, 2),
        ("grid", 2, 2),
    ]


def test_a_buildings_import_adds_its_figures_at_its_end(session, town, make_building, tmp_path, monkeypatch):
    """import_buildings copies chunk by chunk with the figures left for its end (so the rows a pin
    adds to are not locked for the whole import): added, or with --replace put instead, at the end."""
    import geopandas as gpd

    from gis.areas import importer

    make_building(square(0, 0, CELL / 4), grid=town["grids"][0], households=7)
    frame = gpd.GeoDataFrame(
        {"户数": [10, 20, 30]},
        geometry=[square(k % 2, 0, CELL / 5) for k in range(3)],
        crs=4326,
    )
    path = tmp_path / "b.geojson"
    frame.to_file(path, driver="GeoJSON")
    monkeypatch.setattr(importer, "CHUNK", 1)
    importer.import_buildings(session, path)
    assert_figures_equal_counting_again(session)
    importer.import_buildings(session, path, replace=True)
    assert_figures_equal_counting_again(session)
    assert session.scalar(text("SELECT current_setting('gridwatch.area_figures_later', true)")) == "off"
