"""The other grid networks over HTTP: the list, a network's areas as a map layer, the area of each
network at a point, and each area's indicators. Each route calls one function of
``gis.areas.networks``; the reports it counts are the asker's (the policy's ``visible_to``)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, jsonify, render_template, request

from app.auth import current_viewer
from app.database import db, reads
from app.openapi import Reply, operation
from app.params import period_arg
from app.schemas import GEO, GEOJSON, REFUSED, NetworkIndicatorsQuery, NetworkLayerQuery, PointQuery
from gis.areas.networks import areas_at, network_geojson, network_indicators, network_named, networks
from gis.cases.policy import OVERSEERS, visible_to
from gis.coords import to_wgs84
from gis.geojson import parse_bbox
from gis.models import NETWORK_ROLE_NAMES

bp = Blueprint("networks", __name__)


def unmasked_contacts() -> bool:
    """Whether the asker reads network areas' responsible people's phones whole (staff)."""
    return current_viewer().role in {*OVERSEERS, "admin", "grid_worker"}


def _indicators(code: str) -> tuple[dict, list[dict]]:
    period = period_arg()
    rows = network_indicators(
        reads(), code, visible_to(current_viewer(), "r"), period.start, period.end, dt.datetime.now(dt.UTC)
    )
    return {"label": period.label, "from": period.start.isoformat(), "to": period.end.isoformat()}, rows


@bp.get("/networks")
def page():
    listed = networks(db())
    code = request.args.get("network") or (listed[0]["code"] if listed else None)
    period, rows = _indicators(code) if code else ({"label": ""}, [])
    return render_template(
        "networks.html",
        networks=listed,
        network=network_named(db(), code) if code else None,
        period=period,
        rows=rows,
        role_names=NETWORK_ROLE_NAMES,
    )


@bp.get("/api/v1/networks")
@operation("The grid networks besides the main one, with their counts of areas", tags=("map",))
def list_json():
    return jsonify({"networks": networks(db())})


@bp.get("/api/v1/layers/network.geojson")
@operation(
    "A network's areas in the viewport, with their responsible people's names (no phones)",
    query=NetworkLayerQuery,
    responses={200: GEO, "default": REFUSED},
    tags=("map",),
)
def layer(query: NetworkLayerQuery):
    return Response(network_geojson(reads(), query.network, parse_bbox(query.bbox)), mimetype=GEOJSON)


@bp.get("/api/v1/networks/at")
@operation(
    "The area of every network holding a point, with its responsible people",
    query=PointQuery,
    responses={200: Reply(None), "default": REFUSED},
    tags=("map",),
)
def at(query: PointQuery):
    lon, lat = to_wgs84(query.lon, query.lat, query.crs)
    return jsonify({"lon": lon, "lat": lat, "areas": areas_at(db(), lon, lat, unmasked_contacts())})


@bp.get("/api/v1/networks/<code>/indicators")
@operation(
    "Each area's indicators in a network (the reports the asker may read, created in the period)",
    query=NetworkIndicatorsQuery,
    responses={200: Reply(None), "default": REFUSED},
    tags=("indicators",),
)
def indicators_json(code: str, query: NetworkIndicatorsQuery):
    period, rows = _indicators(code)
    return jsonify({"network": code, "period": period, "areas": rows})
