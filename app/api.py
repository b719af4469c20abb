"""The JSON API (/api/v1): token or session auth; errors come back as {"error": ...}."""
from flask import Blueprint, Response, request

from app.database import db
from gis.errors import Invalid
from gis.layers import areas_geojson, parse_bbox
from gis.models import AREA_LEVELS

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/layers/<level>.geojson")
def areas_layer(level: str):
    if level not in AREA_LEVELS:
        raise Invalid(f"level must be one of {', '.join(AREA_LEVELS)}")
    bbox = parse_bbox(request.args.get("bbox"))
    zoom = request.args.get("zoom", 14, type=float)
    return Response(areas_geojson(db(), level, bbox, zoom), mimetype="application/geo+json")
