"""Open311 GeoReport v2 at /open311/v2/: categories are services, our states open/closed.

JSON and XML (the spec requires XML). Reading is public, as in the spec, for the cases of
``public`` categories, masked (the access policy's ``public_cases``); with ``api_key`` (a GridWatch
API token, in the query string or the form) the cases its user may open come whole. POST needs
``api_key``. Errors are ``[{"code": ..., "description": ...}]`` (XML for ``.xml``: app/errors.py).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, jsonify, request
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app.auth import public
from app.database import db
from app.params import intake_limits
from gis import accounts
from gis.accounts import Viewer
from gis.cases.intake import submit_report
from gis.cases.policy import NOTHING, public_cases, visible_to
from gis.errors import DomainError, Forbidden, Invalid, NotFound
from gis.models import ENDED_STATUSES, Category, Report, utcnow
from gis.privacy import MASK_TEXT

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
MAX_REQUESTS = 1000


# What XML 1.0 cannot hold (control characters, lone surrogates, U+FFFE/U+FFFF): one in a
# description would make the whole feed ill-formed, so it is dropped from the text.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_document(root: str, item: str, items: list[dict]) -> bytes:
    top = ET.Element(root)
    for entry in items:
        node = ET.SubElement(top, item)
        for key, value in entry.items():
            text = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
            ET.SubElement(node, key).text = NOT_XML.sub("", text)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")


def _respond(items: list[dict], root: str, item: str, fmt: str, status: int = 200):
    if fmt == "xml":
        return Response(xml_document(root, item, items), status=status, mimetype="text/xml")
    if fmt != "json":
        raise NotFound(f"format {fmt!r}: use .json or .xml")
    return jsonify(items), status


def _service(c: Category, groups: dict) -> dict:
    return {
        "service_code": c.code,
        "service_name": f"{c.name} {c.name_en}",
        "description": f"{groups[c.parent_code].name_en}: {c.name_en}"
        + (f" (handled within {c.time_limit_hours:g} h)" if c.time_limit_hours else ""),
        "metadata": False,
        "type": "realtime",
        "keywords": c.kind,
        "group": groups[c.parent_code].name_en,
    }


@bp.get("/services.<fmt>")
@public
def services(fmt):
    categories = db().scalars(select(Category).order_by(Category.sort)).all()
    groups = {c.code: c for c in categories if c.parent_code is None}
    items = [_service(c, groups) for c in categories if c.parent_code]
    return _respond(items, "services", "service", fmt)


@bp.get("/services/<code>.<fmt>")
@public
def service_definition(code, fmt):
    category = db().get(Category, code)
    if category is None or category.parent_code is None:
        raise NotFound(f"no service {code}")
    if fmt == "xml":
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><service_definition><service_code>{code}'
            "</service_code><attributes/></service_definition>"
        )
        return Response(body, mimetype="text/xml")
    if fmt != "json":
        raise NotFound(f"format {fmt!r}: use .json or .xml")
    return jsonify({"service_code": code, "attributes": []})


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def request_json(r: Report, full: bool, masked_description: str | None) -> dict:
    """A request as Open311 shows it. ``full`` (the key's user may open the case, e.g. they posted
    it): everything; otherwise a public case as anyone may see it — masked text, no address,
    contact or notes."""
    point = to_shape(r.geom)
    last_note = next((e.note for e in reversed(r.events) if e.note), None) if full else None
    ended = r.status in ENDED_STATUSES
    return {
        "service_request_id": str(r.id),
        "status": "closed" if ended else "open",
        "status_notes": (last_note if ended else r.status) if full else (None if ended else r.status),
        "service_name": f"{r.category.name} {r.category.name_en}",
        "service_code": r.category_code,
        "description": (r.description if full else masked_description) or None,
        "agency_responsible": r.department.name if r.department else None,
        "service_notice": None,
        "requested_datetime": _iso(r.created_at),
        "updated_datetime": _iso(r.updated_at),
        "expected_datetime": _iso(r.deadline_at),
        "address": r.address if full else None,
        "address_id": None,
        "zipcode": None,
        "lat": round(point.y, 7),
        "long": round(point.x, 7),
        "media_url": None,
    }


def _key_viewer() -> Viewer | None:
    """The user of ``api_key`` (query string, as GeoReport v2 puts it, or form body), if any; a
    key that is given but unknown is refused."""
    key = request.args.get("api_key") or request.form.get("api_key")
    if not key:
        return None
    viewer = accounts.token_viewer(db(), key)
    if viewer is None:
        raise Forbidden("this api_key is not valid")
    return viewer


def _query_reports(viewer: Viewer | None):
    """Requests this reader may see: public cases for anyone, whole for the cases the key's
    user may open; with the two columns ``request_json`` needs."""
    full = visible_to(viewer) if viewer else NOTHING
    shown = full | public_cases()
    return (
        select(Report, full.flag("full"), getattr(func, MASK_TEXT)(Report.description))
        .where(shown.clause())
        .options(joinedload(Report.category), joinedload(Report.department), selectinload(Report.events))
    )


def _date_arg(name):
    value = request.args.get(name)
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{name} must be an ISO 8601 date-time, e.g. 2026-11-23T08:00:00+08:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@bp.get("/requests.<fmt>")
@public
def list_requests(fmt):
    query = _query_reports(_key_viewer())
    ids = request.args.get("service_request_id")
    if ids:
        try:
            query = query.where(Report.id.in_([int(i) for i in ids.split(",")]))
        except ValueError:
            raise Invalid("service_request_id must be numbers separated by commas") from None
    else:
        start, end = _date_arg("start_date"), _date_arg("end_date")
        if start is None and end is None:
            start = utcnow() - dt.timedelta(days=90)  # the spec's default window
        if start:
            query = query.where(Report.created_at >= start)
        if end:
            query = query.where(Report.created_at <= end)
        if request.args.get("service_code"):
            query = query.where(Report.category_code.in_(request.args["service_code"].split(",")))
        status = request.args.get("status")
        if status == "open":
            query = query.where(Report.status.not_in(ENDED_STATUSES))
        elif status == "closed":
            query = query.where(Report.status.in_(ENDED_STATUSES))
        elif status:
            raise Invalid("status must be open or closed")
    page = max(request.args.get("page", 1, type=int), 1)
    size = min(max(request.args.get("page_size", MAX_REQUESTS, type=int), 1), MAX_REQUESTS)
    rows = (
        db()
        .execute(
            query.order_by(Report.created_at.desc(), Report.id.desc()).limit(size).offset((page - 1) * size)
        )
        .unique()
        .all()
    )
    return _respond([request_json(*row) for row in rows], "service_requests", "request", fmt)


@bp.get("/requests/<int:report_id>.<fmt>")
@public
def get_request(report_id, fmt):
    row = db().execute(_query_reports(_key_viewer()).where(Report.id == report_id)).unique().first()
    if row is None:
        raise NotFound(f"no service request {report_id}")
    return _respond([request_json(*row)], "service_requests", "request", fmt)


@bp.post("/requests.<fmt>")
@public
def create_request(fmt):
    form = request.form
    user = _key_viewer()
    if user is None:
        raise Forbidden("a valid api_key is required to post a service request")
    if not form.get("service_code"):
        raise DomainError("service_code is required")
    if not (form.get("lat") and form.get("long")):
        raise DomainError("this jurisdiction needs lat and long (address-only requests are not geocoded)")
    contact = (
        " ".join(
            v
            for v in (form.get("first_name"), form.get("last_name"), form.get("email"), form.get("phone"))
            if v
        )
        or None
    )
    category = db().get(Category, form["service_code"])
    if category is None or category.parent_code is None:
        raise NotFound(f"no service {form['service_code']}")
    token = uuid.uuid4()  # the client's handle on its request (tokens/<token>.json)
    report_id = submit_report(
        db(),
        lon=form.get("long"),
        lat=form.get("lat"),
        category=form["service_code"],
        description=form.get("description", ""),
        channel="public",
        reporter_id=user.id,
        address=form.get("address_string"),
        contact=contact,
        client_id=token,
        **intake_limits(),
    ).report_id
    return _respond(
        [
            {
                "service_request_id": str(report_id),
                "token": str(token),
                "service_notice": None,
                "account_id": None,
            }
        ],
        "service_requests",
        "request",
        fmt,
    )


@bp.get("/tokens/<token>.<fmt>")
@public
def token_lookup(token, fmt):
    try:
        key = uuid.UUID(token)
    except ValueError:
        raise NotFound(f"no request for token {token}") from None
    report_id = db().scalar(select(Report.id).where(Report.client_id == key))
    if report_id is None:
        raise NotFound(f"no request for token {token}")
    return _respond(
        [{"service_request_id": str(report_id), "token": token}], "service_requests", "request", fmt
    )
