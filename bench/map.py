"""The supervisors' map at city scale, next to the same page with 100 grids, in the same run.

Cities from ``bench/city.py``: 10,000 grids, 300,000 buildings, 1,000,000 reports, and 100 grids
(3,000 buildings, 10,000 reports). For each, served by gunicorn as ``gridwatch serve`` serves it:
- first render: a fresh headless Chromium (no cache) navigates to /map, logged in; the time from
  navigation start to the grids drawn (the map sets ``data-grids-loaded`` once they are), median
  of 3;
- bytes of the first view, once the network is idle: the HTML, the data (GeoJSON), and the static
  files (Leaflet, Bootstrap…, cached by the browser after the first visit);
- the viewport endpoints over 200 random viewports (1280 × 800 px, zoom 13-18, anywhere in the
  city): p50 and p95 of the grid layer and of the pins, asked for as the page asks (open cases);
  a zoom-13 view of the big city holds ~5,000 grids where the small city has 100 in all (the map
  then draws communities, with figures kept per community), and the same is measured again over
  200 views that lie wholly inside both cities (zoom 16.5-18): the growth with city size alone.
Targets: first render < 2 s, < 1.5 MB, p95 < 100 ms, each growing < 2× from 100 to 10,000 grids.
Run: make bench-map  (or .venv/bin/python -m bench.map [--reuse])
"""

from __future__ import annotations

import argparse
import http.client
import math
import random
import statistics
import time
from urllib.parse import urlencode

from playwright.sync_api import sync_playwright
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.city import extent, make_city
from bench.common import scratch_engine, start_gunicorn
from gis.accounts import create_user, issue_token

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = (1280, 800)
PASSWORD = "bench-password"
MB = 1024 * 1024

BYTES_JS = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const sum = (xs) => xs.reduce((s, r) => s + (r.transferSize || r.encodedBodySize || 0), 0);
    const data = res.filter((r) => r.initiatorType === 'fetch' || r.initiatorType === 'xmlhttprequest');
    return {html: nav.transferSize || nav.encodedBodySize, data: sum(data),
            assets: sum(res.filter((r) => !data.includes(r)))};
}"""


def prepare(side: int, reuse: bool) -> tuple[str, dict[str, str]]:
    """The city's database (made unless ``reuse`` finds it) with a supervisor of the district, one
    of the first street (the policy's area scope) and a grid worker of four grids: (URL, tokens)."""
    engine = scratch_engine(f"bench_map_{side}", keep=reuse)
    with Session(engine) as session:
        if not session.scalar(text("SELECT count(*) FROM reports")):
            t = time.perf_counter()
            counts = make_city(session, side)
            print(f"generated {counts} in {time.perf_counter() - t:.0f} s")
        session.execute(text("DELETE FROM users WHERE username LIKE 'bench%'"))
        grids = tuple(
            session.scalars(text("SELECT code FROM areas WHERE level = 'grid' ORDER BY code LIMIT 4"))
        )
        users = {
            "district": create_user(session, "bench", "supervisor", PASSWORD),
            "street": create_user(session, "bench-street", "supervisor", PASSWORD, area_code="650202001"),
            "worker": create_user(session, "bench-worker", "grid_worker", PASSWORD, grid_codes=grids),
        }
        tokens = {who: issue_token(user) for who, user in users.items()}
        session.commit()
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    return url, tokens


def log_in(browser, base: str) -> dict:
    """The logged-in browser state (the session cookie), to start each cold-cache context from."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "bench")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    state = context.storage_state()
    context.close()
    return state


def first_render(browser, base: str, state: dict) -> tuple[float, dict]:
    """Milliseconds from navigation to the grids drawn, and the first view's bytes (cold cache)."""
    fresh = browser.new_context(viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]}, storage_state=state)
    page = fresh.new_page()
    page.goto(f"{base}/map", wait_until="commit")
    page.wait_for_function(
        "() => document.querySelector('.folium-map')?.dataset.gridsLoaded", timeout=60_000, polling="raf"
    )
    drawn_ms = page.evaluate("() => performance.now()")
    page.wait_for_load_state("networkidle")
    sizes = page.evaluate(BYTES_JS)
    error = page.evaluate("() => document.querySelector('.folium-map').dataset.gridsError")
    fresh.close()
    if error:
        raise RuntimeError(f"the map could not load its grids: {error}")
    return drawn_ms, sizes


def viewport_bbox(
    rng: random.Random, side: int, zooms=(13, 18), inside: bool = False
) -> tuple[float, tuple[float, float, float, float]]:
    """A random VIEWPORT-sized view of the city: (zoom, bbox); its centre anywhere in the city,
    or, ``inside``, placed so the whole view lies within it."""
    zoom = rng.uniform(*zooms)
    minx, miny, maxx, maxy = extent(side)
    lat0 = (miny + maxy) / 2
    deg_per_px = 360 / (256 * 2**zoom)
    half_w = VIEWPORT[0] / 2 * deg_per_px
    half_h = VIEWPORT[1] / 2 * deg_per_px * math.cos(math.radians(lat0))
    margin_x, margin_y = (half_w, half_h) if inside else (0, 0)
    lon = rng.uniform(minx + margin_x, maxx - margin_x)
    lat = rng.uniform(miny + margin_y, maxy - margin_y)
    return zoom, (lon - half_w, lat - half_h, lon + half_w, lat + half_h)


