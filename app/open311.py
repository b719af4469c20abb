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

from app import IdConverter
from app.auth import public
from app.database import db
from app.openapi import Reply, operation
from app.params import EARLIEST, LATEST, intake_limits
from app.schemas import (
    XML,
    Open311Definition,
    Open311Error,
    Open311KeyQuery,
    Open311Post,
    Open311Posted,
    Open311Query,
    Open311Request,
    Open311Service,
)
from gis import accounts
from gis.accounts import Viewer
from gis.cases.intake import submit_report
from gis.cases.policy import NOTHING, public_cases, visible_to
from gis.errors import DomainError, Forbidden, Invalid, NotFound
from gis.i18n import _
from gis.limits import TEXT_LIMITS, clean_text
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
        raise NotFound(_("format %(fmt)s: use .json or .xml", fmt=repr(fmt)))
    return jsonify(items), status


def _service(c: Category, groups: dict) -> dict:
    return {
        "service_code": c.code,
        "service_name": f"{c.name} {c.name_en}",
        "description": f"{groups[c.parent_code].name_en}: {c.name_en}"
        + (
            str(_(" (handled within %(hours)s h)", hours=format(c.time_limit_hours, "g")))
            if c.time_limit_hours
            else ""
        ),
        "metadata": False,
        "type": "realtime",
        "keywords": c.kind,
        "group": groups[c.parent_code].name_en,
    }


def _answers(model, description: str) -> dict:
    """An Open311 answer in JSON and XML, and its errors (as GeoReport v2 writes them)."""
    return {
        200: Reply(model, description=description, alternatives=(XML,)),
        "default": Reply(list[Open311Error], description="refused", alternatives=(XML,)),
    }


@bp.get("/services.<fmt>")
@public
@operation(
    "Open311: the categories as services",
    responses=_answers(list[Open311Service], "the services"),
    tags=("open311",),
    public=True,
)
def services(fmt):
    categories = db().scalars(select(Category).order_by(Category.sort)).all()
    groups = {c.code: c for c in categories if c.parent_code is None}
    items = [_service(c, groups) for c in categories if c.parent_code]
    return _respond(items, "services", "service", fmt)


@bp.get("/services/<code>.<fmt>")
@public
@operation(
    "Open311: one service's definition",
    responses=_answers(Open311Definition, "its definition"),
    tags=("open311",),
    public=True,
)
def service_definition(code, fmt):
    category = db().get(Category, code)
    if category is None or category.parent_code is None:
        raise NotFound(_("no service %(code)s", code=code))
    if fmt == "xml":
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><service_definition><service_code>{code}'
            "</service_code><attributes/></service_definition>"
        )
        return Response(body, mimetype="text/xml")
    if fmt != "json":
        raise NotFound(_("format %(fmt)s: use .json or .xml", fmt=repr(fmt)))
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
        raise Forbidden(_("this api_key is not valid"))
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


def _date_arg(value: str | None, name: str):
    """An Open311 date-time (ISO 8601; UTC when it names no zone), between 2000 and 2100."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            _("%(name)s must be an ISO 8601 date-time, e.g. 2026-11-23T08:00:00+08:00", name=name)
        ) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if not EARLIEST <= parsed < LATEST:
        raise Invalid(_("%(name)s must lie between 2000 and 2100", name=name))
    return parsed


@bp.get("/requests.<fmt>")
@public
@operation(
    "Open311: requests (public cases, masked; with api_key, its user's whole)",
    query=Open311Query,
    responses=_answers(list[Open311Request], "the requests, newest first"),
    tags=("open311",),
    public=True,
)
def list_requests(fmt, query: Open311Query):
    select_reports = _query_reports(_key_viewer())
    if query.service_request_id:
        ids = [int(i) for i in query.service_request_id.split(",")]
        select_reports = select_reports.where(Report.id.in_([i for i in ids if i <= IdConverter.MAX]))
    else:
        start, end = _date_arg(query.start_date, "start_date"), _date_arg(query.end_date, "end_date")
        if start is None and end is None:
            start = utcnow() - dt.timedelta(days=90)  # the spec's default window
        if start:
            select_reports = select_reports.where(Report.created_at >= start)
        if end:
            select_reports = select_reports.where(Report.created_at <= end)
        if query.service_code:
            select_reports = select_reports.where(Report.category_code.in_(query.service_code.split(",")))
        if query.status == "open":
            select_reports = select_reports.where(Report.status.not_in(ENDED_STATUSES))
        elif query.status == "closed":
            select_reports = select_reports.where(Report.status.in_(ENDED_STATUSES))
    page, size = query.page, min(query.page_size, MAX_REQUESTS)
    rows = (
        db()
        .execute(
            select_reports.order_by(Report.created_at.desc(), Report.id.desc())
            .limit(size)
            .offset((page - 1) * size)
        )
        .unique()
        .all()
    )
    return _respond([request_json(*row) for row in rows], "service_requests", "request", fmt)


@bp.get("/requests/<id:report_id>.<fmt>")
@public
@operation(
    "Open311: one request",
    query=Open311KeyQuery,
    responses=_answers(list[Open311Request], "the request"),
    tags=("open311",),
    public=True,
)
def get_request(report_id, fmt, query: Open311KeyQuery):
    row = db().execute(_query_reports(_key_viewer()).where(Report.id == report_id)).unique().first()
    if row is None:
        raise NotFound(_("no service request %(report_id)s", report_id=report_id))
    return _respond([request_json(*row)], "service_requests", "request", fmt)


@bp.post("/requests.<fmt>")
@public
@operation(
    "Open311: post a request (api_key needed, in the query string or the form)",
    form=Open311Post,
    responses=_answers(list[Open311Posted], "the new request's id and token"),
    tags=("open311",),
    public=True,
)
def create_request(fmt, body: Open311Post):
    user = _key_viewer()
    if user is None:
        raise Forbidden(_("a valid api_key is required to post a service request"))
    if not body.service_code:
        raise DomainError(_("service_code is required"))
    if body.lat is None or body.long is None:
        raise DomainError(_("this jurisdiction needs lat and long (address-only requests are not geocoded)"))
    contact = " ".join(v for v in (body.first_name, body.last_name, body.email, body.phone) if v) or None
    contact = clean_text(contact[: TEXT_LIMITS["contact"]] if contact else None, "contact")
    category = db().get(Category, body.service_code)
    if category is None or category.parent_code is None:
        raise NotFound(_("no service %(service_code)s", service_code=body.service_code))
    token = uuid.uuid4()  # the client's handle on its request (tokens/<token>.json)
    report_id = submit_report(
        db(),
        lon=body.long,
        lat=body.lat,
        category=body.service_code,
        description=body.description or "",
        channel="public",
        reporter_id=user.id,
        address=body.address_string,
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
@operation(
    "Open311: the request a token stands for",
    responses=_answers(list[Open311Posted], "the request's id"),
    tags=("open311",),
    public=True,
)
def token_lookup(token, fmt):
    try:
        key = uuid.UUID(token)
    except ValueError:
        raise NotFound(_("no request for token %(token)s", token=token)) from None
    report_id = db().scalar(select(Report.id).where(Report.client_id == key))
    if report_id is None:
        raise NotFound(_("no request for token %(token)s", token=token))
    return _respond(
        [{"service_request_id": str(report_id), "token": token}], "service_requests", "request", fmt
    )
