"""The API's shapes: a report as JSON (one shape, used by pages' scripts too), and the pydantic
models of what each operation takes and gives (validated and documented by app/openapi.py)."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Annotated, Any, Literal

from flask import url_for
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.orm import Session

from app.openapi import Reply
from gis.assignment import hierarchy
from gis.cases.lifecycle import available_actions, traffic_light_for
from gis.cases.sql import REPORT_SQL
from gis.i18n import _
from gis.limits import NOT_TEXT, TEXT_LIMITS
from gis.models import CHANNELS, REPORT_STATUSES, Report


def iso(value):
    return value.isoformat() if value else None


def area_chain(session: Session, grid_id: int | None) -> dict:
    if grid_id is None:
        return {"grid": None, "community": None, "street": None, "district": None}
    chain = hierarchy(session, grid_id)
    return {level: chain.get(level) for level in ("grid", "community", "street", "district")}


def report_json(session: Session, report_id: int, user=None, detail=None) -> dict:
    """The API's shape of a report the caller may read (intake's own, or one ``load_visible``
    gave): the JSON PostgreSQL makes (``REPORT_SQL``; intake reads it in its own statement and
    hands it in as ``detail``), with the traffic light now, the photos' URLs and, with ``user``
    (a Viewer), the actions they may take now."""
    row = detail or session.execute(REPORT_SQL, {"id": report_id}).one()
    out = row.report
    out["traffic_light"] = traffic_light_for(out["status"], row.dispatched_at, row.deadline_at)
    out["photos"] = [url_for("api.photo", photo_id=p) for p in row.photo_ids]
    if user is not None:
        out["actions"] = [
            a.name for a in available_actions(session, user, session.get_one(Report, report_id))
        ]
    return out


def event_json(event) -> dict:
    return {
        "id": event.id,
        "action": event.action,
        "from": event.from_status,
        "to": event.to_status,
        "at": iso(event.at),
        "note": event.note,
        "data": event.data,
        "actor": event.actor.display_name if event.actor else None,
        "photos": [url_for("api.photo", photo_id=p.id) for p in event.photos],
    }


# -- what the API takes and gives, as pydantic models (app/openapi.py) -----------------------------
def _not_a_bool(value):
    """JSON's true is not the number 1 here, and NaN or infinity is no number either."""
    if isinstance(value, bool):
        raise ValueError(_("must be a number, not true or false"))
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value  # pydantic says it is not a number
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(_("must be a finite number, not NaN or infinity"))
    return value


def _text_value(value):
    if isinstance(value, str) and NOT_TEXT.search(value):
        raise ValueError(_("holds characters that are not text (NUL or a broken character)"))
    return value


Number = Annotated[float, BeforeValidator(_not_a_bool), Field(allow_inf_nan=False)]
# Positions: their range is documented here and checked by the domain (gis.assignment.check_point),
# whose refusal says what went wrong (swapped? no GPS fix?).
Longitude = Annotated[
    float,
    BeforeValidator(_not_a_bool),
    Field(allow_inf_nan=False, json_schema_extra={"minimum": -180, "maximum": 180}),
]
Latitude = Annotated[
    float,
    BeforeValidator(_not_a_bool),
    Field(allow_inf_nan=False, json_schema_extra={"minimum": -90, "maximum": 90}),
]
Count = Annotated[int, BeforeValidator(_not_a_bool), Field(ge=0, le=2**31 - 1)]
Page = Annotated[int, BeforeValidator(_not_a_bool), Field(ge=1, le=100_000)]
Day = Annotated[dt.date, Field(ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31))]
Code = Annotated[str, Field(pattern=r"^[0-9]{6,15}$")]


def positive(most: float):
    """A finite number above 0 and at most ``most``."""
    return Annotated[float, BeforeValidator(_not_a_bool), Field(gt=0, le=most, allow_inf_nan=False)]