def viewports(port: int, token: str, side: int, count: int = 200, **how) -> dict[str, list[float]]:
    """Milliseconds per request of the grid layer and the pins, one client, random viewports."""
    rng = random.Random(7)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    timings = {"grids": [], "pins": []}
    for _ in range(count):
        zoom, bbox = viewport_bbox(rng, side, **how)
        box = ",".join(f"{v:.6f}" for v in bbox)
        grids = urlencode({"bbox": box, "zoom": f"{zoom:.0f}", "auto": 1})
        pins = urlencode({"bbox": box, "status": "open"})
        for name, path in (
            ("grids", f"/api/v1/layers/grid.geojson?{grids}"),
            ("pins", f"/api/v1/layers/reports.geojson?{pins}"),
        ):
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            timings[name].append(1000 * (time.perf_counter() - t))
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status}")
    return timings


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def measure(browser, side: int, reuse: bool) -> dict:
    url, tokens = prepare(side, reuse)
    token = tokens["district"]
    proc, port = start_gunicorn(url)
    try:
        base = f"http://127.0.0.1:{port}"
        state = log_in(browser, base)
        first_render(browser, base, state)  # warm the server (imports, connections), not the browser
        runs = [first_render(browser, base, state) for _ in range(3)]
        times = viewports(port, token, side)
        # views of equal content in both cities: wholly inside the small one (zoom 16.5 and up)
        same = viewports(port, token, side, zooms=(16.5, 18), inside=True)
        # the same random views asked by viewers the policy scopes: a street's supervisor, a worker
        street = viewports(port, tokens["street"], side)
        worker = viewports(port, tokens["worker"], side)
    finally:
        proc.terminate()
        proc.wait()
    render_ms = statistics.median(ms for ms, _ in runs)
    sizes = runs[0][1]
    return {
        "grids": side * side,
        "render_ms": render_ms,
        "html": sizes["html"],
        "data": sizes["data"],
        "assets": sizes["assets"],
        "first_view": sizes["html"] + sizes["data"],
        "grids_p50": statistics.median(times["grids"]),
        "grids_p95": p95(times["grids"]),
        "pins_p50": statistics.median(times["pins"]),
        "pins_p95": p95(times["pins"]),
        "grids_p95_inside": p95(same["grids"]),
        "pins_p95_inside": p95(same["pins"]),
        "pins_p95_street": p95(street["pins"]),
        "grids_p95_street": p95(street["grids"]),
        "pins_p95_worker": p95(worker["pins"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reuse", action="store_true", help="keep the cities of the last run")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            small, big = (measure(browser, side, args.reuse) for side in (10, 100))
        finally:
            browser.close()

    rows = [
        ("first render (ms)", "render_ms", 2000, "{:,.0f}"),
        ("HTML + data (KB)", "first_view", 1.5 * MB, "{:,.0f}"),
        ("  of which data (KB)", "data", None, "{:,.0f}"),
        ("static files (KB)", "assets", None, "{:,.0f}"),
        ("grid layer p50 (ms)", "grids_p50", None, "{:,.1f}"),
        ("grid layer p95 (ms)", "grids_p95", 100, "{:,.1f}"),
        ("pins p50 (ms)", "pins_p50", None, "{:,.1f}"),
        ("pins p95 (ms)", "pins_p95", 100, "{:,.1f}"),
        ("grid layer p95, z16.5+ (ms)", "grids_p95_inside", 100, "{:,.1f}"),
        ("pins p95, z16.5+ (ms)", "pins_p95_inside", 100, "{:,.1f}"),
        # scoped by the access policy: a street of 10 × 10 grids in the small city, 10 × 100 in the big one,
        # so only the absolute target applies
        ("grid layer p95, a street's supervisor (ms)", "grids_p95_street", -100, "{:,.1f}"),
        ("pins p95, a street's supervisor (ms)", "pins_p95_street", -100, "{:,.1f}"),
        ("pins p95, a grid worker (ms)", "pins_p95_worker", -100, "{:,.1f}"),
    ]
    print(f"/map, {small['grids']:,} grids vs {big['grids']:,} grids (1,000,000 reports), same run")
    print(f"{'':<44}{small['grids']:>10,}{big['grids']:>10,}{'growth':>9}   target")
    met = True
    for label, key, limit, fmt in rows:
        scale = 1024 if "KB" in label else 1
        a, b = small[key] / scale, big[key] / scale
        growth = b / a if a else float("inf")
        verdict = ""
        if limit is not None:
            absolute_only, limit = limit < 0, abs(limit)
            ok = big[key] < limit and (absolute_only or growth < 2)
            met &= ok
            shown = f"< {limit / MB:.1f} MB" if "KB" in label else f"< {limit:g}"
            verdict = f"{shown}{'' if absolute_only else ', < 2×'} → {'ok' if ok else 'NOT MET'}"
        print(f"{label:<44}{fmt.format(a):>10}{fmt.format(b):>10}{growth:>8.2f}×   {verdict}")
    print(f"map targets: {'MET' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
