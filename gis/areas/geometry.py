"""Polygon hygiene for imports: repair what can be repaired, reject what has no area, say which.

Vectorised with Shapely 2; each fix or rejection names the row (1-based, as a planner counts in
a GIS attribute table) and the feature's own ID when it has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from gis.i18n import Words, _

POLYGONAL = {"Polygon", "MultiPolygon"}
MIN_AREA_M2 = 1.0


@dataclass
class Cleaning:
    repaired: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)


def polygonal_part(geom):
    """The polygons of ``geom`` as one MultiPolygon (None when it has none)."""
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    polys = [p for g in parts for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
    return MultiPolygon(polys) if polys else None


def off_earth(geoms) -> np.ndarray:
    """Which of ``geoms`` (EPSG:4326) reach beyond ±180° of longitude or ±90° of latitude: a wrong
    coordinate system, or a broken file."""
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        return ~np.isnan(bounds[:, 0]) & (
            (bounds[:, 0] < -180)
            | (bounds[:, 2] > 180)
            | (bounds[:, 1] < -90)
            | (bounds[:, 3] > 90)
            | ~np.isfinite(bounds).all(axis=1)
        )


def check_polygon_layer(frame: gpd.GeoDataFrame, what: Words) -> None:
    """Refuse a layer that holds no polygons at all (points or lines for grids)."""
    from gis.errors import Invalid

    types = set(frame.geometry.dropna().geom_type.unique())
    if not types & POLYGONAL:
        raise Invalid(
            _(
                "%(what)s must be polygons; this layer holds %(value)s",
                what=what,
                value=", ".join(sorted(types)) or _("no geometry"),
            )
        )


def clean_polygons(
    frame: gpd.GeoDataFrame, metric_crs, ids=None, exact_areas: bool = True, first_row: int = 1
) -> tuple[gpd.GeoDataFrame, Cleaning]:
    """Repair invalid polygons (make_valid, polygonal parts only), drop empty or arealess ones.

    ``frame`` must already be in EPSG:4326; ``metric_crs`` measures areas. Returns the kept rows
    (geometry as 2-D MultiPolygon, ``area_m2``) and what was done. Valid polygons — nearly all rows
    of a real file — are handled in bulk; only the others are looked at one by one. Without
    ``exact_areas`` (the areas are not kept, only checked), only polygons whose area estimated
    from degrees is near the minimum are projected to measure it. Rows are numbered from
    ``first_row`` (a chunk of a larger file says the file's row numbers).
    """
    report = Cleaning()
    geoms = shapely.force_2d(frame.geometry.values)
    ids = ids if ids is not None else [None] * len(frame)
    type_ids = shapely.get_type_id(geoms)  # -1 missing, 3 Polygon, 6 MultiPolygon
    beyond = off_earth(geoms)
    valid = shapely.is_valid(geoms) & ~beyond
    out = np.empty(len(geoms), dtype=object)
    simple = valid & (type_ids == 3)
    out[simple] = shapely.multipolygons(geoms[simple], indices=np.arange(int(simple.sum())))
    multi = valid & (type_ids == 6)
    out[multi] = geoms[multi]
    keep = simple | multi
    for i in np.flatnonzero(~keep):
        row, geom = {"row": int(i) + first_row, "id": ids[i]}, geoms[i]
        if geom is None or shapely.is_empty(geom):
            report.rejected.append({**row, "reason": _("empty geometry")})
            continue
        if beyond[i]:
            report.rejected.append(
                {
                    **row,
                    "reason": _("not on Earth: beyond ±180° longitude or ±90° latitude (is the CRS right?)"),
                }
            )
            continue
        if geom.geom_type not in POLYGONAL and geom.geom_type != "GeometryCollection":
            report.rejected.append({**row, "reason": _("a %(type)s, not a polygon", type=geom.geom_type)})
            continue
        reason = shapely.is_valid_reason(geom)
        poly = polygonal_part(shapely.make_valid(geom))
        if poly is None:
            report.rejected.append({**row, "reason": _("degenerate: no area (%(reason)s)", reason=reason)})
            continue
        report.repaired.append(
            {**row, "problem": reason, "action": _("repaired with make_valid, polygonal parts kept")}
        )
        out[i] = poly
        keep[i] = True
    cleaned = frame.copy()
    cleaned = cleaned.set_geometry(gpd.GeoSeries(out, index=frame.index, crs=frame.crs))
    areas = np.zeros(len(frame))
    measure = keep.copy()
    if not exact_areas:  # m² per square degree at each polygon's latitude: within ~1 % for these
        bounds = shapely.bounds(out[keep].astype(object))  # the box's middle: cheaper than a centroid
        lat = np.radians((bounds[:, 1] + bounds[:, 3]) / 2)
        areas[keep] = shapely.area(out[keep]) * 111_320.0 * 110_574.0 * np.cos(lat)
        measure &= areas < 10 * MIN_AREA_M2
    if measure.any():
        areas[measure] = cleaned.geometry[measure].to_crs(metric_crs).area.to_numpy()
    for i in np.flatnonzero(keep & (areas < MIN_AREA_M2)):
        report.rejected.append(
            {
                "row": int(i) + first_row,
                "id": ids[i],
                "reason": f"degenerate: area {areas[i]:.2f} m² (< {MIN_AREA_M2:g} m²)",
            }
        )
        keep[i] = False
    cleaned["area_m2"] = areas
    report.rejected.sort(key=lambda r: r["row"])
    return cleaned[keep], report
