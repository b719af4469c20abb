"""Import 100,000 generated building footprints from a shapefile (projected CGCS2000 EPSG:4537,
GBK names, no .cpg: as surveying institutes deliver them) into a city of 10,000 grids, next to
`ogr2ogr -f PostgreSQL` loading the same file into the same database, in turns (A B B A …).

- ogr2ogr: its fastest documented way for PostgreSQL — COPY (``PG_USE_COPY``), one transaction
  (``-gt unlimited``), the spatial index built once after the load (its default), reprojected to
  EPSG:4326 and promoted to multipolygons like ours; it does nothing else.
- ours (``import_buildings``, as the CLI and the page's job import; the buildings table emptied
  before each turn): also detects the encoding, checks and repairs every polygon and assigns each
  building to its grid — chunk by chunk, on one core while PostgreSQL takes in the chunk before
  on the other.
- ours as a job (``gis.areas.jobs.in_background``, as the web page runs it): the same, with the job's
  row, its progress written on a second connection and its "done" in the import's transaction.
- then intake while the job runs: 8 grid workers' phones posting reports through gunicorn, p95
  while no import runs, while an import runs, in turns.
Targets: ours ≤ 1.0× ogr2ogr; intake p95 < 100 ms during the import.
Run: make bench-import  (or .venv/bin/python -m bench.import_buildings [--count N] [--rounds N])
"""

from __future__ import annotations

import argparse
import http.client
import random
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from bench.city import CELL, ORIGIN, make_city, phone_report
from bench.common import as_json, p95, scratch_engine, spread, start_gunicorn
from gis.accounts import create_user, issue_token
from gis.areas.importer import import_buildings
from gis.areas.jobs import in_background
from gis.models import Category, ImportJob

SIDE = 100  # 100 × 100 = 10,000 grids


def make_shapefile(path: Path, count: int, side: int = SIDE) -> None:
    rng = np.random.default_rng(7)
    n = int(np.ceil(np.sqrt(count)))
    span = side * CELL
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
    path.with_suffix(".cpg").unlink()


def ogr2ogr(engine, shp: Path) -> float:
    url = engine.url
    pg = f"PG:dbname={url.database} user={url.username} host={url.query['host']}"
    started = time.perf_counter()
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "PostgreSQL",
            pg,
            str(shp),
            "-overwrite",
            "-nln",
            "ogr_buildings",
            "-lco",
            "GEOMETRY_NAME=geom",
            "-nlt",
            "PROMOTE_TO_MULTI",
            "-t_srs",
            "EPSG:4326",
            "-gt",
            "unlimited",
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
    return time.perf_counter() - started


