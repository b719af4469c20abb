"""A grid layer alone is enough: its 15-digit CJ/T 213 codes name their community (12 digits),
street (9) and district (6), so the levels above can be built by dissolving the grids by code
prefix — names from the file's fields where it has them, else made from the codes."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import shapely

from gis.i18n import _
from gis.models import AREA_LEVELS, CODE_LENGTH, LEVEL_NAMES

UPPER = ("district", "street", "community")  # top-down: each needs the one before
NAME_FIELDS = {
    "community": ("community", "community_name", "sqmc", "社区", "社区名称"),
    "street": ("street", "street_name", "jdmc", "街道", "街道名称", "乡镇", "乡镇名称"),
    "district": ("district", "district_name", "qxmc", "区县", "区县名称"),
}


def name_from_code(level: str, code: str):
    """An area's name when the file gives none: its level and code (区县 650202)."""
    return _("%(level)s %(code)s", level=LEVEL_NAMES[level], code=code)


def codes_name_their_parents(codes) -> bool:
    """Every grid code is a 15-digit CJ/T 213 code (so it names its community, street, district)."""
    length = CODE_LENGTH["grid"]
    return all(c is not None and c.isdigit() and len(c) == length for c in codes)


def dissolved(grids: gpd.GeoDataFrame, metric, stored_codes: set[str]) -> gpd.GeoDataFrame:
    """The areas above the grids that are not stored yet: one per code prefix, the union of its
    grids (in ``metric``, back to EPSG:4326), named from the file's fields or from its code.
    Columns: level, code, name, parent_code, geometry, area_m2 — top-down."""
    columns = {c.lower(): c for c in grids.columns if c != grids.geometry.name}
    shapes = grids.to_crs(metric).geometry.values
    rows = []
    for level in UPPER:
        length = CODE_LENGTH[level]
        parent_length = CODE_LENGTH[AREA_LEVELS[AREA_LEVELS.index(level) - 1]] if level != "district" else 0
        field = next((columns[f.lower()] for f in NAME_FIELDS[level] if f.lower() in columns), None)
        prefixes = [c[:length] for c in grids["code"]]
        for code in sorted(set(prefixes) - stored_codes):
            members = [i for i, p in enumerate(prefixes) if p == code]
            names = (
                Counter(str(grids[field].iloc[i]).strip() for i in members if field) if field else Counter()
            )
            names.pop("", None)
            names.pop("None", None)
            shape = shapely.union_all(shapes[members])
            rows.append(
                {
                    "level": level,
                    "code": code,
                    "name": names.most_common(1)[0][0] if names else str(name_from_code(level, code)),
                    "parent_code": code[:parent_length] or None,
                    "geometry": shape,
                    "area_m2": round(float(shapely.area(shape)), 1),
                }
            )
    if not rows:
        return gpd.GeoDataFrame(
            {"level": [], "code": [], "name": [], "parent_code": [], "area_m2": []},
            geometry=gpd.GeoSeries([], crs=4326),
        )
    built = gpd.GeoDataFrame(rows, geometry="geometry", crs=metric).to_crs(4326)
    built["geometry"] = shapely.force_2d(
        [
            shapely.multipolygons(shapely.get_parts(g)) if g.geom_type == "Polygon" else g
            for g in built.geometry
        ]
    )
    return built


def summary(built: gpd.GeoDataFrame) -> dict:
    """How many areas of each level would be built (the check says it before the planner agrees)."""
    return {level: int((built["level"] == level).sum()) for level in UPPER}
