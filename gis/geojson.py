"""Viewport queries whose answer is one JSON value made by PostgreSQL: the envelope every layer
starts with, how such a query is planned, and the bbox and zoom a map sends."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Invalid
from gis.i18n import _

# The viewport, as a CTE every layer query starts with (``&&`` against it uses the GiST index).
ENVELOPE = "env AS NOT MATERIALIZED (SELECT ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AS g)"


# For this transaction: a plan made for each viewport, and no JIT compilation.
MAP_QUERY_SETTINGS = text(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('jit', 'off', true)"
)


def geojson_text(session: Session, sql: str, params: dict) -> str:
    """The one JSON value ``sql`` selects, as PostgreSQL wrote it: a layer of hundreds of KB is
    not parsed into Python and encoded again.

    Planned for its own viewport each time: psycopg prepares a statement run five times, and
    PostgreSQL's generic plan for it, blind to the envelope, took one area to be in view and
    joined 10,000 grids' figures to each of the forty there were. Not compiled: a community
    view's estimate crossed jit_above_cost, and JIT took longer than the query (README: "Measured
    design choices")."""
    session.execute(MAP_QUERY_SETTINGS)
    return session.scalar(text(f"SELECT CAST(j AS text) FROM ({sql}) AS q(j)"), params)


def parse_bbox(value: str | None) -> tuple[float, float, float, float]:
    try:
        minx, miny, maxx, maxy = (float(v) for v in (value or "").split(","))
    except ValueError:
        raise Invalid(_("bbox must be minlon,minlat,maxlon,maxlat")) from None
    if not (minx < maxx and miny < maxy):
        raise Invalid(_("bbox must be minlon,minlat,maxlon,maxlat with min < max"))
    return max(minx, -180), max(miny, -90), min(maxx, 180), min(maxy, 90)


def tolerance_for_zoom(zoom: float) -> float:
    """Degrees covering about half a screen pixel at this web-map zoom."""
    return 360.0 / (256 * 2 ** max(0.0, min(zoom, 22.0))) / 2
