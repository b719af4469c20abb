"""Map layers as GeoJSON made by PostGIS (no Python loop over features), by viewport.

The envelope is built in 4326 and compared with ``&&`` so the GiST index is used; geometry is
simplified to about half a pixel at the requested zoom.
"""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.accounts import Viewer
from gis.cases.policy import Condition, areas_visible_to, handled_by, visible_to
from gis.geojson import ENVELOPE, MAP_QUERY_SETTINGS, geojson_text, tolerance_for_zoom
from gis.i18n import _
from gis.models import CODE_LENGTH, OPEN_CASE_SQL
from gis.privacy import MASK_TEXT

OPEN = f"r.{OPEN_CASE_SQL}"  # on reports r


# Overdue now among an area's open cases, from its area_figures row f: the deadlines are sorted,
# so the number before now() is a binary search (width_bucket counts those <= its operand).
OVERDUE = "width_bucket(now() - interval '1 microsecond', f.deadlines)"

# The areas of :level in view with their figures (open and overdue cases, households): a grid's and
# a community's are their area_figures row; a street's or district's the sum over its communities,
# whose 12-digit codes start with its code (a range on uq_areas_code: codes are digits only).
FIGURES = f"""
    figures AS (
        SELECT a.code, a.name, a.level, a.geom, a.area_m2, coalesce(f.open, 0) AS open,
               coalesce({OVERDUE}, 0) AS overdue, nullif(f.households, 0) AS households
        FROM areas a CROSS JOIN env LEFT JOIN area_figures f ON f.area_id = a.id
        WHERE a.level = :level AND a.geom && env.g)"""
SUMMED_FIGURES = f"""
    figures AS (
        SELECT s.code, s.name, s.level, s.geom, s.area_m2, coalesce(sum(f.open), 0) AS open,
               coalesce(sum({OVERDUE}), 0) AS overdue, nullif(sum(f.households), 0) AS households
        FROM areas s CROSS JOIN env
        LEFT JOIN areas c ON c.level = 'community' AND c.code BETWEEN s.code || :lowest AND s.code || :highest
        LEFT JOIN area_figures f ON f.area_id = c.id
        WHERE s.level = :level AND s.geom && env.g
        GROUP BY s.id)"""


def _figures(level: str) -> tuple[str, dict]:
    """The ``figures`` CTE for areas of ``level`` in view, and its parameters."""
    if level in ("grid", "community"):
        return FIGURES, {"level": level}
    below = CODE_LENGTH["community"] - CODE_LENGTH[level]
    return SUMMED_FIGURES, {"level": level, "lowest": "0" * below, "highest": "9" * below}


# Each feature written by PostGIS from its row (ST_AsGeoJSON of a record: properties are the other
# columns) with the code put first as its id, the collection joined as text: less work than
# building each one with json_build_object.
AREAS_BBOX_SQL = """
    WITH {env}, {figures}
    SELECT '{{"type": "FeatureCollection", "level": ' || to_json(CAST(:level AS text)) || ', "features": ['
           || coalesce(string_agg('{{"id": ' || to_json(code) || ', '
                                  || substr(ST_AsGeoJSON(f.*, 'geom', 6), 2),
                                  ', ' ORDER BY code), '')
           || ']}}'
    FROM (SELECT code, name, level, round(area_m2) AS area_m2, open, overdue, households,
                 ST_SimplifyPreserveTopology(geom, :tolerance) AS geom FROM figures) f
"""


# Above this many grids in view the map shows their community (then street, then district) with
# the cases summed: a whole city of 10,000 grids would be megabytes of GeoJSON nobody can read.
MAX_GRIDS_DRAWN = 300
COARSER = {"grid": "community", "community": "street", "street": "district"}

# Whether more than :most areas are in view: counting stops there (a zoom-13 view holds 5,000 grids).
MORE_IN_VIEW_SQL = text("""
    SELECT count(*) > :most FROM (
        SELECT FROM areas WHERE level = :level AND geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
        LIMIT :most + 1) s
""")


def level_to_draw(session: Session, bbox, level: str = "grid", most: int | None = None) -> str:
    """``level``, or the first coarser level once more than ``most`` (MAX_GRIDS_DRAWN) areas are
    in view."""
    minx, miny, maxx, maxy = bbox
    most = MAX_GRIDS_DRAWN if most is None else most
    while level in COARSER and session.scalar(
        MORE_IN_VIEW_SQL, dict(minx=minx, miny=miny, maxx=maxx, maxy=maxy, level=level, most=most)
    ):
        level = COARSER[level]
    return level


