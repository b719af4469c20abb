"""The installable phone app: its manifest, its service worker and the session the offline queue
asks for before it sends.

The service worker (static/js/sw.js, Workbox from npm) is served from the site's root so it
controls every page; the list of files it keeps (``PRECACHE``) goes in with a revision per file,
the hash of its content, so a new release replaces exactly what changed.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from app import ROOT
from app.auth import public
from app.i18n import HTML_LANG, request_locale
from app.openapi import Reply, operation
from gis import i18n
from gis.i18n import LOCALES, _

bp = Blueprint("offline", __name__)
STATIC = ROOT / "static"
# What a grid worker's phone keeps, so /report, /my and the case pages open without a network.
PRECACHE = (
    "vendor/bootstrap/css/bootstrap.min.css",
    "vendor/bootstrap/js/bootstrap.bundle.min.js",
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet/images/marker-icon.png",
    "vendor/leaflet/images/marker-icon-2x.png",
    "vendor/leaflet/images/marker-shadow.png",
    "vendor/leaflet/images/layers.png",
    "vendor/idb/idb.umd.js",
    "css/gridwatch.css",
    "js/i18n.js",
    "js/outbox.js",
    "js/gridmap.js",
    "js/phone.js",
    "js/report.js",
    "js/visit.js",
    "js/patrol.js",
    "js/case.js",
    "js/app.js",
    "icons/icon-192.png",
    "icons/icon-512.png",
)


def _revision(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@functools.cache
def precache_manifest() -> tuple[dict, ...]:
    """Each kept file with the hash of its content (computed once per process)."""
    entries = [{"url": f"/static/{name}", "revision": _revision(STATIC / name)} for name in PRECACHE]
    for locale in LOCALES:  # the scripts' words, in both languages
        mo = i18n.TRANSLATIONS / locale / "LC_MESSAGES" / "js.mo"
        entries.append({"url": f"/i18n/{locale}.js", "revision": _revision(mo) if mo.exists() else "en"})
    return tuple(entries)


@bp.get("/sw.js")
@public
def service_worker():
    """The service worker, from the root so its scope is the whole site; never cached itself
    (the browser checks it on every visit and finds a new release at once)."""
    manifest = json.dumps(precache_manifest())
    body = f"self.GW_PRECACHE = {manifest};\n" + (STATIC / "js" / "sw.js").read_text(encoding="utf-8")
    return Response(body, mimetype="text/javascript", headers={"Cache-Control": "no-cache"})


@bp.get("/manifest.webmanifest")
@public
def manifest():
    """What the phone shows when the app is installed: the name in the reader's language, the
    report page as its start, standalone."""
    body = {
        "name": str(_("GridWatch grid management")),
        "short_name": str(_("GridWatch")),
        "lang": HTML_LANG[request_locale()],
        "start_url": url_for("pages.report"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#212529",
        "icons": [
            {
                "src": url_for("static", filename=f"icons/icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
            }
            for size in (192, 512)
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


@bp.get("/api/v1/session")
@operation(
    "Who is logged in here and a fresh CSRF token: the phone's queue asks before it sends",
    responses={200: Reply({"type": "object"})},
    tags=("meta",),
)
def session():
    return jsonify({"user": current_user.id, "csrf_token": generate_csrf()})


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["verify_radius_m"] = lambda: current_app.config["VERIFY_RADIUS_M"]
