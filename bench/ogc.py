"""QGIS's and GDAL's reads at city scale: OGC API – Features items and vector tiles over 10,000
grids and 1,000,000 reports (bench/city.py), served by gunicorn as ``gridwatch serve`` serves it,
next to the map's own layer endpoint for the same views, and a full paged read of the grids by
``ogr2ogr`` (OAPIF → GeoPackage) next to ``ogr2ogr`` reading the same table straight from PostGIS,
in turns (A B B A …).

- items: 200 random map views (1280 × 800 px at zoom 15–17), the reports in each (a district
  supervisor's token: every case, up to 1,000) and the grids; reference: /api/v1/layers/reports.geojson
  for the same views (the map's pins);
- tiles: 200 random tiles at zoom 12–17 in the city, of grids, buildings and reports (each from
  the zoom its TileJSON offers: buildings and reports from 14); their size;
- buildings as the map draws them from zoom 16, for a view and for a view with 4 pans of half its
  width: the views' vector tiles (each 512-px tile a zoom below the map's, once, one after
  another: their summed time and bytes; a browser asks for six at a time and keeps them five
  minutes) against the map's former GeoJSON layer of each view (/api/v1/layers/buildings.geojson),
  which it fetched again at every move;
- the grids copied whole: ``ogr2ogr -f GPKG out.gpkg OAPIF:…/ogc/ grids`` (pages of 1,000: GDAL
  reads its first page twice, and of 10,000 that costs it more than the requests saved) against
  ``ogr2ogr -f GPKG out.gpkg PG:… -sql 'SELECT … FROM areas WHERE level = 'grid''``.
Targets: items and tiles p95 < 100 ms, every tile ≤ 500 KB, the full read ≤ 2× ogr2ogr from PostGIS.
Run: make bench-ogc  (or .venv/bin/python -m bench.ogc [--side 100] [--views 200] [--reuse])
"""

from __future__ import annotations

import argparse
import http.client
import math
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.city import city_database, extent
from bench.common import p95, spread, start_gunicorn
from gis.accounts import create_user, issue_token
from gis.maps.features import tile_min_zoom
from gis.maps.layers import MIN_BUILDING_ZOOM
from gis.models import User


def view(rng: random.Random, side: int) -> tuple[str, float]:
    """A random 1280 × 800 px map view in the city at zoom 15–17: its bbox and zoom."""
    x0, y0, x1, y1 = extent(side)
    zoom = rng.uniform(15, 17)
    width = 1280 * 360 / (256 * 2**zoom)
    height = width * 800 / 1280 * math.cos(math.radians((y0 + y1) / 2))
    lon, lat = rng.uniform(x0, x1 - width), rng.uniform(y0, y1 - height)
    return f"{lon:.6f},{lat:.6f},{lon + width:.6f},{lat + height:.6f}", zoom


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def timed_get(
    conn: http.client.HTTPConnection, path: str, token: str, gzip: bool = False
) -> tuple[float, int]:
    """Milliseconds and bytes of one GET (``gzip``: as a browser asks, compressed if the server will)."""
    t = time.perf_counter()
    encoding = {"Accept-Encoding": "gzip"} if gzip else {}
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}", **encoding})
    answer = conn.getresponse()
    body = answer.read()
    if answer.status != 200:
        raise RuntimeError(f"{path}: {answer.status} {body[:200]!r}")
    return 1000 * (time.perf_counter() - t), len(body)


def pans(view_: tuple[str, float], steps: int = 4) -> list[tuple[str, float]]:
    """``view_`` and ``steps`` pans of half its width east, as a supervisor looks along a street."""
    x0, y0, x1, y1 = (float(v) for v in view_[0].split(","))
    half = (x1 - x0) / 2
    boxes = [f"{x0 + k * half:.6f},{y0:.6f},{x1 + k * half:.6f},{y1:.6f}" for k in range(steps + 1)]
    return [(box, view_[1]) for box in boxes]


