"""Response headers every page gets: no framing, no MIME sniffing, no referrer leaving the site,
and a Content-Security-Policy — scripts only from /static or inline with this response's nonce
(our templates and folium's map script carry it), styles from /static or inline (Leaflet and
folium position with style attributes), images from /static, data: URLs and the basemap's host."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, current_app, g

SCRIPT_TAG = re.compile(r"<script(?![^>]*\bnonce=)")


def nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def with_nonce(html: str) -> str:
    """Every ``<script`` in ``html`` (folium's rendered parts) with this response's nonce."""
    return SCRIPT_TAG.sub(f'<script nonce="{nonce()}"', html)


def _policy() -> str:
    basemap = urlsplit(current_app.config.get("BASEMAP_URL") or "")
    tiles = f" {basemap.scheme}://{basemap.netloc}" if basemap.scheme and basemap.netloc else ""
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce()}'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob:{tiles}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _headers(response):
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", _policy())
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = nonce
    app.after_request(_headers)
