"""Query-string arguments that pages and the API read the same way."""
from __future__ import annotations

import datetime as dt

from flask import current_app, request

from gis.errors import Invalid


def date_arg(name: str) -> dt.date | None:
    value = request.args.get(name)
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise Invalid(f"{name} must be a date like 2026-11-23") from None


def intake_limits() -> dict:
    """The configured assignment distances, for every way a report comes in (API, Open311)."""
    return {"nearest_grid_m": current_app.config["NEAREST_GRID_M"],
            "nearest_building_m": current_app.config["NEAREST_BUILDING_M"]}
