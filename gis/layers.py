"""Map layers as GeoJSON made by PostGIS (no Python loop over features), by viewport.

The envelope is built in 4326 and compared with ``&&`` so the GiST index is used; geometry is
simplified to about half a pixel at the requested zoom.
"""
from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Invalid

AREAS_BBOX_SQL = text("""
    WITH env AS (SELECT ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AS g)
    SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
        json_build_object(
            'type', 'Feature', 'id', a.code,
            'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, :tolerance), 6)::json,
            'properties', json_build_object(
                'code', a.code, 'name', a.name, 'level', a.level, 'area_m2', round(a.area_m2),
                'open', c.open, 'overdue', c.overdue))
        ORDER BY a.code), '[]'::json))
    FROM areas a CROSS JOIN env
    CROSS JOIN LATERAL (
        SELECT count(*) AS open,
               count(*) FILTER (WHERE r.deadline_at < now()) AS overdue
        FROM reports r
        WHERE r.grid_id = a.id AND r.status NOT IN ('closed', 'voided')
    ) c
    WHERE a.level = :level AND a.geom && env.g
""")


def parse_bbox(value: str | None) -> tuple[float, float, float, float]:
    try:
        minx, miny, maxx, maxy = (float(v) for v in (value or "").split(","))
    except ValueError:
        raise Invalid("bbox must be minlon,minlat,maxlon,maxlat") from None
    if not (minx < maxx and miny < maxy):
        raise Invalid("bbox must be minlon,minlat,maxlon,maxlat with min < max")
    return max(minx, -180), max(miny, -90), min(maxx, 180), min(maxy, 90)


def tolerance_for_zoom(zoom: float) -> float:
    """Degrees covering about half a screen pixel at this web-map zoom."""
    return 360.0 / (256 * 2 ** max(0.0, min(zoom, 22.0))) / 2


def areas_geojson(session: Session, level: str, bbox, zoom: float) -> str:
    minx, miny, maxx, maxy = bbox
    result = session.scalar(AREAS_BBOX_SQL, dict(minx=minx, miny=miny, maxx=maxx, maxy=maxy,
                                                 level=level, tolerance=tolerance_for_zoom(zoom)))
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))


EXTENT_SQL = text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                  "FROM (SELECT ST_Extent(geom) AS e FROM areas WHERE level = 'grid') s")


def grids_extent(session: Session) -> tuple[float, float, float, float] | None:
    row = session.execute(EXTENT_SQL).one()
    return None if row[0] is None else tuple(row)