def areas_geojson(session: Session, level: str, bbox, zoom: float, auto: bool = False) -> str:
    """Areas of ``level`` in the viewport with their open and overdue cases and households; with
    ``auto``, of the level ``level_to_draw`` picks (the collection says which, as ``level``)."""
    if auto:
        level = level_to_draw(session, bbox, level)
    minx, miny, maxx, maxy = bbox
    figures, params = _figures(level)
    return geojson_text(
        session,
        AREAS_BBOX_SQL.format(env=ENVELOPE, figures=figures),
        {
            **params,
            "minx": minx,
            "miny": miny,
            "maxx": maxx,
            "maxy": maxy,
            "tolerance": tolerance_for_zoom(zoom),
        },
    )


EXTENT_SQL = text("""
    SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
    FROM (SELECT ST_Extent(geom) AS e FROM areas
          WHERE level = 'grid' AND (CAST(:ids AS int[]) IS NULL OR id = ANY(:ids))) s
""")


def grids_extent(session: Session, grid_ids=None) -> tuple[float, float, float, float] | None:
    """(minlon, minlat, maxlon, maxlat) of these grids (all grids when None), None when empty."""
    row = session.execute(EXTENT_SQL, {"ids": list(grid_ids) if grid_ids else None}).one()
    return None if row[0] is None else tuple(row)


# Pins: at most MAX_PINS in view, drawn one by one (and clustered); more than that, and the
# viewport gets one bubble per area with its count, grids or coarser so that at most MAX_BUBBLES
# come (the map merges those that would overlap on screen): a city's 60,000 open cases as pins
# are megabytes a phone cannot draw.
MAX_PINS = 1000
MAX_BUBBLES = 300
# The map's filters as SQL on ``reports r``: a condition only for a filter that is given, so the
# planner sees plain predicates and picks its index ("open" is the literal OPEN, for the same reason).
REPORT_FILTERS = (
    ("status", "r.status = :status"),
    ("category", "r.category_code LIKE :category || '%'"),
    ("channel", "r.channel = :channel"),
    ("area", "r.grid_id IN (SELECT id FROM areas WHERE level = 'grid' AND code LIKE :area || '%')"),
    ("date_from", "r.created_at >= :date_from"),
    ("date_to", "r.created_at < CAST(:date_to AS date) + 1"),
)


def _report_filters(scope: Condition, **given) -> tuple[str, dict]:
    """WHERE conditions (the viewport's first, then the viewer's scope) and their parameters for
    the filters given."""
    conditions, params = ["r.geom && env.g"], {}
    if not scope.everything:
        conditions.append(scope.sql)
        params.update(scope.params)
    if given.get("status") == "open":
        conditions.append(OPEN)
        given["status"] = None
    for name, condition in REPORT_FILTERS:
        if given.get(name):
            conditions.append(condition)
            params[name] = given[name]
    return " AND ".join(conditions), params


# A pin as the map draws it, from a row of ``picked`` (the pins layer's and the live map's).
PIN_COLUMNS = """r.id, r.geom, r.status, r.channel, {description} AS description, r.created_at, r.deadline_at,
               c.name AS category, g.name AS grid, {open} AND r.deadline_at < now() AS overdue"""
PIN_FEATURE = """json_build_object('type', 'Feature', 'id', id,
            'geometry', ST_AsGeoJSON(geom, 6)::json,
            'properties', json_build_object(
                'id', id, 'status', status, 'channel', channel, 'category', category,
                'grid', grid, 'description', description,
                'created_at', created_at, 'deadline_at', deadline_at,
                'overdue', overdue))"""
PINS_SQL = f"""
    WITH {{env}},
    picked AS (
        SELECT {PIN_COLUMNS}
        FROM reports r CROSS JOIN env
        JOIN categories c ON c.code = r.category_code
        LEFT JOIN areas g ON g.id = r.grid_id
        WHERE {{where}}
        ORDER BY r.created_at DESC
        LIMIT :limit)
    SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
        {PIN_FEATURE}), '[]'::json))
    FROM picked
"""
# The cases just announced (gis.cases.lifecycle.announce) that the viewer may open, as pins.
LIVE_PINS_SQL = f"""
    WITH picked AS (
        SELECT {PIN_COLUMNS}
        FROM reports r
        JOIN categories c ON c.code = r.category_code
        LEFT JOIN areas g ON g.id = r.grid_id
        WHERE r.id = ANY(CAST(:ids AS int[])) AND {{scope}})
    SELECT {PIN_FEATURE} FROM picked ORDER BY id
"""

