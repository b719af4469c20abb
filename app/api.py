"""The JSON API (/api/v1): token or session auth; each operation declared once (app/openapi.py),
its refusals {"error": ..., "fields": {...}}; /api/v1/openapi.json describes them all."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask_login import current_user

from app.auth import bearer_digest, checks_token_itself, current_viewer, public
from app.database import db, reads
from app.i18n import CategoryNames
from app.openapi import Reply, document, operation
from app.params import department_id, intake_limits, proof_from_request, user_id
from app.schemas import (
    GEO,
    GEOJSON,
    REFUSED,
    ActionIn,
    GridSummary,
    LayerQuery,
    Located,
    NearbyOut,
    NearbyQuery,
    PhotoQuery,
    PointQuery,
    Position,
    ReportIn,
    ReportOut,
    ReportsLayerQuery,
    area_chain,
    event_json,
    report_json,
)
from gis.assignment import assign_grid, check_point
from gis.cases.intake import submit_report
from gis.cases.lifecycle import act
from gis.cases.listing import NEARBY_DAYS, NEARBY_RADIUS_M, nearby_cases
from gis.cases.photos import photo_gps, thumbnail
from gis.cases.policy import load_visible
from gis.coords import to_wgs84
from gis.errors import Invalid, NotFound
from gis.geojson import parse_bbox
from gis.i18n import _
from gis.maps.layers import areas_geojson, buildings_geojson, grid_summary, reports_geojson
from gis.models import AREA_LEVELS, STATUS_NAMES, ReportPhoto

bp = Blueprint("api", __name__, url_prefix="/api/v1")
REPORT = Reply(ReportOut, description="the report")


@bp.post("/reports")
@checks_token_itself
@operation(
    "Report a problem at a point (a phone's pin); a repeated client_id answers with the first report",
    body=ReportIn,
    form=ReportIn,
    files={"photos": "up to 3 photos (JPEG, PNG or WebP)"},
    responses={
        201: REPORT,
        200: Reply(ReportOut, description="the report this client_id made before"),
        "default": REFUSED,
    },
    tags=("reports",),
)
def create_report(body: ReportIn):
    photos = (
        []
        if request.is_json
        else [  # photos come in multipart only: no form parsing for JSON
            f.read() for f in request.files.getlist("photos") if f and f.filename
        ]
    )
    digest = bearer_digest()
    intake = submit_report(
        db(),
        lon=body.lon,
        lat=body.lat,
        crs=body.crs,
        category=body.category,
        description=body.description,
        channel=body.channel,
        reporter_id=None if digest else current_user.id,
        token_digest=digest,
        client_id=body.client_id,
        address=body.address,
        photos=photos,
        commit_alone=True,
        **intake_limits(),
    )  # the report is all this request writes
    # actions: GET /reports/<id> (kept off the hot path)
    out = report_json(db(), intake.report_id, detail=intake.detail)
    status = 201 if intake.created else 200
    headers = {"Location": url_for("api.get_report_json", report_id=intake.report_id)}
    return jsonify(out), status, headers


@bp.get("/reports/<id:report_id>")
@operation(
    "A report the asker may open, with its history and the actions they may take",
    responses={200: REPORT, "default": REFUSED},
    tags=("reports",),
)
def get_report_json(report_id: int):
    return _detail(load_visible(db(), current_viewer(), report_id, via=request.path))


@bp.post("/reports/<id:report_id>/actions")
@operation(
    "Take one step of the loop on a report (the version the asker saw, or 409)",
    body=ActionIn,
    form=ActionIn,
    files={
        "photos": "up to 3 photos: the after-photo (handle), the place now (verify), what I saw (confirm)"
    },
    responses={200: REPORT, "default": REFUSED},
    tags=("reports",),
)
def report_action(report_id: int, body: ActionIn):
    report = load_visible(db(), current_viewer(), report_id, via=request.path)
    act(
        db(),
        report,
        current_viewer(),
        body.action,
        version=body.version,
        note=body.note,
        department_id=department_id(body.department),
        assignee_id=user_id(body.assignee),
        hours=body.hours,
        proof=proof_from_request(body.lon, body.lat),
        client_id=body.client_id,
        verify_radius_m=current_app.config["VERIFY_RADIUS_M"],
    )
    return _detail(report)


def _detail(report):
    """A report with its history and the actions this user may take now."""
    out = report_json(db(), report.id, current_viewer())
    out["events"] = [event_json(e) for e in report.events]
    return jsonify(out)


@bp.get("/grids/locate")
@operation(
    "Which grid holds a point (and its community, street, district)",
    query=PointQuery,
    responses={200: Reply(Located), "default": REFUSED},
    tags=("areas",),
)
def locate_grid(query: PointQuery):
    wlon, wlat = to_wgs84(*check_point(query.lon, query.lat), query.crs)
    nearest_m = current_app.config["NEAREST_GRID_M"]
    assignment = assign_grid(db(), wlon, wlat, nearest_m)
    if assignment.grid_id is None:
        raise NotFound(
            _(
                "no grid holds (%(wlon)s, %(wlat)s) or lies within %(nearest_m)s m: a report here goes to "
                "the unassigned queue",
                wlon=format(wlon, ".6f"),
                wlat=format(wlat, ".6f"),
                nearest_m=format(nearest_m, ".0f"),
            ),
            assignment="unassigned",
        )
    return jsonify(
        {
            "lon": wlon,
            "lat": wlat,
            "assignment": assignment.kind,
            "distance_m": assignment.distance_m,
            **area_chain(db(), assignment.grid_id),
        }
    )


@bp.get("/reports/nearby")
@operation(
    "Open reports of the same category group within 50 m from the last 7 days (is it one of these?)",
    query=NearbyQuery,
    responses={200: Reply(NearbyOut), "default": REFUSED},
    tags=("reports",),
)
def nearby_reports(query: NearbyQuery):
    """What a worker about to report may confirm instead ("我也看到了"): cases they may open."""
    lon, lat = to_wgs84(*check_point(query.lon, query.lat), query.crs)
    found = nearby_cases(db(), current_viewer(), lon, lat, query.category)
    names = CategoryNames()
    return jsonify(
        {
            "radius_m": NEARBY_RADIUS_M,
            "days": NEARBY_DAYS,
            "reports": [
                {
                    "id": n.id,
                    "version": n.version,
                    "status": n.status,
                    "status_name": str(STATUS_NAMES[n.status]),
                    "category": n.category_code,
                    "category_name": names.get(n.category_code, n.category_code),
                    "created_at": n.created_at.isoformat(),
                    "distance_m": round(n.distance_m, 1),
                    "confirmations": n.confirmations,
                    "thumbnail": url_for("api.photo", photo_id=n.photo_id, size="thumb")
                    if n.photo_id
                    else None,
                    "url": url_for("pages.case", report_id=n.id),
                }
                for n in found
            ],
        }
    )


@bp.post("/photos/location")
@operation(
    "The GPS position in a photo's EXIF, to offer as the report's position",
    files={"photo": "a photo"},
    responses={200: Reply(Position), "default": REFUSED},
    tags=("reports",),
)
def photo_location():
    """EXIF GPS of an uploaded photo, so the phone can offer it as the report's position."""
    upload = request.files.get("photo")
    if upload is None:
        raise Invalid(_("send the photo as the form field 'photo'"), fields={"photo": _("is required")})
    found = photo_gps(upload.read())
    if found is None:
        raise NotFound(_("this photo carries no GPS position"))
    return jsonify({"lon": found[0], "lat": found[1]})