def text(field_name: str, **extra):
    """A text field of ``gis.limits.TEXT_LIMITS[field_name]`` characters at most."""
    return Annotated[str, BeforeValidator(_text_value), Field(max_length=TEXT_LIMITS[field_name], **extra)]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Error(BaseModel):
    """Every refusal: what is wrong, in words, and per field where a field is wrong."""

    model_config = ConfigDict(extra="allow")
    error: str
    status: int
    fields: dict[str, str] | None = None


REFUSED = Reply(Error, description="refused: the error says why (and per field what is wrong)")


class ReportIn(Model):
    lon: Longitude
    lat: Latitude
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    category: Annotated[str, Field(pattern=r"^[0-9]{1,8}$", description="a sub-category's code, e.g. 0101")]
    description: text("description") = ""  # type: ignore[valid-type]
    address: text("address") | None = None  # type: ignore[valid-type]
    channel: Literal[CHANNELS] = "app"  # type: ignore[valid-type]
    client_id: uuid.UUID | None = None


class Named(BaseModel):
    id: int
    code: str
    name: str


class ReportOut(BaseModel):
    """A report as the API shows it (``REPORT_SQL``)."""

    model_config = ConfigDict(extra="allow")
    id: int
    client_id: uuid.UUID | None
    status: Literal[REPORT_STATUSES]  # type: ignore[valid-type]
    category: dict[str, str]
    description: str
    address: str | None
    channel: str
    lon: float
    lat: float
    original: dict[str, Any]
    assignment: Literal["inside", "nearest", "unassigned"]
    assignment_distance_m: float | None
    grid: Named | None
    community: Named | None
    street: Named | None
    district: Named | None
    building: dict[str, Any] | None
    response_level: str
    department: Named | None
    assignee: dict[str, Any] | None  # the department's member handling it
    verifier: dict[str, Any] | None  # the grid worker asked to verify it
    resolved_locally: bool
    rework_count: int
    confirmations: int
    deadline_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    version: int
    traffic_light: Literal["green", "yellow", "red"] | None
    photos: list[str]
    actions: list[str] | None = None
    events: list[dict[str, Any]] | None = None


class ActionIn(Model):
    action: Annotated[str, Field(min_length=1, max_length=20)]
    version: Annotated[int, BeforeValidator(_not_a_bool), Field(ge=1, le=2**31 - 1)]
    note: text("note") | None = None  # type: ignore[valid-type]
    department: Annotated[str, Field(max_length=20)] | Count | None = None
    assignee: Annotated[str, Field(max_length=80)] | Count | None = None  # assign: a user's id or name
    hours: positive(24 * 366) | None = None  # type: ignore[valid-type]
    # where the person stands (verify: within VERIFY_RADIUS_M of the report), WGS 84
    lon: Longitude | None = None
    lat: Latitude | None = None
    client_id: uuid.UUID | None = None  # the phone's id for this step: a retry is not a second step


class BulkItem(Model):
    id: Count
    version: Annotated[int, BeforeValidator(_not_a_bool), Field(ge=1, le=2**31 - 1)]


class BulkIn(Model):
    """One step for many cases, each with the version its person saw."""

    action: Annotated[str, Field(min_length=1, max_length=20)]
    items: Annotated[list[BulkItem], Field(min_length=1, max_length=200)]
    note: text("note") | None = None  # type: ignore[valid-type]
    department: Annotated[str, Field(max_length=20)] | Count | None = None
    assignee: Annotated[str, Field(max_length=80)] | Count | None = None


class BulkOutcome(BaseModel):
    id: int
    outcome: Literal["done", "changed", "not_allowed", "not_found", "refused"]
    message: str | None
    version: int | None


class BulkOut(BaseModel):
    results: list[BulkOutcome]
    done: int


class InboxCase(BaseModel):
    id: int
    status: str
    category: str
    grid: str | None
    description: str
    deadline_at: dt.datetime | None
    updated_at: dt.datetime
    traffic_light: Literal["green", "yellow", "red"] | None
    url: str


class InboxSectionOut(BaseModel):
    key: str
    title: str
    total: int
    new: int
    cases: list[InboxCase]
    all: str  # the whole section in /cases


class InboxOut(BaseModel):
    sections: list[InboxSectionOut]
    new: int  # changed since the person last looked (the nav's badge)
    seen_at: dt.datetime | None


