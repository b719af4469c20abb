"""Real files for import tests, written with pyogrio the way planners' tools write them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
from shapely.geometry import box

from tests.factories import CELL, ORIGIN


def town_cells(codes=None, names=None, **columns) -> gpd.GeoDataFrame:
    """The 2 × 2 grid cells of the test town (south-west, south-east, north-west, north-east)."""
    cells = [
        box(
            ORIGIN[0] + c * CELL, ORIGIN[1] + r * CELL, ORIGIN[0] + (c + 1) * CELL, ORIGIN[1] + (r + 1) * CELL
        )
        for c, r in [(0, 0), (1, 0), (0, 1), (1, 1)]
    ]
    data = {"name": names or ["一号网格", "二号网格", "三号网格", "四号网格"], **columns}
    if codes is not None:
        data["code"] = codes
    return gpd.GeoDataFrame(data, geometry=cells, crs=4326)


def write_shapefile(
    frame: gpd.GeoDataFrame,
    path: Path,
    crs=None,
    encoding="UTF-8",
    keep_cpg=True,
    ldid: int | None = None,
    keep_prj=True,
) -> Path:
    """A shapefile in ``crs``; optionally without .cpg/.prj and with a forced .dbf language byte."""
    if crs is not None:
        frame = frame.to_crs(crs)
    pyogrio.write_dataframe(frame, path, driver="ESRI Shapefile", encoding=encoding)
    if not keep_cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    if not keep_prj:
        path.with_suffix(".prj").unlink(missing_ok=True)
    if ldid is not None:
        dbf = bytearray(path.with_suffix(".dbf").read_bytes())
        dbf[29] = ldid
        path.with_suffix(".dbf").write_bytes(bytes(dbf))
    return path


def zip_shapefile(shp: Path, target: Path, skip=()) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for f in shp.parent.glob(shp.stem + ".*"):
            if f.suffix.lower() not in skip:
                z.write(f, f"data/{f.name}")
    return target
