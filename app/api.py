"""The JSON API (/api/v1): token or session auth; errors come back as {"error": ...}."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth import bearer_digest, checks_token_itself, current_viewer
from app.database import db
from app.params import date_arg, intake_limits
from app.schemas import area_chain, event_json, report_json
from gis.assignment import assign_grid, check_point
from gis.cases.intake import photo_gps, submit_report
from gis.cases.lifecycle import act
from gis.cases.policy import load_visible
from gis.coords import CRS_NAMES, to_wgs84
from gis.errors import Invalid, NotFound
from gis.geojson import parse_bbox
from gis.maps.layers import areas_geojson, buildings_geojson, grid_summary, reports_geojson
from gis.models import AREA_LEVELS, Department, ReportPhoto

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _payload() -> dict:
    """JSON body, or form fields (multipart, for photos)."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise Invalid("the body must be a JSON object")
        return data
    return request.form.to_dict()


@bp.post("/reports")
@checks_token_itself
def create_report():
    data = _payload()
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
        lon=data.get("lon"),
        lat=data.get("lat"),
        crs=data.get("crs") or "wgs84",
        category=str(data.get("category") or ""),
        description=data.get("description") or "",
        channel=data.get("channel") or "app",
        reporter_id=None if digest else current_user.id,
        token_digest=digest,
        client_id=data.get("client_id"),
        address=data.get("address"),
        photos=photos,
        commit_alone=True,
        **intake_limits(),
    )  # the report is all this request writes
    # actions: GET /reports/<id> (kept off the hot path)
    body = report_json(db(), intake.report_id, detail=intake.detail)
    status = 201 if intake.created else 200
    headers = {"Location": url_for("api.get_report_json", report_id=intake.report_id)}
    return jsonify(body), status, headers


@bp.get("/reports/<int:report_id>")
def get_report_json(report_id: int):
    return _detail(load_visible(db(), current_viewer(), report_id, via=request.path))


@bp.post("/reports/<int:report_id>/actions")
def report_action(report_id: int):
    data = _payload()
    report = load_visible(db(), current_viewer(), report_id, via=request.path)
    department_id = _department_id(data.get("department"))
    hours = data.get("hours")
    act(
        db(),
        report,
        current_viewer(),
        str(data.get("action") or ""),
        version=data.get("version"),
        note=data.get("note"),
        department_id=department_id,
        hours=float(hours) if hours not in (None, "") else None,
    )
    return _detail(report)


def _detail(report):
    """A report with its history and the actions this user may take now."""
    body = report_json(db(), report.id, current_viewer())
    body["events"] = [event_json(e) for e in report.events]
    return jsonify(body)


def _department_id(value) -> int | None:
    """A department given by id or by code."""
    if value in (None, ""):
        return None
    session = db()
    if str(value).isdigit() and session.get(Department, int(value)):
        return int(value)
    found = session.scalar(select(Department.id).where(Department.code == str(value)))
    if found is None:
        raise Invalid(f"no department {value!r}")
    return found


@bp.get("/grids/locate")
def locate_grid():
    lon, lat = check_point(request.args.get("lon"), request.args.get("lat"))
    crs = request.args.get("crs", "wgs84")
    if crs not in CRS_NAMES:
        raise Invalid(f"crs must be one of {', '.join(CRS_NAMES)}")
    wlon, wlat = to_wgs84(lon, lat, crs)
    assignment = assign_grid(db(), wlon, wlat, current_app.config["NEAREST_GRID_M"])
    if assignment.grid_id is None:
        raise NotFound(
            f"no grid holds ({wlon:.6f}, {wlat:.6f}) or lies within "
            f"{current_app.config['NEAREST_GRID_M']:.0f} m: a report here goes to the "
            "unassigned queue",
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


@bp.post("/photos/location")
def photo_location():
    """EXIF GPS of an uploaded photo, so the phone can offer it as the report's position."""
    upload = request.files.get("photo")
    if upload is None:
        raise Invalid("send the photo as the form field 'photo'")
    found = photo_gps(upload.read())
    if found is None:
        raise NotFound("this photo carries no GPS position")
    return jsonify({"lon": found[0], "lat": found[1]})


@bp.get("/photos/<int:photo_id>")
def photo(photo_id: int):
    """A report's photo, for whoever may open the report (the same 404 otherwise)."""
    row = db().get(ReportPhoto, photo_id)
    if row is None:
        raise NotFound(f"no photo {photo_id}")
    try:
        load_visible(db(), current_viewer(), row.report_id, via=request.path)
    except NotFound:
        raise NotFound(f"no photo {photo_id}") from None
    return Response(row.data, mimetype=row.content_type, headers={"Cache-Control": "private, max-age=86400"})


@bp.get("/layers/reports.geojson")
def reports_layer():
    bbox = parse_bbox(request.args.get("bbox"))
    body = reports_geojson(
        db(),
        current_viewer(),
        bbox,
        status=request.args.get("status"),
        category=request.args.get("category"),
        channel=request.args.get("channel"),
        date_from=date_arg("from"),
        date_to=date_arg("to"),
        area=request.args.get("area"),
    )
    return Response(body, mimetype="application/geo+json")


@bp.get("/layers/buildings.geojson")
def buildings_layer():
    bbox = parse_bbox(request.args.get("bbox"))
    zoom = request.args.get("zoom", 16, type=float)
    return Response(buildings_geojson(db(), bbox, zoom), mimetype="application/geo+json")


@bp.get("/layers/<level>.geojson")
def areas_layer(level: str):
    if level not in AREA_LEVELS:
        raise Invalid(f"level must be one of {', '.join(AREA_LEVELS)}")
    bbox = parse_bbox(request.args.get("bbox"))
    zoom = request.args.get("zoom", 14, type=float)
    auto = request.args.get("auto") == "1"  # coarser areas when too many grids are in view
    headers = (
        {"Content-Disposition": f"attachment; filename=gridwatch-{level}.geojson"}
        if request.args.get("download") == "1"
        else {}
    )
    return Response(
        areas_geojson(db(), level, bbox, zoom, auto), mimetype="application/geo+json", headers=headers
    )


@bp.get("/grids/<code>")
def grid_detail(code: str):
    summary = grid_summary(db(), current_viewer(), code)
    if summary is None:
        raise NotFound(f"no grid {code}")
    summary["last_patrol"] = summary["last_patrol"].isoformat() if summary["last_patrol"] else None
    return jsonify(summary)