class TemplateIn(Model):
    text: text("note")  # type: ignore[valid-type]


class TemplateOut(BaseModel):
    id: int
    text: str
    department: str | None  # None: everyone's


class PointQuery(Model):
    lon: Longitude
    lat: Latitude
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"


class Located(BaseModel):
    model_config = ConfigDict(extra="allow")
    lon: float
    lat: float
    assignment: str
    distance_m: float | None


class Position(BaseModel):
    lon: float
    lat: float


class NearbyQuery(PointQuery):
    category: Annotated[str, Field(pattern=r"^[0-9]{2,6}$", description="the new report's category")]


class NearbyCase(BaseModel):
    id: int
    version: int
    status: str
    status_name: str
    category: str
    category_name: str
    created_at: dt.datetime
    distance_m: float
    confirmations: int
    thumbnail: str | None
    url: str


class NearbyOut(BaseModel):
    radius_m: float
    days: int
    reports: list[NearbyCase]


class PhotoQuery(Model):
    size: Literal["full", "thumb"] = "full"


BBOX = r"^\s*-?[0-9.eE+-]+\s*,\s*-?[0-9.eE+-]+\s*,\s*-?[0-9.eE+-]+\s*,\s*-?[0-9.eE+-]+\s*$"
Bbox = Annotated[str, Field(pattern=BBOX, description="minlon,minlat,maxlon,maxlat", max_length=200)]
Zoom = Annotated[float, BeforeValidator(_not_a_bool), Field(ge=0, le=24, allow_inf_nan=False)]


class LayerQuery(Model):
    bbox: Bbox
    zoom: Zoom = 14
    auto: Literal["0", "1"] | None = None
    download: Literal["0", "1"] | None = None


class ReportsLayerQuery(Model):
    bbox: Bbox
    status: Literal[("open", "", *REPORT_STATUSES)] | None = None  # type: ignore[valid-type]
    category: Annotated[str, Field(pattern=r"^[0-9]{0,8}$")] | None = None
    channel: Literal[("", *CHANNELS)] | None = None  # type: ignore[valid-type]
    area: Annotated[str, Field(pattern=r"^[0-9]{0,15}$")] | None = None
    date_from: Day | None = Field(None, alias="from")
    date_to: Day | None = Field(None, alias="to")
    zoom: Zoom | None = None


FEATURE_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {"type": {"const": "FeatureCollection"}, "features": {"type": "array"}},
}
GEOJSON = "application/geo+json"
GEO = Reply(FEATURE_COLLECTION, GEOJSON, "GeoJSON FeatureCollection")


