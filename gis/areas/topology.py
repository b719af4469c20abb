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


def overlaps_with(layer: gpd.GeoDataFrame, stored: gpd.GeoDataFrame) -> list[dict]:
    """Areas of the file lying over stored areas of their level (that the import keeps), by more
    than the tolerance: which, over which, how many m²."""
    if len(stored) == 0:
        return []
    tree = STRtree(stored.geometry.values)
    left, right = tree.query(layer.geometry.values, predicate="intersects")
    if len(left) == 0:
        return []
    areas = shapely.area(shapely.intersection(layer.geometry.values[left], stored.geometry.values[right]))
    codes, stored_codes = layer["code"].tolist(), stored["code"].tolist()
    found = [
        {"code": codes[i], "stored": stored_codes[j], "area_m2": _m2(a)}
        for i, j, a in zip(left, right, areas)
        if a > TOLERANCE_M2 and codes[i] != stored_codes[j]
    ]
    return sorted(found, key=lambda o: -o["area_m2"])


DIFF_LISTED = 500  # codes listed per kind (the counts are whole)


def diff(layer: gpd.GeoDataFrame, stored: gpd.GeoDataFrame, replace: bool) -> dict:
    """The file against the stored layer, by code and by geometry: new codes, changed ones (with
    the m² that moved: the symmetric difference), unchanged, and — when the file replaces the
    layer — the stored codes it does not have (gone)."""
    by_code = dict(zip(stored["code"], stored.geometry.values))
    new, changed, unchanged = [], [], []
    both = [(c, g, by_code[c]) for c, g in zip(layer["code"], layer.geometry.values) if c in by_code]
    if both:
        moved = shapely.area(shapely.symmetric_difference([b[1] for b in both], [b[2] for b in both]))
        for (code, _new, _old), m2 in zip(both, moved):
            if m2 > TOLERANCE_M2:
                changed.append({"code": code, "moved_m2": _m2(m2)})
            else:
                unchanged.append(code)
    new = [c for c in layer["code"] if c not in by_code]
    gone = sorted(set(by_code) - set(layer["code"])) if replace else []
    changed.sort(key=lambda c: -c["moved_m2"])
    return {
        "new": new,
        "changed": changed,
        "unchanged": unchanged,
        "gone": gone,
        "kept": 0 if replace else len(by_code),
    }


def diff_summary(found: dict) -> dict:
    """A diff as the report keeps it: every count, and the first DIFF_LISTED codes of each kind."""
    kinds = ("new", "changed", "unchanged", "gone")
    return {
        "counts": {**{k: len(found[k]) for k in kinds}, "kept": found["kept"]},
        **{k: found[k][:DIFF_LISTED] for k in kinds},
    }
