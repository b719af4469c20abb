"""`make screenshots`: each main page at 1366 px and 360 px, in Chinese and English, from the demo
city in headless Chromium, saved as small PNGs under docs/screenshots (the README shows some).

The demo is loaded into its own database (``<db>_screenshots``) and served by gunicorn as
`gridwatch serve` serves it; the PNGs are reduced to a 128-colour palette to stay small.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

from PIL import Image
from sqlalchemy.orm import Session

from bench.common import scratch_engine, start_gunicorn
from gis.demo import DEMO_PASSWORD, load_demo

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SIZES = {"1366": {"width": 1366, "height": 768}, "360": {"width": 360, "height": 740}}
LOCALES = {"zh": "zh-CN", "en": "en-US"}
# name, who looks at it, the page, what to wait for before the picture
PAGES = [
    ("report", "worker", "/report", "#patrol-bar[data-ready]"),
    ("cases", "supervisor", "/cases", "#cases"),
    ("case", "dispatcher", "CASE", "#case-map[data-grid-drawn]"),
    ("map", "supervisor", "/map", ".folium-map[data-pins-loaded]"),
    ("coverage", "supervisor", "/coverage", ".folium-map[data-grids-loaded]"),
    ("dashboard", "supervisor", "/dashboard", "#dashboard[data-loaded]"),
    ("import", "planner", "/import", "#preview-map[data-existing-loaded]"),
]


def small_png(data: bytes, path: Path) -> int:
    """``data`` as a 128-colour PNG at ``path``; its size in bytes."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="a comma-separated list of page names")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    engine = scratch_engine("screenshots")
    with Session(engine) as session:
        load_demo(session)
        session.commit()
    server, port = start_gunicorn(engine.url.render_as_string(hide_password=False), workers=2)
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only.split(",")) if args.only else None
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for lang, accept in LOCALES.items():
                for size, viewport in SIZES.items():
                    phone = size == "360"
                    for name, user, path, ready in PAGES:
                        if wanted and name not in wanted:
                            continue
                        context = browser.new_context(
                            base_url=f"http://127.0.0.1:{port}",
                            viewport=viewport,
                            locale=accept,
                            is_mobile=phone,
                            has_touch=phone,
                            device_scale_factor=1,
                        )
                        page = context.new_page()
                        page.goto("/login")
                        page.fill("#username", user)
                        page.fill("#password", DEMO_PASSWORD)
                        page.click("button[type=submit]")
                        page.wait_for_load_state("networkidle")
                        if path == "CASE":
                            page.goto("/cases?status=dispatched")
                            path = f"/cases/{page.locator('#cases td.gw-card-id a').first.inner_text()}"
                        started = time.perf_counter()
                        page.goto(path)
                        page.wait_for_selector(ready, state="attached", timeout=30_000)
                        page.wait_for_load_state("networkidle")
                        page.wait_for_timeout(300)  # tiles of the vector layers settle
                        target = OUT / f"{name}-{size}-{lang}.png"
                        bytes_ = small_png(page.screenshot(full_page=False), target)
                        took = time.perf_counter() - started
                        print(f"{target.relative_to(OUT.parent.parent)}  {bytes_ // 1024} KB  ({took:.1f} s)")
                        context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait()
        engine.dispose()


if __name__ == "__main__":
    main()
