"""A generated city for the map and indicator benchmarks, made in SQL (generate_series), so a
million reports take a minute, not an hour.

``side`` × ``side`` square grids of 0.002° (≈ 160 m × 220 m) in one district 650202; communities
are blocks of 10 × 10 grids, streets are bands of 10 grid rows. Each grid has ``buildings`` small
footprints and ``reports`` reports spread over the last year: 90 % closed (80 % of those on time),
2 % voided, the rest open at every step of the loop, some overdue.

Every report's status, age, category and channel come from sequences over (grid, n) — not
``random()`` — so each grid, and so a city of any size, has the same mix of statuses exactly and of
the rest within a fraction of a percent: the small and
the big city differ in size only. Sizes are cast to int: psycopg sends a small Python int as a
smallint, and ``side * side`` overflowed it past 181 grids a side.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

ORIGIN = (84.70, 44.20)
CELL = 0.002
BLOCK = 10  # grids per community side

AREAS_SQL = text("""
    WITH g AS (
        SELECT i % CAST(:side AS int) AS col, i / CAST(:side AS int) AS row
        FROM generate_series(0, CAST(:side AS int) * CAST(:side AS int) - 1) i),
    coded AS (
        SELECT col, row,
               lpad((row / :block + 1)::text, 3, '0') AS street,
               lpad((col / :block + 1)::text, 3, '0') AS community,
               lpad(((row % :block) * :block + col % :block + 1)::text, 3, '0') AS grid
        FROM g),
    boxes AS (
        SELECT *, ST_MakeEnvelope(:x0 + col * :cell, :y0 + row * :cell,
                                  :x0 + (col + 1) * :cell, :y0 + (row + 1) * :cell, 4326) AS geom
        FROM coded)
    INSERT INTO areas (code, level, name, geom, area_m2)
    SELECT '650202', 'district', '独山子区', ST_Multi(ST_Union(geom)), 0 FROM boxes
    UNION ALL
    SELECT '650202' || street, 'street', '第' || street || '街道', ST_Multi(ST_Union(geom)), 0
    FROM boxes GROUP BY street
    UNION ALL
    SELECT '650202' || street || community, 'community', '第' || street || '-' || community || '社区',
           ST_Multi(ST_Union(geom)), 0
    FROM boxes GROUP BY street, community
    UNION ALL
    SELECT '650202' || street || community || grid, 'grid', '网格' || street || community || grid,
           ST_Multi(geom), ST_Area(geom::geography)
    FROM boxes
""")

PARENTS_SQL = text("""
    UPDATE areas c SET parent_id = p.id FROM areas p
    WHERE p.code = left(c.code, length(c.code) - CASE c.level WHEN 'street' THEN 3
                                                              WHEN 'community' THEN 3
                                                              WHEN 'grid' THEN 3 END)
      AND c.level <> 'district'
""")

BUILDINGS_SQL = text("""
    INSERT INTO buildings (name, households, floors, grid_id, geom)
    SELECT '楼' || n, 10 + (random() * 110)::int, 2 + (random() * 16)::int, a.id,
           ST_Multi(ST_Expand(ST_MakePoint(ST_XMin(a.geom) + 0.0002 + random() * (:cell - 0.0004),
                                           ST_YMin(a.geom) + 0.0002 + random() * (:cell - 0.0004)), 0.00008))
    FROM areas a, generate_series(1, CAST(:per_grid AS int)) n
    WHERE a.level = 'grid'
