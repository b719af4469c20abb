"""Patrols on the web: live patrols from the phone, GPX uploads, coverage (API and /coverage page)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from sqlalchemy import select

from app.auth import current_row, current_viewer
from app.database import db, reads
from app.i18n import local_zone
from app.maps import coverage_map, render_parts
from app.openapi import Reply, operation, query_of
from app.params import coverage_window
from app.schemas import (
    GEO,
    GEOJSON,
    REFUSED,
    Coverage,
    GpxForm,
    PatrolIn,
    Ping,
    PingsIn,
    PingsOut,
    Track,
    WindowQuery,
)
from gis.cases.policy import tracks_visible_to
from gis.coords import rounded
from gis.errors import Forbidden, Invalid, NotFound
from gis.geojson import parse_bbox, tolerance_for_zoom
from gis.i18n import _
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
MAX_PINGS = 2000  # one request's worth: a phone that was offline ~5 h at 10 s (PingsIn)
TRACK = Reply(Track, description="the patrol")


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
@operation(
    "Start a live patrol (the phone then sends its fixes)",
    body=PatrolIn,
    responses={201: TRACK, "default": REFUSED},
    tags=("patrols",),
)
def start(body: PatrolIn):
    track = start_patrol(db(), current_row(), name=body.name)
    return jsonify(track_json(track)), 201, {"Location": url_for("patrols.get", track_id=track.id)}


@bp.get("/api/v1/patrols/<id:track_id>")
@operation("A patrol the asker may see", responses={200: TRACK, "default": REFUSED}, tags=("patrols",))
def get(track_id: int):
    scope = tracks_visible_to(current_viewer())
    track = db().scalar(select(PatrolTrack).where(PatrolTrack.id == track_id, scope.clause()))
    if track is None:
        raise NotFound(_("no patrol %(track_id)s", track_id=track_id))
    return jsonify(track_json(track))


def _ping(item: Ping) -> Fix:
    """One fix from the phone: lon, lat, time (ISO text or epoch milliseconds), accuracy (m)."""
    value = item.time
    try:
        if isinstance(value, float):
            time = dt.datetime.fromtimestamp(value / 1000, dt.UTC)
        else:
            time = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise Invalid(
            _("time %(value)s is neither ISO 8601 nor epoch milliseconds", value=repr(value)),
            fields={"points.time": _("is neither ISO 8601 nor epoch milliseconds")},
        ) from None
    if time.tzinfo is None:
        raise Invalid(
            _("a ping's time needs its time zone (e.g. 2026-11-23T08:00:00+08:00)"),
            fields={"points.time": _("needs its time zone")},
        )
    return Fix(rounded(item.lon), rounded(item.lat), time, item.accuracy)


@bp.post("/api/v1/patrols/<id:track_id>/points")
@operation(
    f"Fixes of the asker's live patrol (at most {MAX_PINGS} a request; safe to send again)",
    body=PingsIn,
    responses={200: Reply(PingsOut), "default": REFUSED},
    tags=("patrols",),
)
def pings(track_id: int, body: PingsIn):
    track = live_track(db(), track_id, current_row())
    cleaned = add_pings(db(), track, [_ping(i) for i in body.points])
    return jsonify(
        {
            "track": track.id,
            "accepted": cleaned.kept,
            "dropped": cleaned.summary()["dropped"],
            "new_segment": not cleaned.continues_previous,
        }
    )


@bp.post("/api/v1/patrols/<id:track_id>/end")
@operation(
    "End the asker's live patrol; its grids' coverage comes back",
    responses={200: TRACK, "default": REFUSED},
    tags=("patrols",),
)
def end(track_id: int):
    track = end_patrol(db(), live_track(db(), track_id, current_row()))
    return jsonify({**track_json(track), "coverage": _touched_coverage(track)})


@bp.post("/api/v1/patrols/gpx")
@operation(
    "Load a GPX track walked by the asker (or, supervisors, by the user named)",
    form=GpxForm,
    files={"file": "a GPX 1.0 or 1.1 file"},
    responses={201: TRACK, "default": REFUSED},
    tags=("patrols",),
)
def upload_gpx(body: GpxForm):
    """A GPX file for the logged-in user, or (supervisors) for the user named in ``user``."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(
            _("choose a .gpx file to upload (form field 'file')"), fields={"file": _("is required")}
        )
    user = current_row()
    if body.user and body.user != user.username:
        if user.role not in OVERSEERS:
            raise Forbidden(_("only supervisors may load a track for someone else"))
        user = db().scalar(select(User).where(User.username == body.user))
        if user is None:
            raise NotFound(_("no user %(user)s", user=repr(body.user)))
    rules = CleaningRules(
        body.max_accuracy or 50, body.max_speed or 15, dt.timedelta(minutes=body.gap_minutes or 5)
    )
    track = import_gpx(db(), upload.read(), user, name=body.name, rules=rules)
    return jsonify({**track_json(track), "coverage": _touched_coverage(track)}), 201