CAPPED_COUNT_SQL = "WITH {env} SELECT count(*) FROM (SELECT 1 FROM reports r, env WHERE {where} LIMIT :cap) s"

# One bubble per area of ``level`` (grids' codes start with their parents'), at a point inside
# it; the reports no grid holds get one bubble of their own where they are.
BUBBLES_COLLECTION = """
    SELECT json_build_object('type', 'FeatureCollection', 'aggregated', CAST(:level AS text),
        'features', coalesce(json_agg(json_build_object('type', 'Feature', 'id', coalesce(code, 'unassigned'),
            'geometry', ST_AsGeoJSON(at, 6)::json,
            'properties', json_build_object('code', code, 'name', name, 'level', CAST(:level AS text),
                                            'count', n, 'overdue', overdue))
            ORDER BY code), '[]'::json))
    FROM bubbles
"""
# The reports the filters match, in view, counted per area.
BUBBLES_SQL = (
    """
    WITH {env},
    per_grid AS (
        SELECT r.grid_id, count(*) AS n,
               count(*) FILTER (WHERE {open} AND r.deadline_at < now()) AS overdue,
               CASE WHEN r.grid_id IS NULL THEN ST_Centroid(ST_Collect(r.geom)) END AS at
        FROM reports r, env WHERE {where} GROUP BY r.grid_id),
    per_area AS (
        SELECT left(g.code, :code_length) AS code, sum(p.n) AS n, sum(p.overdue) AS overdue
        FROM per_grid p JOIN areas g ON g.id = p.grid_id GROUP BY 1),
    bubbles AS (
        SELECT a.code, a.name, p.n, p.overdue, ST_PointOnSurface(a.geom) AS at
        FROM per_area p JOIN areas a ON a.code = p.code AND a.level = :level
        UNION ALL
        SELECT NULL, NULL, n, overdue, at FROM per_grid WHERE grid_id IS NULL)
"""
    + BUBBLES_COLLECTION
)
# The map's default (open cases, no other filter): each area in view with all its open cases, from
# area_figures, so a view costs its areas and not the tens of thousands of cases they hold.
OPEN_BUBBLES_SQL = (
    """
    WITH {env}, {figures},
    bubbles AS (
        SELECT code, name, open AS n, overdue, ST_PointOnSurface(geom) AS at FROM figures WHERE open > 0
        UNION ALL
        SELECT NULL, NULL, count(*), count(*) FILTER (WHERE r.deadline_at < now()),
               ST_Centroid(ST_Collect(r.geom))
        FROM reports r, env WHERE r.geom && env.g AND {open} AND r.grid_id IS NULL
        HAVING count(*) > 0)
"""
    + BUBBLES_COLLECTION
)


def _pin_description(viewer: Viewer) -> tuple[str, dict]:
    """A pin's text (its first 280 characters), masked where ``viewer`` does not handle the case."""
    handled = handled_by(viewer, "r")
    if handled.everything:
        return "left(r.description, 280)", {}
    return (
        f"CASE WHEN {handled.sql} THEN left(r.description, 280)"
        f" ELSE left({MASK_TEXT}(r.description), 280) END",
        handled.params,
    )


def live_pins(session: Session, viewer: Viewer, ids: list[int]) -> list[dict]:
    """The cases of ``ids`` that ``viewer`` may open, as the pins layer draws them (masked the same)."""
    if not ids:
        return []
    scope = visible_to(viewer, "r")
    description, masking = _pin_description(viewer)
    sql = LIVE_PINS_SQL.format(scope=scope.sql, description=description, open=OPEN)
    return list(session.scalars(text(sql), {"ids": ids, **scope.params, **masking}))