""")

# what the reports say, one phrase each in turn (the /cases search looks for words of them)
PHRASES = [
    "楼道里电动车充电",
    "井盖破损有人踩空",
    "消防通道被车辆堵塞",
    "路灯不亮一整晚",
    "垃圾桶满溢没人清运",
    "占道经营堵住人行道",
    "墙面开裂有掉落危险",
    "水管漏水流到楼下",
    "邻里噪音纠纷调解",
    "绿化带被毁种菜",
]

# Four draws in [0, 1) per report over its number n in its grid: u (status) takes each of
# (k + ½) / per_grid once in every grid, in an order shifted by the grid (7919 a prime, so n ↦ u is
# one-to-one), so every grid has exactly the same statuses; u2 (on time, rework), u3 (age, and the
# hours to close) and u4 (category, channel) are Weyl sequences shifted by the grid.
# Status by u: < .90 closed (80 % of those on time by u2), < .92 voided, else open steps.
REPORTS_SQL = text("""
    INSERT INTO reports (geom, original_crs, original_lon, original_lat, category_code, description,
        channel, grid_id, assignment, status, response_level, resolved_locally, rework_count,
        opened_at, dispatched_at, deadline_at, closed_at, created_at, updated_at, version)
    SELECT pt, 'wgs84', ST_X(pt), ST_Y(pt), cat,
           (CAST(:phrases AS text[]))[1 + mod(n * 7 + grid_id, cardinality(CAST(:phrases AS text[])))]
               || ' ' || n,
           ch, grid_id, 'inside',
           status, 'community', status = 'closed' AND u2 < 0.15, CASE WHEN u2 > 0.93 THEN 1 ELSE 0 END,
           CASE WHEN status NOT IN ('reported', 'accepted', 'voided') THEN created + interval '1 hour' END,
           CASE WHEN status IN ('dispatched', 'handled', 'verified', 'closed')
                THEN created + interval '2 hours' END,
           CASE WHEN status IN ('dispatched', 'handled', 'verified', 'closed')
                THEN created + interval '2 hours' + interval '72 hours' END,
           CASE WHEN status = 'closed'  -- on time: 2-74 h; late: 80-280 h, to the second
                THEN created + (CASE WHEN u2 < 0.8 THEN 2 + 72 * u3 ELSE 80 + 200 * u3 END)
                               * interval '1 hour' END,
           created, created, 1
    FROM (
        SELECT n, grid_id, pt, u2, u3 * 7 - floor(u3 * 7) AS u3,
               codes[1 + floor(u4 * cardinality(codes))::int] AS cat,
               (ARRAY['app', 'hotline', 'patrol', 'volunteer', 'video', 'public'])
                   [1 + floor(((u4 * 6) - floor(u4 * 6)) * 6)::int] AS ch,
               now() - u3 * interval '365 days' AS created,
               CASE WHEN u < 0.90 THEN 'closed' WHEN u < 0.92 THEN 'voided'
                    WHEN u < 0.93 THEN 'reported' WHEN u < 0.94 THEN 'accepted' WHEN u < 0.95 THEN 'opened'
                    WHEN u < 0.98 THEN 'dispatched' WHEN u < 0.99 THEN 'handled' ELSE 'verified' END AS status
        FROM (
            SELECT n, a.id AS grid_id, leaf.codes,
                   ST_SetSRID(ST_MakePoint(ST_XMin(a.geom) + random() * :cell,
                                           ST_YMin(a.geom) + random() * :cell), 4326) AS pt,
                   (mod(n * 7919 + a.id * 13, CAST(:per_grid AS int)) + 0.5)::float8 / :per_grid AS u,
                   mod(n * 0.7548776662 + a.id * 0.5698402910, 1)::float8 AS u2,
                   mod(n * 0.4142135624 + a.id * 0.7320508076, 1)::float8 AS u3,
                   mod(n * 0.2360679775 + a.id * 0.1622776602, 1)::float8 AS u4
            FROM areas a, generate_series(1, CAST(:per_grid AS int)) n,
                 (SELECT array_agg(code ORDER BY code) AS codes FROM categories
                  WHERE parent_code IS NOT NULL) leaf
            WHERE a.level = 'grid') d) s
""")


def make_city(session: Session, side: int, buildings: int = 30, reports: int = 100) -> dict:
    """Fill an empty, migrated database; returns the counts."""
    session.execute(text("SELECT setseed(0.42)"))
    session.execute(AREAS_SQL, {"side": side, "block": BLOCK, "cell": CELL, "x0": ORIGIN[0], "y0": ORIGIN[1]})
    session.execute(PARENTS_SQL)
    session.execute(BUILDINGS_SQL, {"cell": CELL, "per_grid": buildings})
    session.execute(REPORTS_SQL, {"cell": CELL, "per_grid": reports, "phrases": PHRASES})
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()  # statistics ANALYZE writes in a transaction never committed are lost
    return city_counts(session)


def city_database(name: str, side: int, reuse: bool, buildings: int = 30, reports: int = 100):
    """A scratch database ``<db>_<name>`` holding the city, made unless ``reuse`` finds one there
    (its build time printed): the engine and the counts."""
    import time

    from bench.common import scratch_engine

    engine = scratch_engine(name, keep=reuse)
    with Session(engine) as session:
        counts = city_counts(session)
        if counts["grids"] != side * side or counts["reports"] < side * side * reports:
            if counts["grids"]:  # another city under this name: start again
                engine.dispose()
                engine = scratch_engine(name)
            started = time.perf_counter()
            counts = make_city(session, side, buildings=buildings, reports=reports)
            print(f"city made in {time.perf_counter() - started:.0f} s")
    return engine, counts


def city_counts(session: Session) -> dict:
    return dict(
        session.execute(
            text("""
        SELECT (SELECT count(*) FROM areas WHERE level = 'grid') AS grids,
               (SELECT count(*) FROM buildings) AS buildings, (SELECT count(*) FROM reports) AS reports
    """)
        )
        .mappings()
        .one()
    )


def extent(side: int) -> tuple[float, float, float, float]:
    return ORIGIN[0], ORIGIN[1], ORIGIN[0] + side * CELL, ORIGIN[1] + side * CELL


def phone_report(rng, categories: list[str], side: int) -> dict:
    """A grid worker's report somewhere in a city of ``side`` × ``side`` grids, as a phone sends it."""
    import uuid

    return {
        "lon": ORIGIN[0] + rng.uniform(0, side * CELL),
        "lat": ORIGIN[1] + rng.uniform(0, side * CELL),
        "category": rng.choice(categories),
        "description": "bench",
        "client_id": str(uuid.uuid4()),
    }
