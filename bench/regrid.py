"""Re-gridding every report after a grid layer is replaced: 10,000 grids, 1,000,000 reports
(bench/city.py), next to a Shapely STRtree assignment of the same points, in turns (A B B A …).

- ours: the re-grid's assignment of the reports grids cover (gis.cases.lifecycle.GRID_PICKS_SQL,
  from the grids' side, planned as the re-grid plans it), counted in the database, not written;
- the reference: what a capable user would do in Python — the grids and the points read once
  (not timed), an STRtree over the grids, ``query(points, predicate="covered_by")``, the lowest
  code per point where grids share a border;
- then the whole ``--replace`` of the layer as the job runs it (plan + apply: the layer swapped,
  every report re-gridded with its regrid event, what it replaced kept for undo), and its undo.
Target: ours ≥ 0.6× the STRtree's speed (assignments per second).
Run: make bench-regrid  (or .venv/bin/python -m bench.regrid [--rounds N] [--reuse])
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.city import city_database
from bench.common import spread
from gis.areas.importer import apply_areas, plan_areas
from gis.areas.undo import undo_import
from gis.cases.lifecycle import GRID_PICKS_SQL, PICKS_SETTINGS

SIDE = 100
COUNT_PICKS = text(f"SELECT count(*), count(grid_id), sum(grid_id) FROM ({GRID_PICKS_SQL}) pick")


def ours(engine) -> tuple[float, tuple]:
    with engine.connect() as conn:
        for name, value in PICKS_SETTINGS.items():  # as the re-grid plans it
            conn.execute(text(f"SET {name} = '{value}'"))
        started = time.perf_counter()
        counts = conn.execute(COUNT_PICKS).one()
        return time.perf_counter() - started, tuple(counts)


def strtree(grids: np.ndarray, codes: np.ndarray, ids: np.ndarray, points: np.ndarray) -> tuple[float, tuple]:
    started = time.perf_counter()
    tree = shapely.STRtree(grids)
    point_at, grid_at = tree.query(points, predicate="covered_by")
    order = np.lexsort((codes[grid_at], point_at))  # by point, then by code
    point_at, grid_at = point_at[order], grid_at[order]
    first = np.ones(len(point_at), dtype=bool)
    first[1:] = point_at[1:] != point_at[:-1]
    chosen = ids[grid_at[first]]
    elapsed = time.perf_counter() - started
    return elapsed, (len(points), int(first.sum()), int(chosen.sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="A B B A rounds")
    parser.add_argument("--reports", type=int, default=100, help="reports per grid")
    parser.add_argument("--side", type=int, default=SIDE, help="grids a side of the city")
    parser.add_argument("--reuse", action="store_true", help="keep the city of the last run")
    args = parser.parse_args()
    engine, city = city_database("bench_regrid", args.side, args.reuse, buildings=0, reports=args.reports)
    print(f"{city['grids']:,} grids, {city['reports']:,} reports")
    with engine.connect() as conn:
        layer = gpd.read_postgis(
            "SELECT id, code, name, geom FROM areas WHERE level = 'grid' ORDER BY code", conn, geom_col="geom"
        )
        points = shapely.from_wkb(
            [row[0] for row in conn.execute(text("SELECT ST_AsBinary(geom) FROM reports ORDER BY id"))]
        )
    grids, codes, ids = layer.geometry.values, layer["code"].to_numpy(), layer["id"].to_numpy()
    times: dict[str, list[float]] = {"ours": [], "strtree": []}
    results: dict[str, tuple] = {}
    for _ in range(args.rounds):
        for name in ("ours", "strtree", "strtree", "ours"):
            elapsed, results[name] = ours(engine) if name == "ours" else strtree(grids, codes, ids, points)
            times[name].append(elapsed)
    n = len(points)
    print(f"assigning {n:,} reports to {len(grids):,} grids, {len(times['ours'])} runs each in turns")
    for name, label in (("ours", "ours (GRID_PICKS_SQL)"), ("strtree", "Shapely STRtree (covered_by)")):
        per_point = [1e6 * t / n for t in times[name]]
        print(f"  {label:<32}{spread(times[name])}   {spread(per_point, 'µs a report')}")
    inside_ours, inside_ref = results["ours"][1], results["strtree"][1]
    print(f"  reports in a grid: ours {inside_ours:,}, STRtree {inside_ref:,}")
    speed = [s / o for o, s in zip(times["ours"], times["strtree"])]
    print(
        f"  ours' speed / STRtree's = {spread(speed, '×')} (target ≥ 0.6×) → "
        f"{'MET' if statistics.median(speed) >= 0.6 else 'NOT MET'}"
    )

    # the whole --replace of the layer, as a job runs it, and its undo
    workdir = Path(tempfile.mkdtemp(prefix="gridwatch-bench-"))
    try:
        path = workdir / "grids.gpkg"
        layer.drop(columns=["id"]).to_file(path, driver="GPKG")
        with Session(engine) as session:
            started = time.perf_counter()
            plan = plan_areas(session, path, "grid", replace=True, code_field="code", name_field="name")
            planned = time.perf_counter() - started
            result = apply_areas(session, plan)
            applied = time.perf_counter() - started - planned
            session.commit()
            started = time.perf_counter()
            undo_import(session, result.batch_id)
            session.commit()
            undone = time.perf_counter() - started
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        engine.dispose()
    print(
        f"  --replace of the layer: check {planned:.1f} s, apply {applied:.1f} s "
        f"({result.reassigned.get('reports', 0):,} reports re-gridded); undo {undone:.1f} s"
    )


if __name__ == "__main__":
    main()