def buildings_of_views(conn, views_: list, token: str, tiled: bool) -> tuple[float, int]:
    """The buildings of views seen one after another as the map asks for them from zoom 16: the
    GeoJSON layer of each view, or each 512-px tile of the views a zoom below (a tile once: the
    browser keeps it five minutes); summed milliseconds and bytes (gzip, as a browser is sent them)."""
    ms = size = 0
    seen: set = set()
    for bbox, zoom in views_:
        z = max(MIN_BUILDING_ZOOM, round(zoom))  # the map's zoom, whole as Leaflet snaps it
        if not tiled:
            query = urlencode({"bbox": bbox, "zoom": z})
            paths = [f"/api/v1/layers/buildings.geojson?{query}"]
        else:
            x0, y0, x1, y1 = (float(v) for v in bbox.split(","))
            (left, top), (right, bottom) = tile_of(x0, y1, z - 1), tile_of(x1, y0, z - 1)
            new = {(z - 1, x, y) for x in range(left, right + 1) for y in range(top, bottom + 1)} - seen
            seen |= new
            paths = [f"/tiles/buildings/{tz}/{x}/{y}.pbf" for tz, x, y in sorted(new)]
        for path in paths:
            one_ms, one_size = timed_get(conn, path, token, gzip=True)
            ms, size = ms + one_ms, size + one_size
    return ms, size