def reports_geojson(
    session: Session,
    viewer: Viewer,
    bbox,
    status=None,
    category=None,
    channel=None,
    date_from=None,
    date_to=None,
    area=None,
) -> str:
    """The pins ``viewer`` may open in the viewport, filtered as the map asks: the newest MAX_PINS,
    or, when more match, counts per area as bubbles (the collection says ``aggregated``: the
    areas' level). Bubbles count only the viewer's cases too; the default view's come from
    area_figures when they see every case."""
    minx, miny, maxx, maxy = bbox
    scope = visible_to(viewer, "r")
    where, params = _report_filters(
        scope,
        status=status,
        category=category,
        channel=channel,
        date_from=date_from,
        date_to=date_to,
        area=area,
    )
    params.update(minx=minx, miny=miny, maxx=maxx, maxy=maxy)
    session.execute(MAP_QUERY_SETTINGS)  # the count too is planned for this viewport and scope
    in_view = session.scalar(
        text(CAPPED_COUNT_SQL.format(env=ENVELOPE, where=where)), {**params, "cap": MAX_PINS + 1}
    )
    if in_view <= MAX_PINS:
        description, masking = _pin_description(viewer)
        return geojson_text(
            session,
            PINS_SQL.format(env=ENVELOPE, where=where, open=OPEN, description=description),
            {**params, **masking, "limit": MAX_PINS},
        )
    level = level_to_draw(session, bbox, most=MAX_BUBBLES)
    if scope.everything and status == "open" and not (category or channel or date_from or date_to or area):
        figures, figure_params = _figures(level)
        return geojson_text(
            session,
            OPEN_BUBBLES_SQL.format(env=ENVELOPE, figures=figures, open=OPEN),
            {**params, **figure_params},
        )
    return geojson_text(
        session,
        BUBBLES_SQL.format(env=ENVELOPE, where=where, open=OPEN),
        {**params, "level": level, "code_length": CODE_LENGTH[level]},
    )


# Footprints only from this zoom on: below it a building is a few pixels and there are thousands.
MIN_BUILDING_ZOOM = 16
BUILDINGS_BBOX_SQL = f"""
    WITH {ENVELOPE}
    SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
        json_build_object('type', 'Feature', 'id', b.id,
            'geometry', ST_AsGeoJSON(b.geom, 6)::json,
            'properties', json_build_object('id', b.id, 'name', b.name, 'households', b.households,
                                            'floors', b.floors, 'grid', g.code))), '[]'::json))
    FROM buildings b CROSS JOIN env LEFT JOIN areas g ON g.id = b.grid_id
    WHERE b.geom && env.g
"""


def buildings_geojson(session: Session, bbox, zoom: float) -> str:
    """Building footprints in the viewport from MIN_BUILDING_ZOOM on; an empty collection (that
    says why) below it."""
    if zoom < MIN_BUILDING_ZOOM:
        return json.dumps(
            {
                "type": "FeatureCollection",
                "features": [],
                "hint": str(_("buildings are drawn from zoom %(zoom)s", zoom=MIN_BUILDING_ZOOM)),
            }
        )
    minx, miny, maxx, maxy = bbox
    return geojson_text(session, BUILDINGS_BBOX_SQL, dict(minx=minx, miny=miny, maxx=maxx, maxy=maxy))


GRID_SUMMARY_SQL = f"""
    SELECT g.id, g.code, g.name, g.area_m2, cm.name AS community, st.name AS street,
        (SELECT string_agg(u.display_name, ', ' ORDER BY u.display_name) FROM user_grids ug
           JOIN users u ON u.id = ug.user_id WHERE ug.area_id = g.id AND u.role = 'grid_worker') AS workers,
        coalesce(f.buildings, 0) AS buildings, coalesce(f.households, 0) AS households,
        coalesce(f.open, 0) AS open, coalesce({OVERDUE}, 0) AS overdue,
        (SELECT max(t.ended_at) FROM patrol_tracks t WHERE ST_Intersects(t.geom, g.geom)) AS last_patrol,
        ARRAY(SELECT count(r.id) FROM generate_series(11, 0, -1) w
              LEFT JOIN reports r ON r.grid_id = g.id
               AND r.created_at >= date_trunc('week', now()) - w * interval '1 week'
               AND r.created_at < date_trunc('week', now()) - (w - 1) * interval '1 week'
              GROUP BY w ORDER BY w DESC) AS weekly
    FROM areas g
    LEFT JOIN area_figures f ON f.area_id = g.id
    LEFT JOIN areas cm ON cm.id = g.parent_id
    LEFT JOIN areas st ON st.id = cm.parent_id
    WHERE g.code = :code AND g.level = 'grid' AND {{scope}}
"""


def grid_summary(session: Session, viewer: Viewer, code: str) -> dict | None:
    """What a supervisor wants on clicking a grid: worker, buildings, households, open and overdue
    cases, last patrol, reports per week for the last 12 weeks (oldest first). None for a grid
    outside the panels ``viewer`` may open, as for one that does not exist."""
    scope = areas_visible_to(viewer, "g")
    row = (
        session.execute(text(GRID_SUMMARY_SQL.format(scope=scope.sql)), {"code": code, **scope.params})
        .mappings()
        .first()
    )
    return dict(row) if row else None
