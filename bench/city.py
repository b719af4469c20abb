"""A generated city for the map and indicator benchmarks, made in SQL (generate_series), so a
million reports take a minute, not an hour.

``side`` × ``side`` square grids of 0.002° (≈ 160 m × 220 m) in one district 650202; communities
are blocks of 10 × 10 grids, streets are bands of 10 grid rows. Each grid has ``buildings`` small
footprints and ``reports`` reports spread over the last year: about 90 % closed (most on time),
2 % voided, the rest open at every step of the loop, some overdue.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

ORIGIN = (84.70, 44.20)
CELL = 0.002
BLOCK = 10  # grids per community side

AREAS_SQL = text("""
    WITH g AS (
        SELECT i % :side AS col, i / :side AS row FROM generate_series(0, :side * :side - 1) i),
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
    FROM areas a, generate_series(1, :per_grid) n
    WHERE a.level = 'grid'
""")

# Status by a random draw u: < .90 closed (80 % of those on time), < .92 voided, else open steps.
REPORTS_SQL = text("""
    INSERT INTO reports (geom, original_crs, original_lon, original_lat, category_code, description,
        channel, grid_id, assignment, status, response_level, resolved_locally, rework_count,
        opened_at, dispatched_at, deadline_at, closed_at, created_at, updated_at, version)
    SELECT pt, 'wgs84', ST_X(pt), ST_Y(pt), cat, '生成的报告 ' || n, ch, grid_id, 'inside',
           status, 'community', status = 'closed' AND u2 < 0.15, CASE WHEN u2 > 0.93 THEN 1 ELSE 0 END,
           CASE WHEN status NOT IN ('reported', 'accepted', 'voided') THEN created + interval '1 hour' END,
           CASE WHEN status IN ('dispatched', 'handled', 'verified', 'closed')
                THEN created + interval '2 hours' END,
           CASE WHEN status IN ('dispatched', 'handled', 'verified', 'closed')
                THEN created + interval '2 hours' + interval '72 hours' END,
           CASE WHEN status = 'closed'
                THEN created + (CASE WHEN u2 < 0.8 THEN 20 ELSE 120 END) * interval '1 hour' END,
           created, created, 1
    FROM (
        SELECT n, a.id AS grid_id,
               ST_SetSRID(ST_MakePoint(ST_XMin(a.geom) + random() * :cell,
                                       ST_YMin(a.geom) + random() * :cell), 4326) AS pt,
               leaf.codes[1 + floor(random() * cardinality(leaf.codes))::int] AS cat,
               (ARRAY['app', 'hotline', 'patrol', 'volunteer', 'video', 'public'])
                   [1 + (random() * 5)::int] AS ch,
               now() - random() * interval '365 days' AS created,
               u, random() AS u2,
               CASE WHEN u < 0.90 THEN 'closed' WHEN u < 0.92 THEN 'voided'
                    WHEN u < 0.93 THEN 'reported' WHEN u < 0.94 THEN 'accepted' WHEN u < 0.95 THEN 'opened'
                    WHEN u < 0.98 THEN 'dispatched' WHEN u < 0.99 THEN 'handled' ELSE 'verified' END AS status
        FROM areas a, generate_series(1, :per_grid) n, LATERAL (SELECT random() + 0 * n AS u) r,
             (SELECT array_agg(code) AS codes FROM categories WHERE parent_code IS NOT NULL) leaf
        WHERE a.level = 'grid') s
""")


def make_city(session: Session, side: int, buildings: int = 30, reports: int = 100) -> dict:
    """Fill an empty, migrated database; returns the counts."""
    session.execute(text("SELECT setseed(0.42)"))
    session.execute(AREAS_SQL, {"side": side, "block": BLOCK, "cell": CELL, "x0": ORIGIN[0], "y0": ORIGIN[1]})
    session.execute(PARENTS_SQL)
    session.execute(BUILDINGS_SQL, {"cell": CELL, "per_grid": buildings})
    session.execute(REPORTS_SQL, {"cell": CELL, "per_grid": reports})
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
        if not counts["grids"]:
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