def copy(source: list[str], out: Path) -> float:
    out.unlink(missing_ok=True)
    t = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(out), *source], check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=100, help="grids a side (100: 10,000 grids)")
    parser.add_argument("--reports", type=int, default=100, help="reports per grid")
    parser.add_argument("--views", type=int, default=200, help="random views and tiles")
    parser.add_argument("--rounds", type=int, default=4, help="turns (A B B A …)")
    parser.add_argument("--copies", type=int, default=2, help="full reads of the grids by each side")
    parser.add_argument("--reuse", action="store_true", help="keep the city of the last run")
    args = parser.parse_args()
    engine, city = city_database(
        f"bench_city_{args.side}_30_{args.reports}", args.side, args.reuse, reports=args.reports
    )
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.username == "bench-ogc")) or create_user(
            session, "bench-ogc", "supervisor", "bench-password"
        )
        token = issue_token(user)
        session.commit()
    url = engine.url.render_as_string(hide_password=False)
    server, port = start_gunicorn(url)
    rng = random.Random(26)
    views = [view(rng, args.side) for _ in range(args.views)]
    x0, y0, x1, y1 = extent(args.side)
    tiles = []
    for _ in range(args.views):  # each layer within the zooms its TileJSON offers
        layer = rng.choice(("grids", "buildings", "reports"))
        z = rng.randint(max(12, tile_min_zoom(layer)), 17)
        tiles.append((layer, z, *tile_of(rng.uniform(x0, x1), rng.uniform(y0, y1), z)))
    kinds = {
        "map": lambda v: f"/api/v1/layers/reports.geojson?{urlencode({'bbox': v[0], 'zoom': f'{v[1]:.2f}'})}",
        "reports": lambda v: f"/ogc/collections/reports/items?{urlencode({'bbox': v[0], 'limit': 1000})}",
        "grids": lambda v: f"/ogc/collections/grids/items?{urlencode({'bbox': v[0], 'limit': 1000})}",
    }
    building_bytes: dict[str, list[int]] = {
        name: [] for name in ("building_json", "building_tiles", "walk_json", "walk_tiles")
    }
    names = [*kinds, "tiles", *building_bytes]
    times: dict[str, list[float]] = {name: [] for name in names}
    sizes: list[int] = []
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for path in kinds.values():  # warm
            timed_get(conn, path(views[0]), token)
        per_turn = max(1, args.views // args.rounds)
        for turn in range(args.rounds):
            for name in names if turn % 2 == 0 else reversed(names):
                for k in range(turn * per_turn, (turn + 1) * per_turn):
                    if name in building_bytes:
                        walk = pans(views[k]) if name.startswith("walk") else [views[k]]
                        ms, size = buildings_of_views(conn, walk, token, tiled=name.endswith("tiles"))
                        building_bytes[name].append(size)
                    elif name == "tiles":
                        layer, z, x, y = tiles[k]
                        ms, size = timed_get(conn, f"/tiles/{layer}/{z}/{x}/{y}.pbf", token)
                        sizes.append(size)
                    else:
                        ms, _ = timed_get(conn, kinds[name](views[k]), token)
                    times[name].append(ms)
        conn.close()
        with tempfile.TemporaryDirectory() as d:
            oapif = [f"OAPIF:http://127.0.0.1:{port}/ogc/", "grids", "-oo", "PAGE_SIZE=1000"]
            pg = [
                f"PG:{engine.url.render_as_string(hide_password=False).replace('postgresql+psycopg://', 'postgresql://')}",
                "-sql",
                "SELECT id, code, name, level, area_m2, geom FROM areas WHERE level = 'grid'",
                "-nln",
                "grids",
            ]
            copies: dict[str, list[float]] = {"ours": [], "ogr2ogr": []}
            for turn in range(args.copies * 2):
                order = ["ours", "ogr2ogr"] if turn % 2 == 0 else ["ogr2ogr", "ours"]
                for side in order:
                    source = oapif if side == "ours" else pg
                    copies[side].append(copy(source, Path(d, f"{side}.gpkg")))
    finally:
        server.terminate()
        server.wait()
        engine.dispose()
    turns = {
        name: [p95(v[k * per_turn : (k + 1) * per_turn]) for k in range(args.rounds)]
        for name, v in times.items()
    }
    print(
        f"OGC API – Features and vector tiles, {city['grids']:,} grids, {city['reports']:,} reports; "
        f"{per_turn * args.rounds} views and tiles in {args.rounds} turns (A B B A), "
        "a district supervisor's token"
    )
    print(f"{'':<44}{'p50 ms':>9}{'p95 ms':>9}   spread of the turns' p95")
    for name, label in (
        ("map", "the map's pins layer (the reference)"),
        ("reports", "OGC items: reports in a view"),
        ("grids", "OGC items: grids in a view"),
        ("tiles", "vector tiles z12–17"),
        ("building_json", "buildings of a view: GeoJSON (reference)"),
        ("building_tiles", "buildings of a view: its vector tiles"),
        ("walk_json", "a view and 4 pans: GeoJSON (reference)"),
        ("walk_tiles", "a view and 4 pans: vector tiles"),
    ):
        print(
            f"{label:<44}{statistics.median(times[name]):>9.1f}{p95(times[name]):>9.1f}"
            f"   {spread(turns[name], 'ms', 1)}"
        )
    print(f"  tiles: largest {max(sizes) / 1024:.0f} KB, median {statistics.median(sizes) / 1024:.1f} KB")
    kb = {name: statistics.median(v) / 1024 for name, v in building_bytes.items()}
    print(
        f"  buildings (gzip, as sent), median: a view {kb['building_tiles']:.0f} KB of tiles vs "
        f"{kb['building_json']:.0f} KB of GeoJSON; a view and 4 pans {kb['walk_tiles']:.0f} KB vs "
        f"{kb['walk_json']:.0f} KB"
    )
    ratio = [a / b for a, b in zip(copies["ours"], copies["ogr2ogr"], strict=True)]
    print(
        f"all grids copied: OAPIF {spread(copies['ours'])} vs ogr2ogr from PostGIS "
        f"{spread(copies['ogr2ogr'])}; "
        f"ours / ogr2ogr = {statistics.median(ratio):.2f}× ({min(ratio):.2f}–{max(ratio):.2f})"
    )
    worst = max(p95(times["reports"]), p95(times["grids"]), p95(times["tiles"]))
    met = worst < 100 and max(sizes) <= 500 * 1024 and statistics.median(ratio) <= 2
    print(
        "target items and tiles p95 < 100 ms, tiles ≤ 500 KB, full read ≤ 2× ogr2ogr → "
        + ("MET" if met else "NOT MET")
    )


if __name__ == "__main__":
    main()
