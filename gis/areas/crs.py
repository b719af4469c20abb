"""Coordinate reference systems: reprojection and the projections Chinese planners deliver in.

CGCS2000 (EPSG:4490) is for our purposes WGS 84; its Gauss-Krüger zones are 4491-4554.
"""

from __future__ import annotations

from functools import lru_cache

import shapely
from pyproj import CRS, Transformer


@lru_cache(maxsize=64)
def transformer(source, target) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def reproject(geom, source, target):
    """``geom`` from ``source`` to ``target`` CRS (EPSG codes or pyproj CRS), lon/lat order."""
    t = transformer(source, target)
    return shapely.transform(geom, lambda x, y: t.transform(x, y), interleaved=False)


def local_metric_crs(lon: float, lat: float) -> CRS:
    """A conformal projection in metres for measuring areas and lengths near (lon, lat): the UTM
    zone holding it (errors < 0.1 % inside a city)."""
    lon = (lon + 180) % 360 - 180  # a broken file's longitude of 1000 still gets a zone (and its row refused)
    zone = min(int((lon + 180) // 6) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)