class GridSummary(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    name: str
    workers: str | None
    buildings: int
    households: int
    open: int
    overdue: int
    last_patrol: str | None
    weekly: list[int]


class WindowQuery(Model):
    """A coverage window: ``from``/``to`` (ISO times; dates are midnights), or the last ``hours``."""

    start: Annotated[str, Field(max_length=40)] | None = Field(None, alias="from")
    end: Annotated[str, Field(max_length=40)] | None = Field(None, alias="to")
    hours: positive(744) | None = None  # type: ignore[valid-type]
    radius: positive(500) | None = None  # type: ignore[valid-type]
    bbox: Bbox | None = None
    zoom: Zoom | None = None


class PatrolIn(Model):
    name: text("name") | None = None  # type: ignore[valid-type]


class Ping(Model):
    lon: Number
    lat: Number
    time: Annotated[str, Field(max_length=40)] | Number
    accuracy: positive(1e6) | None = None  # type: ignore[valid-type]


class PingsIn(Model):
    points: Annotated[list[Ping], Field(min_length=1, max_length=2000)]


class Track(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    name: str | None
    source: str
    has_time: bool
    started_at: str | None
    ended_at: str | None


class PingsOut(BaseModel):
    track: int
    accepted: int
    dropped: dict[str, Any]
    new_segment: bool


class GpxForm(Model):
    name: text("name") | None = None  # type: ignore[valid-type]
    user: Annotated[str, Field(max_length=80)] | None = None
    max_accuracy: positive(10_000) | None = None  # type: ignore[valid-type]
    max_speed: positive(1_000) | None = None  # type: ignore[valid-type]
    gap_minutes: positive(24 * 60) | None = None  # type: ignore[valid-type]


class Coverage(BaseModel):
    model_config = ConfigDict(extra="allow")
    grids_total: int
    grids_visited: int
    grids: list[dict[str, Any]]


class StatsQuery(Model):
    level: Literal["district", "street", "community", "grid", "department", "worker"] = "grid"
    period: Annotated[str, Field(max_length=20)] | None = None
    date_from: Day | None = Field(None, alias="from")
    date_to: Day | None = Field(None, alias="to")
    within: Annotated[str, Field(pattern=r"^[0-9]{0,15}$")] | None = None
    trend: Literal["0", "1"] | None = None


class Stats(BaseModel):
    model_config = ConfigDict(extra="allow")
    level: str
    period: dict[str, str]
    units: list[dict[str, Any]]
    total: dict[str, Any] | None


class ImportForm(Model):
    kind: Literal["grids", "buildings", "streets", "networks"] = "grids"
    network: Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,20}$")] | None = None  # networks: its code
    network_name: text("name") | None = None  # type: ignore[valid-type]
    level: Literal["district", "street", "community", "grid"] = "grid"
    dry_run: Literal["0", "1", "true", "false", "yes", "no"] = "1"
    replace: Literal["", "0", "1", "true", "on"] | None = None
    allow_overlap: Literal["", "0", "1", "true", "on"] | None = None
    build_hierarchy: Literal["", "0", "1", "true", "on"] | None = None
    district_code: Annotated[str, Field(pattern=r"^[0-9]{6}$")] | None = None
    code_field: text("name") | None = None  # type: ignore[valid-type]
    name_field: text("name") | None = None  # type: ignore[valid-type]
    parent_field: text("name") | None = None  # type: ignore[valid-type]
    households_field: text("name") | None = None  # type: ignore[valid-type]
    floors_field: text("name") | None = None  # type: ignore[valid-type]
    crs: Annotated[str, Field(max_length=40)] | None = None
    encoding: Annotated[str, Field(max_length=40)] | None = None
    layer: text("name") | None = None  # type: ignore[valid-type]


class ImportOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    report: dict[str, Any]
    written: bool


class ImportJobOut(BaseModel):
    """An import applied as a job, as its status URL answers."""

    id: int
    state: Literal["queued", "running", "done", "refused", "failed"]
    stage: str | None
    percent: float
    report: dict[str, Any] | None
    batch_id: int | None
    error: str | None
    status_url: str


class PageQuery(Model):
    page: Page = 1


class ImportBatchOut(BaseModel):
    """An import as the /imports list shows it."""

    id: int
    kind: str
    level: str | None
    filename: str
    features: int
    replaced: bool
    user: str | None
    created_at: str
    undone_at: str | None
    undoable: bool


class UndoOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    batch_id: int
    removed: int
    restored: int


# -- Open311 GeoReport v2 (its official JSON schemas: ../shared/open311-georeport-v2) -------------
class Open311Error(BaseModel):
    code: int
    description: str


class Open311Service(BaseModel):
    service_code: str
    service_name: str
    description: str | None
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str | None
    group: str | None


class Open311Definition(BaseModel):
    service_code: str
    attributes: list[dict[str, Any]]


class Open311Request(BaseModel):
    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str | None
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float
    long: float
    media_url: str | None


class Open311Posted(BaseModel):
    model_config = ConfigDict(extra="allow")
    service_request_id: str
    token: str | None = None


Key = Annotated[str, Field(max_length=200)]


class Open311KeyQuery(Model):
    api_key: Key | None = None


class Open311Query(Open311KeyQuery):
    service_request_id: Annotated[str, Field(pattern=r"^[0-9]{1,10}(,[0-9]{1,10}){0,999}$")] | None = None
    service_code: Annotated[str, Field(max_length=1000)] | None = None
    start_date: Annotated[str, Field(max_length=40)] | None = None
    end_date: Annotated[str, Field(max_length=40)] | None = None
    status: Literal["open", "closed"] | None = None
    page: Page = 1
    page_size: Annotated[int, BeforeValidator(_not_a_bool), Field(ge=1, le=1000)] = 1000


class Open311Post(Model):
    api_key: Key | None = None
    service_code: Annotated[str, Field(pattern=r"^[0-9]{1,8}$")] | None = None
    lat: Latitude | None = None
    long: Longitude | None = None
    address_string: text("address") | None = None  # type: ignore[valid-type]
    description: text("description") | None = None  # type: ignore[valid-type]
    email: text("contact") | None = None  # type: ignore[valid-type]
    first_name: text("contact") | None = None  # type: ignore[valid-type]
    last_name: text("contact") | None = None  # type: ignore[valid-type]
    phone: text("contact") | None = None  # type: ignore[valid-type]


XML = Reply({"type": "string", "description": "the same, as GeoReport v2 XML"}, "text/xml")


# -- households and the people's diary (app/people.py) -----------------------------------------------
Id = Annotated[int, BeforeValidator(_not_a_bool), Field(ge=1, le=2**31 - 1)]


class VisitIn(Model):
    """A visit of the people's diary: to a household (or a whole building), on a day."""

    household_id: Id | None = None
    building_id: Id | None = None
    visited_on: Day | None = Field(None, description="the day of the visit (default: today, local time)")
    met: text("met") | None = None  # type: ignore[valid-type]
    met_person_id: Id | None = None
    discussed: text("discussed") | None = None  # type: ignore[valid-type]
    needs: text("needs") | None = None  # type: ignore[valid-type]
    follow_up_on: Day | None = None
    client_id: uuid.UUID | None = None
    report_category: Annotated[str, Field(pattern=r"^[0-9]{1,8}$")] | None = Field(
        None, description="open a report of this sub-category at the building, from this visit"
    )


class VisitOut(BaseModel):
    id: int
    created: bool
    report_id: int | None
    url: str


class VisitsQuery(Model):
    grid: Code | None = None
    user: Id | None = None
    household: Id | None = None
    building: Id | None = None
    q: text("description") | None = None  # type: ignore[valid-type]
    before: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}:[0-9]{1,19}$")] | None = Field(
        None, description="the page after this visit: its 'visited_on:id'"
    )


class VisitRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    visited_on: dt.date
    handled: bool = Field(description="false: names, rooms and text are masked for the asker")


class VisitsOut(BaseModel):
    visits: list[VisitRow]
    next: str | None


class UnvisitedQuery(Model):
    grid: Code
    days: Annotated[int, BeforeValidator(_not_a_bool), Field(ge=1, le=3650)] = 30
    page: Page = 1


class UnvisitedOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    grid: str
    days: int
    total: int
    households: list[dict]


class UnvisitedLayerQuery(Model):
    bbox: Bbox
    days: Annotated[int, BeforeValidator(_not_a_bool), Field(ge=1, le=3650)] = 30


class OpenReportIn(Model):
    category: Annotated[str, Field(pattern=r"^[0-9]{1,8}$")]


class MonthQuery(Model):
    month: Annotated[str, Field(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")] | None = None
    within: Code | None = None


# -- the community's organisations and the other grid networks ----------------------------------------
Month = Annotated[str, Field(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]
NetworkCode = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,20}$")]


class PointsQuery(Model):
    month: Month | None = None
    community: Annotated[str, Field(pattern=r"^[0-9]{12}$")] | None = None


class MediationQuery(Model):
    period: Annotated[str, Field(max_length=20)] | None = None
    date_from: Day | None = Field(None, alias="from")
    date_to: Day | None = Field(None, alias="to")
    within: Annotated[str, Field(pattern=r"^[0-9]{0,15}$")] | None = None


class NetworkLayerQuery(Model):
    network: NetworkCode
    bbox: Bbox


class NetworkIndicatorsQuery(Model):
    period: Annotated[str, Field(max_length=20)] | None = None
    date_from: Day | None = Field(None, alias="from")
    date_to: Day | None = Field(None, alias="to")
