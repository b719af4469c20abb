"""Topology of an area layer, measured in metres: grids must tile their parent with no gaps and
no overlaps (无缝拼接) and stay inside it. Reported, not silently fixed."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import shapely
from shapely.strtree import STRtree

TOLERANCE_M2 = 1.0  # slivers below this are digitising noise


def _m2(value: float) -> float:
    return round(float(value), 1)


def overlaps(children: gpd.GeoDataFrame) -> list[dict]:
    """Sibling pairs (same parent) whose interiors overlap by more than the tolerance."""
    geoms = children.geometry.values
    tree = STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    codes, parents = children["code"].tolist(), children["parent_code"].tolist()
    found = []
    for i, j in zip(left, right):
        if i >= j or parents[i] != parents[j]:
            continue
        area = shapely.area(shapely.intersection(geoms[i], geoms[j]))
        if area > TOLERANCE_M2:
            found.append({"a": codes[i], "b": codes[j], "area_m2": _m2(area)})
    return sorted(found, key=lambda o: -o["area_m2"])


def outside_parent(children: gpd.GeoDataFrame, parents: dict[str, object]) -> list[dict]:
    found = []
    for code, parent_code, geom in zip(children["code"], children["parent_code"], children.geometry):
        parent = parents.get(parent_code)
        if parent is None:
            continue
        area = shapely.area(shapely.difference(geom, parent))
        if area > TOLERANCE_M2:
            found.append({"code": code, "parent": parent_code, "area_m2": _m2(area)})
    return found


def gaps(children: gpd.GeoDataFrame, parents: dict[str, object]) -> list[dict]:
    """Parts of each parent that no child covers."""
    found = []
    for parent_code, group in children.groupby("parent_code"):
        parent = parents.get(parent_code)
        if parent is None:
            continue
        hole = shapely.difference(parent, shapely.union_all(group.geometry.values))
        area = shapely.area(hole)
        if area > TOLERANCE_M2:
            found.append(
                {"parent": parent_code, "area_m2": _m2(area), "parts": int(shapely.get_num_geometries(hole))}
            )
    return found


def duplicate_codes(codes) -> list[str]:
    return sorted(code for code, n in Counter(codes).items() if n > 1 and code)