@bp.get("/photos/<id:photo_id>")
@operation(
    "A report's photo, for whoever may open the report",
    responses={200: Reply({"type": "string", "format": "binary"}, "image/jpeg"), "default": REFUSED},
    query=PhotoQuery,
    tags=("reports",),
)
def photo(photo_id: int, query: PhotoQuery):
    """A report's photo, for whoever may open the report (the same 404 otherwise)."""
    row = db().get(ReportPhoto, photo_id)
    if row is None:
        raise NotFound(_("no photo %(photo_id)s", photo_id=photo_id))
    try:
        load_visible(db(), current_viewer(), row.report_id, via=request.path)
    except NotFound:
        raise NotFound(_("no photo %(photo_id)s", photo_id=photo_id)) from None
    data = thumbnail(row.data) if query.size == "thumb" else row.data
    return Response(data, mimetype=row.content_type, headers={"Cache-Control": "private, max-age=86400"})


@bp.get("/layers/reports.geojson")
@operation(
    "The pins the asker may open in a viewport (or counts per area as bubbles)",
    query=ReportsLayerQuery,
    responses={200: GEO, "default": REFUSED},
    tags=("map",),
)
def reports_layer(query: ReportsLayerQuery):
    out = reports_geojson(
        reads(),
        current_viewer(),
        parse_bbox(query.bbox),
        status=query.status or None,
        category=query.category or None,
        channel=query.channel or None,
        date_from=query.date_from,
        date_to=query.date_to,
        area=query.area or None,
    )
    return Response(out, mimetype=GEOJSON)


@bp.get("/layers/buildings.geojson")
@operation(
    "Building footprints in a viewport (from zoom 16)",
    query=LayerQuery,
    responses={200: GEO, "default": REFUSED},
    tags=("map",),
)
def buildings_layer(query: LayerQuery):
    return Response(buildings_geojson(reads(), parse_bbox(query.bbox), query.zoom), mimetype=GEOJSON)


@bp.get("/layers/<level>.geojson")
@operation(
    "Areas of a level in a viewport, with their open and overdue cases",
    query=LayerQuery,
    responses={200: GEO, "default": REFUSED},
    tags=("map",),
)
def areas_layer(level: str, query: LayerQuery):
    if level not in AREA_LEVELS:
        raise NotFound(
            _("no layer %(level)s: one of %(items)s", level=repr(level), items=", ".join(AREA_LEVELS))
        )
    auto = query.auto == "1"  # coarser areas when too many grids are in view
    headers = (
        {"Content-Disposition": f"attachment; filename=gridwatch-{level}.geojson"}
        if query.download == "1"
        else {}
    )
    out = areas_geojson(reads(), level, parse_bbox(query.bbox), query.zoom, auto)
    return Response(out, mimetype=GEOJSON, headers=headers)


@bp.get("/grids/<code>")
@operation(
    "A grid's panel: worker, buildings, households, open and overdue cases, last patrol",
    responses={200: Reply(GridSummary), "default": REFUSED},
    tags=("areas",),
)
def grid_detail(code: str):
    summary = grid_summary(reads(), current_viewer(), code)
    if summary is None:
        raise NotFound(_("no grid %(code)s", code=code))
    summary["last_patrol"] = summary["last_patrol"].isoformat() if summary["last_patrol"] else None
    return jsonify(summary)


@bp.get("/openapi.json")
@public
@operation("This document", responses={200: Reply({"type": "object"})}, tags=("meta",), public=True)
def openapi():
    return jsonify(
        document(
            current_app,
            "GridWatch API",
            "1",
            "Grid management (网格化管理): reports and the closed loop, map layers, patrols, "
            "indicators, imports, Open311 GeoReport v2. Authorization: Bearer <token> "
            "(gridwatch users token NAME), or the browser's session.",
        )
    )


@bp.get("/docs")
@public
def docs():
    """The document, readable (Swagger UI from npm, served from /static)."""
    return render_template("api_docs.html")