@bp.get("/api/v1/coverage")
@operation(
    "Patrol coverage per grid for a window and radius (default the last 24 h, 30 m)",
    query=WindowQuery,
    responses={200: Reply(Coverage), "default": REFUSED},
    tags=("patrols",),
)
def coverage(query: WindowQuery):
    bbox = parse_bbox(query.bbox) if query.bbox else None
    return jsonify(grid_coverage(reads(), coverage_window(query), bbox=bbox).as_json())


@bp.get("/api/v1/coverage/gaps.geojson")
@operation(
    "The streets nobody walked in a window, in a viewport",
    query=WindowQuery,
    responses={200: GEO, "default": REFUSED},
    tags=("patrols",),
)
def gaps(query: WindowQuery):
    bbox = parse_bbox(query.bbox)
    return Response(uncovered_streets_geojson(reads(), coverage_window(query), bbox=bbox), mimetype=GEOJSON)


@bp.get("/api/v1/layers/tracks.geojson")
@operation(
    "The patrol tracks the asker may see in a window and viewport",
    query=WindowQuery,
    responses={200: GEO, "default": REFUSED},
    tags=("map",),
)
def tracks_layer(query: WindowQuery):
    bbox = parse_bbox(query.bbox)
    tolerance = tolerance_for_zoom(query.zoom if query.zoom is not None else 16)
    return Response(
        tracks_geojson(reads(), current_viewer(), coverage_window(query), bbox, tolerance), mimetype=GEOJSON
    )


@bp.get("/coverage")
def page():
    """Coverage for a window: the map, grids not visited, the hour-by-hour check, a GPX upload."""
    window = coverage_window(query_of(WindowQuery))
    result = grid_coverage(reads(), window).as_json()
    grids = result["grids"]
    unvisited = sorted((g for g in grids if not g["minutes"]), key=lambda g: g["code"])
    hours = window.hours if window.hours and window.hours <= 48 else None
    per_hour = [sum(1 for g in grids if h not in (g["hours_visited"] or ())) for h in range(hours or 0)]
    gappy = sorted(
        (g for g in grids if hours and len(g["hours_visited"] or ()) < hours),
        key=lambda g: (len(g["hours_visited"] or ()), g["code"]),
    )
    page_no = min(max(request.args.get("page", 1, type=int), 1), 100_000)
    size = 50
    shares = {g["code"]: [g["area_share"], g["street_share"], g["minutes"]] for g in grids}
    params = {"from": window.start.isoformat(), "to": window.end.isoformat(), "radius": window.radius_m}
    local = local_zone()
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
        query={k: v for k, v in request.args.items() if k != "page"},
    )


def _users_for_upload():
    if current_row().role not in OVERSEERS:
        return []
    return db().scalars(select(User).where(User.active).order_by(User.username)).all()
