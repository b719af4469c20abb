"""Patrols on the web: live patrols from the phone, GPX uploads, coverage (API and /coverage page)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from sqlalchemy import select

from app.auth import current_row, current_viewer
from app.database import db
from app.maps import coverage_map, render_parts
from app.params import coverage_window
from gis.cases.policy import tracks_visible_to
from gis.errors import Forbidden, Invalid, NotFound
from gis.geojson import parse_bbox, tolerance_for_zoom
from gis.maps.layers import grids_extent
from gis.models import PatrolTrack, User
from gis.patrols.coverage import (
    Window,
    grid_coverage,
    grids_near_track,
    tracks_geojson,
    uncovered_streets_geojson,
)
from gis.patrols.tracks import (
    CleaningRules,
    Fix,
    add_pings,
    end_patrol,
    import_gpx,
    live_track,
    start_patrol,
    track_span,
)

bp = Blueprint("patrols", __name__)
OVERSEERS = ("admin", "supervisor")  # may load tracks for others
MAX_PINGS = 2000  # one request's worth: a phone that was offline ~5 h at 10 s


def track_json(track: PatrolTrack) -> dict:
    return {
        "id": track.id,
        "name": track.name,
        "source": track.source,
        "has_time": track.has_time,
        "user_id": track.user_id,
        "started_at": track.started_at.isoformat() if track.started_at else None,
        "ended_at": track.ended_at.isoformat() if track.ended_at else None,
        "cleaning": track.cleaning,
        "points_url": url_for("patrols.pings", track_id=track.id),
        "end_url": url_for("patrols.end", track_id=track.id),
    }


def _touched_coverage(track: PatrolTrack) -> dict:
    """Coverage of just the grids this track passed, while it was walked: the incremental update
    shown when a patrol comes in (the other grids cannot have changed)."""
    grid_ids = grids_near_track(db(), track.id)
    span = track_span(db(), track.id)
    if not grid_ids or not track.has_time or span is None:
        return {"grids": [], "grids_total": 0}
    window = Window(span[0], span[1] + dt.timedelta(seconds=1))
    return grid_coverage(db(), window, grid_ids=grid_ids).as_json()


@bp.post("/api/v1/patrols")
def start():
    data = request.get_json(silent=True) or {}
    track = start_patrol(db(), current_row(), name=data.get("name"))
    return jsonify(track_json(track)), 201, {"Location": url_for("patrols.get", track_id=track.id)}


@bp.get("/api/v1/patrols/<int:track_id>")
def get(track_id: int):
    scope = tracks_visible_to(current_viewer())
    track = db().scalar(select(PatrolTrack).where(PatrolTrack.id == track_id, scope.clause()))
    if track is None:
        raise NotFound(f"no patrol {track_id}")
    return jsonify(track_json(track))


def _ping(item) -> Fix:
    """One fix from the phone: lon, lat, time (ISO text or epoch milliseconds), accuracy (m)."""
    if not isinstance(item, dict):
        raise Invalid("each point must be an object with lon, lat, time and accuracy")
    try:
        lon, lat = float(item["lon"]), float(item["lat"])
        accuracy = float(item["accuracy"]) if item.get("accuracy") is not None else None
    except (KeyError, TypeError, ValueError):
        raise Invalid("each point needs lon and lat as numbers (accuracy, if sent, in metres)") from None
    value = item.get("time")
    if value is None:
        raise Invalid("each point needs its time (ISO 8601 or epoch milliseconds)")
    try:
        if isinstance(value, (int, float)):
            time = dt.datetime.fromtimestamp(value / 1000, dt.UTC)
        else:
            time = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise Invalid(f"time {value!r} is neither ISO 8601 nor epoch milliseconds") from None
    if time.tzinfo is None:
        raise Invalid("a ping's time needs its time zone (e.g. 2026-11-23T08:00:00+08:00)")
    return Fix(lon, lat, time, accuracy)


@bp.post("/api/v1/patrols/<int:track_id>/points")
def pings(track_id: int):
    track = live_track(db(), track_id, current_row())
    data = request.get_json(silent=True)
    items = data.get("points", [data]) if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise Invalid('send {"points": [{"lon": .., "lat": .., "time": .., "accuracy": ..}, ...]}')
    if len(items) > MAX_PINGS:
        raise Invalid(f"at most {MAX_PINGS} points a request: send the rest in the next one")
    cleaned = add_pings(db(), track, [_ping(i) for i in items])
    return jsonify(
        {
            "track": track.id,
            "accepted": cleaned.kept,
            "dropped": cleaned.summary()["dropped"],
            "new_segment": not cleaned.continues_previous,
        }
    )


@bp.post("/api/v1/patrols/<int:track_id>/end")
def end(track_id: int):
    track = end_patrol(db(), live_track(db(), track_id, current_row()))
    return jsonify({**track_json(track), "coverage": _touched_coverage(track)})


@bp.post("/api/v1/patrols/gpx")
def upload_gpx():
    """A GPX file for the logged-in user, or (supervisors) for the user named in ``user``."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("choose a .gpx file to upload (form field 'file')")
    user = current_row()
    if request.form.get("user") and request.form["user"] != user.username:
        if user.role not in OVERSEERS:
            raise Forbidden("only supervisors may load a track for someone else")
        user = db().scalar(select(User).where(User.username == request.form["user"]))
        if user is None:
            raise NotFound(f"no user {request.form['user']!r}")
    try:
        rules = CleaningRules(
            float(request.form.get("max_accuracy") or 50),
            float(request.form.get("max_speed") or 15),
            dt.timedelta(minutes=float(request.form.get("gap_minutes") or 5)),
        )
    except ValueError:
        raise Invalid("max_accuracy, max_speed and gap_minutes must be numbers") from None
    track = import_gpx(db(), upload.read(), user, name=request.form.get("name") or None, rules=rules)
    return jsonify({**track_json(track), "coverage": _touched_coverage(track)}), 201


