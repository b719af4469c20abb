"""Import 100,000 generated building footprints from a shapefile (projected CGCS2000, GBK names)
and print features/s next to `ogr2ogr -f PostgreSQL` (COPY) loading the same file into the same
database in the same run. Ours includes validation, repair checks, reprojection and assignment of
every building to its grid (10,000 grids loaded). Target: within 1.5× of ogr2ogr's time.
Run: make bench-import  (or .venv/bin/python -m bench.import_buildings [--count N])
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.common import scratch_engine
from bench.report_intake import CELL, GRIDS_SQL, ORIGIN, SIDE
from gis.areas.importer import import_buildings


def make_shapefile(path: Path, count: int) -> None:
    rng = np.random.default_rng(7)
    n = int(np.ceil(np.sqrt(count)))
    span = SIDE * CELL
    xs = ORIGIN[0] + (np.arange(count) % n + 0.5) * span / n
    ys = ORIGIN[1] + (np.arange(count) // n + 0.5) * span / n
    w, h = rng.uniform(0.00015, 0.0003, count), rng.uniform(0.0001, 0.00018, count)
    boxes = shapely.box(xs - w / 2, ys - h / 2, xs + w / 2, ys + h / 2)
    frame = gpd.GeoDataFrame(
        {
            "名称": [f"{i % 30 + 1}号楼" for i in range(count)],
            "户数": rng.integers(6, 120, count),
            "层数": rng.integers(2, 30, count),
        },
        geometry=boxes,
        crs=4326,
    ).to_crs(4537)
    frame.to_file(path, driver="ESRI Shapefile", encoding="GBK")
    path.with_suffix(".cpg").unlink()  # as surveying institutes deliver them: no .cpg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    if shutil.which("ogr2ogr") is None:
        raise SystemExit("ogr2ogr is missing: `make setup` installs gdal-bin")
    engine = scratch_engine("bench_import")
    with Session(engine) as session:
        session.execute(GRIDS_SQL, {"x0": ORIGIN[0], "y0": ORIGIN[1], "cell": CELL, "side": SIDE})
        session.commit()
        session.execute(text("ANALYZE areas"))
        session.commit()
    workdir = Path(tempfile.mkdtemp(prefix="gridwatch-bench-"))
    try:
        shp = workdir / "buildings.shp"
        t = time.perf_counter()
        make_shapefile(shp, args.count)
        print(
            f"generated {args.count:,} footprints in {time.perf_counter() - t:.1f} s "
            f"({sum(f.stat().st_size for f in workdir.iterdir()) / 1e6:.0f} MB shapefile)"
        )

        url = engine.url
        pg = f"PG:dbname={url.database} user={url.username} host={url.query['host']}"
        t = time.perf_counter()
        subprocess.run(
            [
                "ogr2ogr",
                "-f",
                "PostgreSQL",
                pg,
                str(shp),
                "-nln",
                "ogr_buildings",
                "-lco",
                "GEOMETRY_NAME=geom",
                "-nlt",
                "PROMOTE_TO_MULTI",
                "-t_srs",
                "EPSG:4326",
                "--config",
                "PG_USE_COPY",
                "YES",
                "--config",
                "SHAPE_ENCODING",
                "CP936",
            ],
            check=True,
            capture_output=True,
        )
        reference = time.perf_counter() - t

        t = time.perf_counter()
        with Session(engine) as session:
            result = import_buildings(session, shp)
            session.commit()
        ours = time.perf_counter() - t
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        engine.dispose()
    report = result.report
    print(f"{'loader':<34}{'seconds':>9}{'features/s':>12}")
    print(f"{'ogr2ogr -f PostgreSQL (COPY)':<34}{reference:>9.2f}{args.count / reference:>12,.0f}")
    print(f"{'gridwatch import buildings':<34}{ours:>9.2f}{args.count / ours:>12,.0f}")
    print(
        f"  (ours also: encoding {report['encoding']} detected, validity checked, "
        f"{report['assigned_to_grid']:,} assigned to grids, {report['outside_every_grid']:,} outside)"
    )
    ratio = ours / reference
    print(f"ours / ogr2ogr = {ratio:.2f}× (target ≤ 1.5×) → {'MET' if ratio <= 1.5 else 'NOT MET'}")


if __name__ == "__main__":
    main()
