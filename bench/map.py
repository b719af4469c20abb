"""The supervisors' map in a city of 32,400 grids next to one of 10,000, in the same run.

Cities from ``bench/city.py`` (``--sides``): 10,000 grids, 300,000 buildings, 1,000,000 reports,
and 32,400 grids (972,000 buildings, 3,240,000 reports), the same mix in each. Both are served at
once, each by its own gunicorn as ``gridwatch serve`` serves it, and asked in turns (A B B A …):
- first render: a fresh headless Chromium (no cache) navigates to /map, logged in; the time from
  navigation start to the grids drawn (the map sets ``data-grids-loaded`` once they are), one a
  turn, median and spread;
- bytes of the first view, once the network is idle: the HTML, the data (GeoJSON), and the static
  files (Leaflet, Bootstrap…, cached by the browser after the first visit);
- the viewport endpoints over 200 random viewports (1280 × 800 px, zoom 13-18, anywhere in the
  city; the same draws in both): p50 and p95 of the grid layer and of the pins, asked for as the
  page asks (open cases); at zoom 13 the map draws communities, with figures kept per community;
  the same again over 200 views wholly inside the city (zoom 16.5-18), and for a street's
  supervisor and a grid worker (the access policy's scopes).
Targets: first render < 2 s, < 1.5 MB, p95 < 100 ms; p95 and first render growing < 1.5× from
10,000 to 32,400 grids.
Run: make bench-map  (or .venv/bin/python -m bench.map [--sides 100,180] [--rounds 4] [--reuse])
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
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bench.city import city_database, extent
from bench.common import p95, spread, start_gunicorn
from gis.accounts import create_user, issue_token
from gis.models import User

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
    """The city's database (bench/city.py's, made unless ``reuse`` finds it) with a supervisor of
    the district, one of the first street (the policy's area scope) and a grid worker of four
    grids: (URL, tokens)."""
    engine, _counts = city_database(f"bench_city_{side}_30_100", side, reuse)
    with Session(engine) as session:
        grids = tuple(
            session.scalars(text("SELECT code FROM areas WHERE level = 'grid' ORDER BY code LIMIT 4"))
        )
        made = {
            "district": ("bench", "supervisor", {}),
            "street": ("bench-street", "supervisor", {"area_code": "650202001"}),
            "worker": ("bench-worker", "grid_worker", {"grid_codes": grids}),
        }
        # the city is shared with the other benchmarks (report_intake's phones file reports): the
        # users of an earlier run are kept, not deleted
        users = {
            who: session.scalar(select(User).where(User.username == name))
            or create_user(session, name, role, PASSWORD, **options)
            for who, (name, role, options) in made.items()
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


def viewports(
    port: int, token: str, side: int, count: int = 200, seed: int = 7, **how
) -> dict[str, list[float]]:
    """Milliseconds per request of the grid layer and the pins, one client, random viewports
    (the same ``seed`` draws the same views, scaled to each city)."""
    rng = random.Random(seed)
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


KINDS = ("all", "inside", "street", "worker")  # which views, asked by whom (see the docstring)


def measure(browser, sides: tuple[int, ...], reuse: bool, rounds: int, views: int) -> dict[int, dict]:
    """Both cities served at once, each by its own gunicorn, asked in turns (A B B A …): each
    turn one cold first render and ``views / rounds`` views of each kind, the same draws in both."""
    served = {}
    for side in sides:
        url, tokens = prepare(side, reuse)
        served[side] = (tokens, *start_gunicorn(url))
    taken = {side: {"render": [], **{kind: {"grids": [], "pins": []} for kind in KINDS}} for side in sides}
    try:
        states = {}
        for side, (_tokens, _proc, port) in served.items():
            base = f"http://127.0.0.1:{port}"
            states[side] = log_in(browser, base)
            first_render(browser, base, states[side])  # warm the server (imports, connections)
        per_turn = max(1, views // rounds)
        for turn in range(rounds):
            for side in sides if turn % 2 == 0 else tuple(reversed(sides)):
                tokens, _proc, port = served[side]
                got = taken[side]
                got["render"].append(first_render(browser, f"http://127.0.0.1:{port}", states[side]))
                asked = {
                    "all": (tokens["district"], {}),
                    # views of equal content in both cities: wholly inside the small one, zoom 16.5+
                    "inside": (tokens["district"], {"zooms": (16.5, 18), "inside": True}),
                    # the same random views asked by viewers the policy scopes
                    "street": (tokens["street"], {}),
                    "worker": (tokens["worker"], {}),
                }
                for kind, (token, how) in asked.items():
                    timings = viewports(port, token, side, per_turn, seed=100 * turn + 7, **how)
                    for layer in ("grids", "pins"):
                        got[kind][layer] += timings[layer]
    finally:
        for _tokens, proc, _port in served.values():
            proc.terminate()
            proc.wait()
    return {side: _figures(side, got) for side, got in taken.items()}


def _figures(side: int, got: dict) -> dict:
    renders = [ms for ms, _sizes in got["render"]]
    sizes = got["render"][0][1]
    return {
        "grids": side * side,
        "render_ms": statistics.median(renders),
        "render_turns": renders,
        "html": sizes["html"],
        "data": sizes["data"],
        "assets": sizes["assets"],
        "first_view": sizes["html"] + sizes["data"],
        "grids_p50": statistics.median(got["all"]["grids"]),
        "grids_p95": p95(got["all"]["grids"]),
        "pins_p50": statistics.median(got["all"]["pins"]),
        "pins_p95": p95(got["all"]["pins"]),
        "grids_p95_inside": p95(got["inside"]["grids"]),
        "pins_p95_inside": p95(got["inside"]["pins"]),
        "pins_p95_street": p95(got["street"]["pins"]),
        "grids_p95_street": p95(got["street"]["grids"]),
        "pins_p95_worker": p95(got["worker"]["pins"]),
    }


GROWTH = 1.5  # the largest growth allowed from the small city to the big one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sides", default="100,180", help="grids a side of the two cities")
    parser.add_argument("--rounds", type=int, default=4, help="turns each city takes (A B B A …)")
    parser.add_argument("--views", type=int, default=200, help="random views of each kind per city")
    parser.add_argument("--reuse", action="store_true", help="keep the cities of the last run")
    args = parser.parse_args()
    small_side, big_side = (int(v) for v in args.sides.split(","))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            measured = measure(browser, (small_side, big_side), args.reuse, args.rounds, args.views)
        finally:
            browser.close()
    small, big = measured[small_side], measured[big_side]

    # (label, key, limit): a positive limit is absolute and on the growth, a negative one absolute only
    rows = [
        ("first render (ms)", "render_ms", 2000, "{:,.0f}"),
        # the first view's data: pins in one city, community bubbles in a bigger one — not alike
        ("HTML + data (KB)", "first_view", -1.5 * MB, "{:,.0f}"),
        ("  of which data (KB)", "data", None, "{:,.0f}"),
        ("static files (KB)", "assets", None, "{:,.0f}"),
        ("grid layer p50 (ms)", "grids_p50", None, "{:,.1f}"),
        ("grid layer p95 (ms)", "grids_p95", 100, "{:,.1f}"),
        ("pins p50 (ms)", "pins_p50", None, "{:,.1f}"),
        ("pins p95 (ms)", "pins_p95", 100, "{:,.1f}"),
        ("grid layer p95, z16.5+ (ms)", "grids_p95_inside", 100, "{:,.1f}"),
        ("pins p95, z16.5+ (ms)", "pins_p95_inside", 100, "{:,.1f}"),
        # scoped by the access policy: a street is 10 grids deep and as wide as its city
        ("grid layer p95, a street's supervisor (ms)", "grids_p95_street", -100, "{:,.1f}"),
        ("pins p95, a street's supervisor (ms)", "pins_p95_street", -100, "{:,.1f}"),
        ("pins p95, a grid worker (ms)", "pins_p95_worker", -100, "{:,.1f}"),
    ]
    print(
        f"/map, {small['grids']:,} grids vs {big['grids']:,} grids (100 reports, 30 buildings a grid), "
        f"both served at once, {args.rounds} turns each (A B B A), {args.views} views of each kind"
    )
    print(f"{'':<44}{small['grids']:>10,}{big['grids']:>10,}{'growth':>9}   target")
    met = True
    for label, key, limit, fmt in rows:
        scale = 1024 if "KB" in label else 1
        a, b = small[key] / scale, big[key] / scale
        growth = b / a if a else float("inf")
        verdict = ""
        if limit is not None:
            absolute_only, limit = limit < 0, abs(limit)
            ok = big[key] < limit and (absolute_only or growth < GROWTH)
            met &= ok
            shown = f"< {limit / MB:.1f} MB" if "KB" in label else f"< {limit:g}"
            verdict = f"{shown}{'' if absolute_only else f', < {GROWTH}×'} → {'ok' if ok else 'NOT MET'}"
        print(f"{label:<44}{fmt.format(a):>10}{fmt.format(b):>10}{growth:>8.2f}×   {verdict}")
    growths = [b / a for a, b in zip(small["render_turns"], big["render_turns"])]
    print(
        f"first render by turn (ms): {spread(small['render_turns'], 'ms', 0)} vs "
        f"{spread(big['render_turns'], 'ms', 0)}; growth by turn {spread(growths, '×')}"
    )
    print(f"map targets: {'MET' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