@bp.get("/api/v1/coverage")
def coverage():
    bbox = parse_bbox(request.args["bbox"]) if request.args.get("bbox") else None
    return jsonify(grid_coverage(db(), coverage_window(), bbox=bbox).as_json())


@bp.get("/api/v1/coverage/gaps.geojson")
def gaps():
    bbox = parse_bbox(request.args.get("bbox"))
    return Response(
        uncovered_streets_geojson(db(), coverage_window(), bbox=bbox), mimetype="application/geo+json"
    )


@bp.get("/api/v1/layers/tracks.geojson")
def tracks_layer():
    bbox = parse_bbox(request.args.get("bbox"))
    tolerance = tolerance_for_zoom(request.args.get("zoom", 16, type=float))
    return Response(
        tracks_geojson(db(), current_viewer(), coverage_window(), bbox, tolerance),
        mimetype="application/geo+json",
    )


@bp.get("/coverage")
def page():
    """Coverage for a window: the map, grids not visited, the hour-by-hour check, a GPX upload."""
    window = coverage_window()
    result = grid_coverage(db(), window).as_json()
    grids = result["grids"]
    unvisited = sorted((g for g in grids if not g["minutes"]), key=lambda g: g["code"])
    hours = window.hours if window.hours and window.hours <= 48 else None
    per_hour = [sum(1 for g in grids if h not in (g["hours_visited"] or ())) for h in range(hours or 0)]
    gappy = sorted(
        (g for g in grids if hours and len(g["hours_visited"] or ()) < hours),
        key=lambda g: (len(g["hours_visited"] or ()), g["code"]),
    )
    page_no = max(request.args.get("page", 1, type=int), 1)
    size = 50
    shares = {g["code"]: [g["area_share"], g["street_share"], g["minutes"]] for g in grids}
    params = {"from": window.start.isoformat(), "to": window.end.isoformat(), "radius": window.radius_m}
    local = ZoneInfo(current_app.config["TIMEZONE"])
    parts = render_parts(coverage_map(grids_extent(db()), shares, params))
    return render_template(
        "coverage.html",
        map=parts,
        result=result,
        window=window,
        unvisited=unvisited,
        hours=hours,
        per_hour=per_hour,
        hour_labels=[(window.start + dt.timedelta(hours=h)).astimezone(local) for h in range(hours or 0)],
        gappy=gappy[(page_no - 1) * size : page_no * size],
        page=page_no,
        pages=max(1, -(-len(gappy) // size)),
        users=_users_for_upload(),
        hour_tz=local,
        query={k: v for k, v in request.args.items() if k != "page"},
    )


def _users_for_upload():
    if current_row().role not in OVERSEERS:
        return []
    return db().scalars(select(User).where(User.active).order_by(User.username)).all()
