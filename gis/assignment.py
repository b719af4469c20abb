"""Which grid (and building) a point belongs to, decided in PostGIS with the GiST indexes; and
which grid a building footprint belongs to, for bulk imports (``GridIndex``).

Rules, in order:
1. Inside or on the boundary of a grid: that grid. A point on a border shared by several grids goes
   to the one with the lowest code, so the answer never depends on row order.
2. Outside every grid but within ``max_distance_m`` (default 50 m) of one: the nearest grid
   (ties again by lowest code), flagged ``nearest`` with its distance.
3. Farther away: no grid, flagged ``unassigned``, for the supervisors' queue.
Distances are geodesic metres (geography); candidates are found through the GiST indexes.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.coords import rounded
from gis.errors import Invalid
from gis.i18n import _

# The rules live in SQL functions made by migration f9a0b1c2d3e4 (gridwatch_grid_for,
# gridwatch_building_for): intake's statement, ``assign_grid``, ``find_building`` and the re-grid
# after an import call them. PostgreSQL inlines them — so each lookup keeps its GiST index and is
# not planned again per call — as long as their arguments hold no sub-query: the point goes in as
# the expression ``AT_POINT`` of the statement's parameters (a value the planner can take an
# index against; a column of a joined relation it could not).
GRID_FOR = "gridwatch_grid_for"
BUILDING_FOR = "gridwatch_building_for"
AT_POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
POINT = "(SELECT g FROM pt)"

ASSIGNMENT_CTES = f"""
    pt AS (SELECT {AT_POINT} AS g),
    grid AS (SELECT grid_id AS id, kind, distance_m FROM {GRID_FOR}({AT_POINT}, :grid_m)),
    building AS (SELECT building_id AS id FROM {BUILDING_FOR}({AT_POINT}, :building_m))
"""
ASSIGN_SQL = text(f"WITH {ASSIGNMENT_CTES} SELECT grid.id, grid.kind, grid.distance_m FROM grid")
BUILDING_SQL = text(f"WITH {ASSIGNMENT_CTES} SELECT id FROM building")

# A grid and its parents, by the parent links (the view grid_chain, migration f9a0b1c2d3e4).
HIERARCHY_SQL = text("""
    SELECT grid_id, grid_code, grid_name, community_id, community_code, community_name,
           street_id, street_code, street_name, district_id, district_code, district_name
    FROM grid_chain WHERE grid_id = :id
""")


@dataclass(frozen=True)
class Assignment:
    grid_id: int | None
    kind: str  # inside / nearest / unassigned
    distance_m: float | None  # for nearest


def check_point(lon, lat) -> tuple[float, float]:
    """Refuse coordinates no phone should send: not numbers, out of range, or (0, 0)."""
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise Invalid(_("lon and lat must be numbers (decimal degrees)")) from None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise Invalid(_("lon and lat must be finite numbers, not NaN or infinity"))
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise Invalid(
            _(
                "(%(lon)s, %(lat)s) is not a position on Earth: lon must be within ±180 and lat within ±90 "
                "— are they swapped?",
                lon=lon,
                lat=lat,
            )
        )
    lon, lat = rounded(lon), rounded(lat)
    if lon == 0 and lat == 0:
        raise Invalid(
            _(
                "(0, 0) is the position a phone sends when it has no GPS fix; wait for a fix or place the "
                "pin by hand"
            )
        )
    return lon, lat


def assign_grid(session: Session, lon: float, lat: float, max_distance_m: float = 50) -> Assignment:
    row = session.execute(
        ASSIGN_SQL, {"lon": lon, "lat": lat, "grid_m": max_distance_m, "building_m": 0}
    ).one()
    return Assignment(row.id, row.kind, row.distance_m)


def find_building(session: Session, lon: float, lat: float, max_distance_m: float = 20) -> int | None:
    return session.scalar(BUILDING_SQL, {"lon": lon, "lat": lat, "building_m": max_distance_m, "grid_m": 0})


def hierarchy(session: Session, grid_id: int) -> dict[str, dict]:
    """The grid and its parents, keyed by level: {'grid': {...}, 'community': {...}, …}."""
    row = session.execute(HIERARCHY_SQL, {"id": grid_id}).mappings().first()
    if row is None:
        return {}
    return {
        level: {"id": row[f"{level}_id"], "code": row[f"{level}_code"], "name": row[f"{level}_name"]}
        for level in ("grid", "community", "street", "district")
        if row[f"{level}_id"] is not None
    }


GRIDS_IN_BOX_SQL = text("""
    SELECT id, code, ST_AsBinary(geom) FROM areas
    WHERE level = 'grid' AND geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
""")


@dataclass
class GridIndex:
    """The grids in a box, read once, with a Shapely STRtree over them: what a bulk import assigns
    its footprints with, chunk after chunk, without asking the database again."""

    ids: np.ndarray
    code_rank: np.ndarray
    grids: np.ndarray
    tree: shapely.STRtree | None

    @classmethod
    def around(cls, session: Session, bounds) -> GridIndex:
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        rows = session.execute(GRIDS_IN_BOX_SQL, dict(minx=minx, miny=miny, maxx=maxx, maxy=maxy)).all()
        grids = shapely.from_wkb([bytes(r[2]) for r in rows]) if rows else np.array([], dtype=object)
        return cls(
            ids=np.array([r[0] for r in rows]),
            code_rank=np.argsort(np.argsort(np.array([r[1] for r in rows]))),
            grids=grids,
            tree=shapely.STRtree(grids) if rows else None,
        )

    def best(self, footprints) -> np.ndarray:
        """For each footprint (EPSG:4326), the id of the grid holding the largest part of it, None
        outside every grid: a grid that covers it wins outright, then the largest intersection,
        ties to the lowest code — the rule ``gis.areas.importer`` applies in SQL after a grid
        layer changes."""
        footprints = np.asarray(footprints)  # a plain shapely array: a GeoSeries is much slower here
        result = np.full(len(footprints), None, dtype=object)
        if len(footprints) == 0 or self.tree is None:
            return result
        grids = self.grids
        f, g = self.tree.query(footprints, predicate="intersects")
        score = np.full(len(f), np.inf)
        partial = ~_on_both_cores(shapely.covers, grids[g], footprints[f])
        score[partial] = _on_both_cores(
            lambda a, b: shapely.area(shapely.intersection(a, b)), grids[g[partial]], footprints[f[partial]]
        )
        order = np.lexsort((self.code_rank[g], -score, f))  # by footprint, best first
        best = order[np.r_[True, f[order][1:] != f[order][:-1]]]
        result[f[best]] = self.ids[g[best]].tolist()
        return result


def _on_both_cores(fn, a: np.ndarray, b: np.ndarray, parts: int = 2) -> np.ndarray:
    """``fn(a, b)`` for pairwise Shapely arrays, split over threads (Shapely releases the GIL)."""
    if len(a) < 2_000:
        return fn(a, b)
    bounds = np.linspace(0, len(a), parts + 1).astype(int)
    with ThreadPoolExecutor(parts) as pool:
        pieces = pool.map(
            lambda i: fn(a[bounds[i] : bounds[i + 1]], b[bounds[i] : bounds[i + 1]]), range(parts)
        )
        return np.concatenate(list(pieces))
