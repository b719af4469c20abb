"""Query-string arguments that pages and the API read the same way."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, request
from sqlalchemy import select

from app import IdConverter
from app.database import db
from gis.assignment import check_point
from gis.cases.lifecycle import Proof
from gis.errors import Invalid
from gis.i18n import _
from gis.indicators import parse_period
from gis.models import Department, User
from gis.patrols.coverage import DEFAULT_RADIUS_M, Window

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # no date or time before this is believed
LATEST = dt.datetime(2101, 1, 1, tzinfo=dt.UTC)


def today() -> dt.date:
    """Today where the grids are (the configured TIMEZONE): a visit's day, the diary's months."""
    return dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def date_arg(name: str) -> dt.date | None:
    """A date of the query string, between 2000 and 2100."""
    value = request.args.get(name)
    try:
        day = dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise Invalid(
            _("%(name)s must be a date like 2026-11-23", name=name), fields={name: _("is not a date")}
        ) from None
    if day is not None and not EARLIEST.date() <= day < LATEST.date():
        raise Invalid(
            _("%(name)s must lie between 2000 and 2100", name=name),
            fields={name: _("must lie between 2000 and 2100")},
        )
    return day


def intake_limits() -> dict:
    """The configured assignment distances, for every way a report comes in (API, Open311)."""
    return {
        "nearest_grid_m": current_app.config["NEAREST_GRID_M"],
        "nearest_building_m": current_app.config["NEAREST_BUILDING_M"],
    }


def parse_time(value: str | None, name: str) -> dt.datetime | None:
    """An ISO time (or date, meaning its midnight) between 2000 and 2100; without a zone, the
    configured TIMEZONE's."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace(" ", "+") if "T" in value else value)
    except ValueError:
        raise Invalid(
            _("%(name)s must be a time like 2026-11-23T08:00+08:00, or a date", name=name),
            fields={name: _("is not a time")},
        ) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
    if not EARLIEST <= parsed < LATEST:
        raise Invalid(
            _("%(name)s must lie between 2000 and 2100", name=name),
            fields={name: _("must lie between 2000 and 2100")},
        )
    return parsed


def coverage_window(query) -> Window:
    """from/to/radius of a coverage request (a ``WindowQuery``); by default the last ``hours`` (24)
    up to now."""
    end = parse_time(query.end, "to") or dt.datetime.now(dt.UTC)
    start = parse_time(query.start, "from") or end - dt.timedelta(hours=query.hours or 24)
    return Window(start, end, query.radius or DEFAULT_RADIUS_M)


def period_arg():
    """The indicators' period: ``period`` (2026, 2026-Q4, 2026-11, 2026-W47, a day, last30) or
    ``from``/``to`` dates, in the configured TIMEZONE."""
    return parse_period(
        request.args.get("period"),
        current_app.config["TIMEZONE"],
        date_from=date_arg("from"),
        date_to=date_arg("to"),
    )


def refuse_what_is_not_text() -> None:
    """Before every request: a path or query string holding NUL (``%00``) is refused, since no
    code, name or date has one and PostgreSQL could not even compare it."""
    if "\x00" in request.path or any("\x00" in v for v in request.args.values()):
        raise Invalid(_("the address holds a NUL character"), fields={"query": _("holds a NUL character")})


def proof_from_request(lon, lat) -> Proof:
    """What a step brings from the field: the request's photos (multipart ``photos``) and the
    position it was taken at (``lon`` and ``lat``, both or neither)."""
    if (lon is None) != (lat is None):
        missing = "lon" if lon is None else "lat"
        raise Invalid(_("send lon and lat together"), fields={missing: _("is required")})
    photos = (
        [] if request.is_json else [f.read() for f in request.files.getlist("photos") if f and f.filename]
    )
    return Proof(photos=photos, position=check_point(lon, lat) if lon is not None else None)


def _row_id(model, name_column, value, field: str, refusal, field_refusal) -> int | None:
    """A row given by its id or by its name (a department's code, a person's user name); else
    ``refusal(the value)``, and ``field_refusal`` for its field."""
    if value in (None, ""):
        return None
    session = db()
    if str(value).isdigit() and int(value) <= IdConverter.MAX and session.get(model, int(value)):
        return int(value)
    found = session.scalar(select(model.id).where(name_column == str(value)))
    if found is None:
        raise Invalid(refusal(repr(value)), fields={field: field_refusal})
    return found


def department_id(value) -> int | None:
    """A department given by id or by code."""
    return _row_id(
        Department,
        Department.code,
        value,
        "department",
        lambda v: _("no department %(value)s", value=v),
        _("no such department"),
    )


def user_id(value) -> int | None:
    """A person given by id or by user name."""
    return _row_id(
        User,
        User.username,
        value,
        "assignee",
        lambda v: _("no person %(value)s", value=v),
        _("no such person"),
    )