def empty_buildings(engine) -> None:
    """Before each turn of ours: no buildings (and no reports, which point at them)."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM undo_links"))
        conn.execute(text("DELETE FROM undo_buildings"))
        conn.execute(text("TRUNCATE buildings CASCADE"))


def ours(engine, shp: Path) -> tuple[float, dict]:
    empty_buildings(engine)
    started = time.perf_counter()
    with Session(engine) as session:
        result = import_buildings(session, shp)
        session.commit()
    return time.perf_counter() - started, result.report


def as_job(engine, shp: Path, user_id: int) -> float:
    sessions = sessionmaker(engine)
    started = time.perf_counter()
    with sessions() as session:
        job = ImportJob(
            kind="buildings", filename=shp.name, user_id=user_id, options={"nearest_building_m": 20}
        )
        session.add(job)
        session.commit()
        job_id = job.id
    in_background(sessions, job_id, shp).join()  # as the server runs it: a thread behind the requests
    elapsed = time.perf_counter() - started
    with sessions() as session:
        state = session.get(ImportJob, job_id).state
    assert state == "done", state
    return elapsed


def intake_load(
    port: int, auths: list, categories: list, stop: threading.Event, side: int
) -> list[tuple[float, float]]:
    """Phones posting reports until ``stop``: (start time, seconds) of each answer."""
    rng = random.Random(3)
    out: list[tuple[float, float]] = []

    def phone(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while not stop.is_set():
            t = time.perf_counter()
            body = as_json(phone_report(rng, categories, side))
            conn.request("POST", "/api/v1/reports", body=body, headers=auths[n])
            response = conn.getresponse()
            response.read()
            assert response.status == 201, response.status
            out.append((t, time.perf_counter() - t))

    threads = [threading.Thread(target=phone, args=(n,)) for n in range(len(auths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def intake_during_import(engine, shp: Path, user_id: int, rounds: int, side: int) -> dict:
    """Intake p95 with no import running and while a job imports, in turns (quiet, import, import,
    quiet …), through gunicorn as ``gridwatch serve`` runs it."""
    with Session(engine) as session:
        tokens = [
            issue_token(create_user(session, f"bench-{n}", "grid_worker", "bench-password")) for n in range(8)
        ]
        categories = session.scalars(select(Category.code).where(Category.parent_code.isnot(None))).all()
        session.commit()
    auths = [{"Authorization": f"Bearer {t}", "Content-Type": "application/json"} for t in tokens]
    proc, port = start_gunicorn(engine.url.render_as_string(hide_password=False))
    quiet: list[float] = []
    during: list[float] = []
    jobs: list[float] = []
    try:
        for turn in ["quiet", "import", "import", "quiet"] * rounds:
            empty_buildings(engine)  # a first building import into a city whose phones are reporting
            stop = threading.Event()
            load: list = []
            runner = threading.Thread(
                target=lambda load=load, stop=stop: load.extend(
                    intake_load(port, auths, categories, stop, side)
                )
            )
            runner.start()
            time.sleep(1)  # the phones are sending
            started = time.perf_counter()
            if turn == "import":
                jobs.append(as_job(engine, shp, user_id))
            else:
                time.sleep(jobs[-1] if jobs else 5)
            ended = time.perf_counter()
            stop.set()
            runner.join()
            window = [s for t, s in load if started <= t <= ended]
            (during if turn == "import" else quiet).extend(window)
    finally:
        proc.terminate()
        proc.wait()
    return {"quiet": quiet, "during": during, "jobs": jobs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2, help="A B B A rounds")
    parser.add_argument("--side", type=int, default=SIDE, help="grids a side of the city")
    args = parser.parse_args()
    side = args.side
    if shutil.which("ogr2ogr") is None:
        raise SystemExit("ogr2ogr is missing: `make setup` installs gdal-bin")
    engine = scratch_engine("bench_import")
    t = time.perf_counter()
    with Session(engine) as session:
        make_city(session, side, buildings=0, reports=0)
        planner = create_user(session, "bench-planner", "planner", "bench-password")
        session.commit()
        planner_id = planner.id
    print(f"city: {side * side:,} grids in {time.perf_counter() - t:.1f} s")
    workdir = Path(tempfile.mkdtemp(prefix="gridwatch-bench-"))
    try:
        shp = workdir / "buildings.shp"
        t = time.perf_counter()
        make_shapefile(shp, args.count, side)
        size = sum(f.stat().st_size for f in workdir.iterdir()) / 1e6
        print(
            f"generated {args.count:,} footprints in {time.perf_counter() - t:.1f} s "
            f"({size:.0f} MB shapefile)"
        )
        times: dict[str, list[float]] = {"ogr2ogr": [], "ours": [], "job": []}
        report: dict = {}
        for _ in range(args.rounds):
            for name in ["ogr2ogr", "ours", "job", "job", "ours", "ogr2ogr"]:  # in turns
                if name == "ogr2ogr":
                    times[name].append(ogr2ogr(engine, shp))
                elif name == "ours":
                    elapsed, report = ours(engine, shp)
                    times[name].append(elapsed)
                else:
                    empty_buildings(engine)
                    times[name].append(as_job(engine, shp, planner_id))
        intake = intake_during_import(engine, shp, planner_id, max(1, args.rounds // 2), side)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        engine.dispose()
    n = len(times["ours"])
    print(f"{args.count:,} footprints, {n} runs each in turns (median, min–max)")
    print(f"  ogr2ogr -f PostgreSQL (COPY, one transaction)   {spread(times['ogr2ogr'])}")
    print(f"  gridwatch: import_buildings                      {spread(times['ours'])}")
    print(f"  gridwatch as a job (the page's import)           {spread(times['job'])}")
    print(
        f"  (ours also: encoding {report['encoding']} detected, validity checked, "
        f"{report['assigned_to_grid']:,} assigned to grids, {report['outside_every_grid']:,} outside)"
    )
    ratios = [a / b for a, b in zip(times["ours"], times["ogr2ogr"])]
    overhead = [j - o for j, o in zip(times["job"], times["ours"])]
    print(
        f"  ours / ogr2ogr = {spread(ratios, '×')} (target ≤ 1.0×) → "
        f"{'MET' if statistics.median(ratios) <= 1 else 'NOT MET'}"
    )
    print(f"  the job's overhead: {spread(overhead)}")
    quiet, during = 1000 * p95(intake["quiet"]), 1000 * p95(intake["during"])
    print(
        f"  intake p95: {quiet:.1f} ms with no import ({len(intake['quiet'])} reports), {during:.1f} ms "
        f"while a job imports ({len(intake['during'])} reports; jobs took {spread(intake['jobs'])}) — "
        f"target < 100 ms {'MET' if during < 100 else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
