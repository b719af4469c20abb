"""Pages over a weak signal: fewer bytes and fewer round trips.

- The front-end libraries (static/vendor, copied from npm by the set-up) are compressed once
  there, gzip and Brotli, and served precompressed by WhiteNoise; pages, JSON, GeoJSON and our
  own scripts and styles are compressed as they are answered (Flask-Compress). Small answers (a
  phone's report acknowledged) are left as they are: compressing them saves nothing a phone
  would notice and costs the server on its busiest path.
- A phone's first visit to /report gets its styles and scripts inside the page: on Slow 3G each
  round trip is 2 s and a browser opens 6 connections at a time, so the dozen files a page needs
  would cost two or three round trips more. Once the service worker has kept those files, the
  page says so in a cookie (``gw_kit``, static/js/app.js) and gets ordinary links, answered from
  the phone (bench/report_page.py measures both).
"""

from __future__ import annotations

import functools
import re

from flask import Flask, g, request, url_for
from flask_compress import Compress
from markupsafe import Markup
from whitenoise import WhiteNoise

from app import ROOT
from app.security import nonce

STATIC = ROOT / "static"
VENDOR = STATIC / "vendor"
VENDOR_MAX_AGE_S = 3600  # not versioned URLs: a library upgrade reaches browsers within the hour
KIT_COOKIE = "gw_kit"  # set by app.js once the service worker keeps the files
COMPRESSED = (
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/geo+json",
    "application/manifest+json",
    "text/csv",
    "text/xml",
    "application/vnd.mapbox-vector-tile",  # a tile of buildings halves (GDAL and browsers inflate it)
)
# a stylesheet's url(images/…) is relative to the stylesheet; inside the page it must be absolute
RELATIVE_URL = re.compile(r"url\((['\"]?)(?!data:|/|https?:)")


def inline_on_first_visit() -> None:
    """Put this page's styles and scripts inside it unless the phone already keeps them."""
    g.inline_assets = not request.cookies.get(KIT_COOKIE)


@functools.cache
def _text(path: str, mtime: float) -> str:
    text = (STATIC / path).read_text(encoding="utf-8")
    if path.endswith(".css"):
        base = url_for("static", filename=path.rsplit("/", 1)[0] + "/") if "/" in path else "/static/"
        text = RELATIVE_URL.sub(lambda m: f"url({m.group(1)}{base}", text)
    return text.replace("</script", "<\\/script").replace("</style", "<\\/style")


def asset(path: str) -> Markup:
    """A stylesheet or script of /static: a link to it, or (a first visit) its text in the page."""
    if g.get("inline_assets"):
        text = _text(path, (STATIC / path).stat().st_mtime)
        if path.endswith(".css"):
            return Markup(f"<style>{text}</style>")
        return Markup(f'<script nonce="{nonce()}">{text}</script>')
    href = url_for("static", filename=path)
    if path.endswith(".css"):
        return Markup(f'<link rel="stylesheet" href="{href}">')
    return Markup(f'<script src="{href}"></script>')


def catalogue_asset(locale: str) -> Markup:
    """The scripts' words: their URL, or (a first visit) the catalogue itself."""
    from app.i18n import catalogue_body

    if g.get("inline_assets"):
        text = catalogue_body(locale).replace("</script", "<\\/script")
        return Markup(f'<script nonce="{nonce()}">{text}</script>')
    return Markup(f'<script src="{url_for("i18n.catalogue_script", locale=locale)}"></script>')


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", list(COMPRESSED))
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 4)
    app.config.setdefault("COMPRESS_LEVEL", 6)
    app.config.setdefault("COMPRESS_MIN_SIZE", 2048)
    Compress(app)
    app.wsgi_app = WhiteNoise(  # type: ignore[method-assign]
        app.wsgi_app, root=str(VENDOR), prefix="static/vendor/", max_age=VENDOR_MAX_AGE_S
    )
    app.jinja_env.globals.update(asset=asset, catalogue_asset=catalogue_asset)
