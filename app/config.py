"""Configuration from the environment, with defaults that work on a fresh clone."""

from __future__ import annotations

import datetime as dt
import os
import secrets

from gis.embedded_postgres import database_url, replica_url, var_dir


def _secret_key() -> str:
    """SECRET_KEY, or one made once and kept in var/ so sessions survive restarts and workers agree."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = var_dir() / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def cookie_settings(secure: bool) -> dict:
    """Session and remember-me cookies: never readable by scripts, not sent by other sites' forms,
    only over HTTPS when ``secure`` (SECURE_COOKIES=1 behind TLS), remembered at most 14 days."""
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_DURATION": dt.timedelta(days=14),
    }


def from_environment() -> dict:
    return {
        **cookie_settings(os.environ.get("SECURE_COOKIES", "").lower() in ("1", "true", "yes", "on")),
        "SECRET_KEY": _secret_key(),
        "DATABASE_URL": database_url(),
        # a hot standby serving the reads it may (app/database.py's reads()); None: all on the primary
        "DATABASE_REPLICA_URL": replica_url(),
        # commits wait until the standby has applied them: an acknowledged report is on both machines
        "SYNCHRONOUS_STANDBY": os.environ.get("SYNCHRONOUS_STANDBY", "").lower()
        in ("1", "true", "yes", "on"),
        # Basemap: an XYZ tile URL (OSM-style, Tianditu with its key, an intranet server) or empty
        # for "no basemap" (grids and buildings alone; works offline).
        "BASEMAP_URL": os.environ.get("BASEMAP_URL", ""),
        "BASEMAP_ATTRIBUTION": os.environ.get("BASEMAP_ATTRIBUTION", ""),
        # 'gcj02' when the basemap is AMap/Tencent: overlays are shifted to line up with it.
        "BASEMAP_CRS": os.environ.get("BASEMAP_CRS", "wgs84"),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "200")) * 1024 * 1024,
        "NEAREST_GRID_M": float(os.environ.get("NEAREST_GRID_M", "50")),
        "NEAREST_BUILDING_M": float(os.environ.get("NEAREST_BUILDING_M", "20")),
        # "verified on site" needs the verifier this close to the report (a dispatcher may waive it)
        "VERIFY_RADIUS_M": float(os.environ.get("VERIFY_RADIUS_M", "100")),
        "PAGE_SIZE": 50,
        # Local time: every page and export shows it, and dates without a zone are read in it.
        "TIMEZONE": os.environ.get("TIMEZONE", "Asia/Shanghai"),
        # The language when neither the user nor the browser says one: zh_Hans_CN or en.
        "LOCALE": os.environ.get("LOCALE", "zh_Hans_CN"),
        # The server's own duties (app/duties.py), every DUTIES_EVERY_S seconds in each server process
        # (`gridwatch serve` turns them on): overdue cases escalated, inbox digests mailed.
        "RUN_DUTIES": os.environ.get("GRIDWATCH_DUTIES", "") == "1",
        "DUTIES_EVERY_S": float(os.environ.get("DUTIES_EVERY_S", "60")),
        # a dispatched case this many hours past its deadline climbs a level (twice as many: two)
        "ESCALATE_AFTER_HOURS": float(os.environ.get("ESCALATE_AFTER_HOURS", "24")),
        # inbox digests: smtp://[user:password@]host:port (smtps:// for TLS, ?starttls=1); empty: no mail
        "SMTP_URL": os.environ.get("SMTP_URL", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "gridwatch@localhost"),
        # open live maps (/api/v1/live) per server process: each holds a thread; past this a map
        # refreshes itself every minute instead (keep it below `gridwatch serve --threads`)
        "LIVE_STREAMS": int(os.environ.get("LIVE_STREAMS", "56")),
        # the address people reach GridWatch at, for the links in mails
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000"),
    }
