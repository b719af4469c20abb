"""Query-string arguments that pages and the API read the same way."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, request

from gis.errors import Invalid
from gis.indicators import parse_period
from gis.patrols.coverage import DEFAULT_RADIUS_M, Window


def date_arg(name: str) -> dt.date | None:
    value = request.args.get(name)
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise Invalid(f"{name} must be a date like 2026-11-23") from None


def intake_limits() -> dict:
    """The configured assignment distances, for every way a report comes in (API, Open311)."""
    return {
        "nearest_grid_m": current_app.config["NEAREST_GRID_M"],
        "nearest_building_m": current_app.config["NEAREST_BUILDING_M"],
    }


def datetime_arg(name: str) -> dt.datetime | None:
    """An ISO time (or date, meaning its midnight); without a zone, the configured TIMEZONE's."""
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace(" ", "+") if "T" in value else value)
    except ValueError:
        raise Invalid(f"{name} must be a time like 2026-11-23T08:00+08:00, or a date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))


def coverage_window() -> Window:
    """from/to/radius of a coverage request; by default the last ``hours`` (24) up to now."""
    end = datetime_arg("to") or dt.datetime.now(dt.UTC)
    try:
        radius = float(request.args.get("radius") or DEFAULT_RADIUS_M)
        hours = float(request.args.get("hours") or 24)
    except ValueError:
        raise Invalid("radius and hours must be numbers") from None
    start = datetime_arg("from") or end - dt.timedelta(hours=hours)
    return Window(start, end, radius)


def period_arg():
    """The indicators' period: ``period`` (2026, 2026-Q4, 2026-11, 2026-W47, a day, last30) or
    ``from``/``to`` dates, in the configured TIMEZONE."""
    return parse_period(
        request.args.get("period"),
        current_app.config["TIMEZONE"],
        date_from=date_arg("from"),
        date_to=date_arg("to"),
    )
