"""The grid worker's /report on a weak signal, next to the same page on an unthrottled network, in
the same run and in turns (A B B A).

Chromium (headless, Playwright) with DevTools' "Slow 3G" profile (2 s round trips, 50 kB/s each
way), against the demo city served by gunicorn as ``gridwatch serve`` serves it:
- cold: a fresh browser profile (no cache, no service worker), logged in: the time from
  navigation to the pin being placeable (report.js marks ``gw-pin-ready`` once the map answers
  taps), and the bytes of that first visit (HTML, scripts, styles, data; no map tiles: the demo
  has no basemap) once the network is idle;
- installed: the same profile after that visit (the service worker has kept the page and its
  files): the time to the pin again;
- a report with one photo (a 12-megapixel JPEG from the phone's camera, made small on the phone)
  from the tap on Send until the server's acknowledgement is shown.
Targets: usable within 5 s cold on Slow 3G and within 1 s from the cache; first visit < 500 KB.
Run: make bench-report-page  (or .venv/bin/python -m bench.report_page [--rounds N])
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np
from PIL import Image, ImageFilter
from playwright.sync_api import sync_playwright
from sqlalchemy.orm import Session

from app.delivery import KIT_COOKIE
from bench.common import scratch_engine, start_gunicorn
from bench.map import BYTES_JS, CHROMIUM, CHROMIUM_ARGS
from gis.demo import DEMO_PASSWORD, load_demo

SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
NETWORKS = {"slow 3G": SLOW_3G, "unthrottled": None}
PHONE = {"width": 360, "height": 740}


def camera_photo() -> bytes:
    """A 4000 × 3000 JPEG with the detail of a real photo (what a phone's camera hands the page):
    light and shade, texture at a few scales and sensor noise — about 2.8 MB, and about 380 KB once
    made small (1600 px, JPEG 0.82), as a street photo would be."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:3000, 0:4000].astype(np.float32)
    light = np.stack(
        [120 + 60 * np.sin(x / 400), 130 + 50 * np.cos(y / 300), 110 + 40 * np.sin((x + y) / 500)], -1
    )
    image = Image.fromarray(light.clip(0, 255).astype(np.uint8))
    texture = Image.fromarray(rng.integers(0, 255, (750, 1000, 3), dtype=np.uint8))
    texture = texture.resize((4000, 3000), Image.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    image = Image.blend(image, texture, 0.35)
    noisy = np.asarray(image).astype(np.int16) + rng.normal(0, 6, (3000, 4000, 3)).astype(np.int16)
    out = io.BytesIO()
    Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(out, "JPEG", quality=88)
    return out.getvalue()


def session_cookie(browser, base: str) -> dict:
    """The grid worker's logged-in state, to start each cold profile from: the session cookie only
    (not ``gw_kit``, which says the phone keeps the files: a cold phone does not)."""
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", "worker")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    state = context.storage_state()
    context.close()
    return {"cookies": [c for c in state["cookies"] if c["name"] != KIT_COOKIE], "origins": []}


def throttle(page, network) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    cdp.send(
        "Network.emulateNetworkConditions",
        network or {**SLOW_3G, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def pin_ready_ms(page) -> float:
    page.wait_for_selector("#report-map[data-ready]", state="attached", timeout=120_000)
    return page.evaluate("() => performance.getEntriesByName('gw-pin-ready')[0].startTime")


def one_visit(browser, base: str, state: dict, network, photo: bytes) -> dict:
    """A cold visit, a report with one photo, and the visit again from the installed app."""
    context = browser.new_context(
        base_url=base, viewport=PHONE, is_mobile=True, has_touch=True, storage_state=state
    )
    page = context.new_page()
    try:
        throttle(page, network)
        page.add_init_script(COUNT_SENT_JS)
        page.goto("/report", wait_until="commit")
        cold = pin_ready_ms(page)
        page.wait_for_load_state("networkidle", timeout=180_000)
        sizes = page.evaluate(BYTES_JS)
        # a report with one photo: from Send to the acknowledgement on the page
        page.evaluate("() => GridWatch.map.fire('click', {latlng: GridWatch.map.getCenter()})")
        page.set_input_files(
            "#photos", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}]
        )
        started = time.perf_counter()
        page.click("#send")
        page.wait_for_selector("#outbox a[href^='/cases/']", timeout=180_000)
        acknowledged = (time.perf_counter() - started) * 1000
        sent_bytes = page.evaluate("window.gwSentBytes || 0")
        # the installed app: the service worker controls the page and keeps its files
        page.evaluate("navigator.serviceWorker.ready")
        page.wait_for_function("() => !!navigator.serviceWorker.controller", timeout=180_000)
        page.wait_for_function(
            PRECACHED_JS,
            timeout=180_000,
            polling=500,
        )
        page.goto("/report", wait_until="commit")
        installed = pin_ready_ms(page)
        return {
            "cold_ms": cold,
            "installed_ms": installed,
            "ack_ms": acknowledged,
            "bytes": sum(sizes.values()),
            "sent_bytes": sent_bytes,
        }
    finally:
        context.close()


# what the page's upload carries (the form's fields and photos), counted as the page sends it
COUNT_SENT_JS = """(() => {
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function (body) {
        if (body instanceof FormData) {
            window.gwSentBytes = [...body.values()].reduce((n, v) => n + (v.size ?? String(v).length), 0);
        }
        return send.call(this, body);
    };
})();"""

PRECACHED_JS = """async () => {
    const name = (await caches.keys()).find((k) => k.includes('precache'));
    return !!name && (await (await caches.open(name)).keys()).length >= 15;
}"""


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):8.0f}  ({min(values):.0f}–{max(values):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="A B B A rounds (each: 2 visits per network)")
    args = parser.parse_args()
    engine = scratch_engine("bench_report_page")
    with Session(engine) as session:
        load_demo(session)
        session.commit()
    server, port = start_gunicorn(engine.url.render_as_string(hide_password=False), workers=2)
    photo = camera_photo()
    results: dict[str, list[dict]] = {name: [] for name in NETWORKS}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            base = f"http://127.0.0.1:{port}"
            state = session_cookie(browser, base)
            order = list(NETWORKS)
            for _ in range(args.rounds):
                for name in [*order, *reversed(order)]:  # A B B A
                    results[name].append(one_visit(browser, base, state, NETWORKS[name], photo))
            browser.close()
    finally:
        server.terminate()
        server.wait()
        engine.dispose()
    print(f"/report on a 360 px phone, {len(results['slow 3G'])} visits per network (median, min–max)")
    print(f"  photo from the camera: {len(photo) // 1024} KB, 4000 × 3000 (sent made small)")
    print(f"  {'':34}{'slow 3G':>22}{'unthrottled':>24}")
    for key, label in (
        ("cold_ms", "pin placeable, cold (ms)"),
        ("installed_ms", "pin placeable, installed (ms)"),
        ("ack_ms", "report + photo acknowledged (ms)"),
        ("bytes", "first visit (bytes)"),
        ("sent_bytes", "report + photo sent (bytes)"),
    ):
        row = [spread([r[key] for r in results[name]]) for name in NETWORKS]
        print(f"  {label:34}{row[0]:>22}{row[1]:>24}")
    cold = statistics.median(r["cold_ms"] for r in results["slow 3G"])
    installed = statistics.median(r["installed_ms"] for r in results["slow 3G"])
    first = statistics.median(r["bytes"] for r in results["slow 3G"])
    print(
        f"  targets: cold ≤ 5000 ms {'met' if cold <= 5000 else 'MISSED'}, installed ≤ 1000 ms "
        f"{'met' if installed <= 1000 else 'MISSED'}, "
        f"first visit < 500 KB {'met' if first < 500_000 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
