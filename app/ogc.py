"""OGC API – Features (/ogc/) and vector tiles (/tiles/) for QGIS, GDAL and other GIS clients:
JSON (GeoJSON for features) by default, HTML with ``f=html`` or an Accept of text/html. Readers
are anonymous (public data only) or send their API token as ``Authorization: Bearer``; what they
may read is the access policy's (gis/maps/features.py)."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user

from app.auth import current_viewer, public
from app.database import reads
from gis.accounts import Viewer
from gis.errors import Invalid, Unauthorized
from gis.geojson import parse_bbox
from gis.i18n import _
from gis.maps.features import (
    COLLECTIONS,
    CRS84,
    DEFAULT_LIMIT,
    FILTERS,
    MAX_LIMIT,
    MAX_ZOOM,
    TILE_LAYERS,
    crs_list,
    extent,
    feature,
    items,
    parse_crs,
    parse_datetime,
    tile,
    tile_fields,
    tile_min_zoom,
)
from gis.maps.features import (
    collection as find_collection,
)
from gis.patrols.coverage import Window, grid_coverage

bp = Blueprint("ogc", __name__)
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]


def _viewer() -> Viewer | None:
    return current_viewer() if current_user.is_authenticated else None


def _wants_html() -> bool:
    f = request.args.get("f")
    if f:
        if f not in ("json", "html"):
            raise Invalid(_("f must be json or html"), fields={"f": _("is not a format")})
        return f == "html"
    best = request.accept_mimetypes.best_match(["application/json", GEOJSON, "text/html"])
    return best == "text/html"


def _answer(document: dict, title: str, media: str = "application/json", headers: dict | None = None):
    if _wants_html():
        return render_template("ogc.html", title=title, document=document)
    return Response(json.dumps(document, ensure_ascii=False, default=str), mimetype=media, headers=headers)


def _link(endpoint: str, rel: str, media: str, title: str = "", **values) -> dict:
    return {"href": url_for(endpoint, _external=True, **values), "rel": rel, "type": media, "title": title}


@bp.get("/ogc/")
@public
def landing():
    return _answer(
        {
            "title": str(_("GridWatch")),
            "description": str(_("Grids, buildings and cases of the grid management service")),
            "links": [
                _link("ogc.landing", "self", "application/json", f="json"),
                _link("ogc.landing", "alternate", "text/html", f="html"),
                _link("ogc.conformance", "conformance", "application/json"),
                _link("ogc.collections", "data", "application/json"),
                _link("api.openapi", "service-desc", "application/vnd.oai.openapi+json;version=3.0"),
            ],
        },
        str(_("GridWatch")),
    )


@bp.get("/ogc/conformance")
@public
def conformance():
    return _answer({"conformsTo": CONFORMANCE}, str(_("Conformance")))


def _collection_json(collection_id: str, offered: list, bbox) -> dict:
    c = COLLECTIONS[collection_id]
    out = {
        "id": c.id,
        "title": str(c.title),
        "description": str(c.description),
        "itemType": "feature",
        "crs": [crs.uri for crs in offered],
        "storageCrs": CRS84,
        "links": [
            _link("ogc.collection_items", "items", GEOJSON, str(c.title), collection_id=c.id),
            _link("ogc.collection_items", "items", "text/html", str(c.title), collection_id=c.id, f="html"),
            _link("ogc.collection", "self", "application/json", collection_id=c.id),
        ],
    }
    if bbox:
        out["extent"] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
        if c.temporal:
            out["extent"]["temporal"] = {"interval": [[None, None]]}
    if collection_id in ("grids", "buildings", "reports"):
        out["links"].append(_link("ogc.tilejson", "tiles", "application/json", layer=collection_id))
    return out


@bp.get("/ogc/collections")
@public
def collections():
    offered, bbox = crs_list(reads()), extent(reads())
    return _answer(
        {
            "collections": [_collection_json(cid, offered, bbox) for cid in COLLECTIONS],
            "links": [_link("ogc.collections", "self", "application/json")],
            "crs": [crs.uri for crs in offered],
        },
        str(_("Collections")),
    )


@bp.get("/ogc/collections/<collection_id>")
@public
def collection(collection_id: str):
    find_collection(collection_id)  # NotFound, said as the domain says it
    c = _collection_json(collection_id, crs_list(reads()), extent(reads()))
    return _answer(c, c["title"])


def _limit() -> int:
    value = request.args.get("limit", str(DEFAULT_LIMIT))
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise Invalid(
            _("limit must be a whole number from 1 to %(most)s", most=MAX_LIMIT),
            fields={"limit": _("is out of range")},
        )
    return int(value)


def _cursor() -> int | None:
    value = request.args.get("cursor")
    if value is None:
        return None
    if not value.isdigit() or int(value) > 2**31:
        raise Invalid(_("cursor is the last id of the page before"), fields={"cursor": _("is not an id")})
    return int(value)


@bp.get("/ogc/collections/<collection_id>/items")
@public
def collection_items(collection_id: str):
    session = reads()
    offered = crs_list(session)
    crs = parse_crs(offered, request.args.get("crs"))
    bbox_crs = parse_crs(offered, request.args.get("bbox-crs"), "bbox-crs")
    bbox = parse_bbox(request.args["bbox"]) if request.args.get("bbox") else None
    if bbox is not None and bbox_crs.srid != 4326:  # parse_bbox clamps to degrees: projected ones stay whole
        bbox = tuple(float(v) for v in request.args["bbox"].split(","))
    limit = _limit()
    filters = {name: request.args.get(name) for name in FILTERS.get(collection_id, {})}
    page = items(
        session,
        collection_id,
        _viewer(),
        crs,
        bbox=bbox,
        bbox_crs=bbox_crs,
        limit=limit,
        after=_cursor(),
        datetime_=request.args.get("datetime"),
        filters=filters,
    )
    kept = {k: v for k, v in request.args.items() if k not in ("cursor", "f")}
    links = [
        {
            "href": url_for("ogc.collection_items", collection_id=collection_id, _external=True)
            + "?"
            + urlencode({**kept, "f": "json"}),
            "rel": "self",
            "type": GEOJSON,
        }
    ]
    if page.returned == limit and page.last_id is not None:
        links.append(
            {
                "href": url_for("ogc.collection_items", collection_id=collection_id, _external=True)
                + "?"
                + urlencode({**kept, "cursor": page.last_id}),
                "rel": "next",
                "type": GEOJSON,
            }
        )
    headers = {"Content-Crs": f"<{crs.uri}>"}
    features = _with_coverage(page.features) if collection_id == "coverage" else page.features
    if _wants_html():
        return render_template(
            "ogc.html",
            title=str(COLLECTIONS[collection_id].title),
            features=json.loads(page.features),
            links=links,
        )
    body = (
        '{"type": "FeatureCollection", "features": '
        + features
        + f', "numberReturned": {page.returned}, "links": {json.dumps(links)}}}'
    )
    return Response(body, mimetype=GEOJSON, headers=headers)


def _with_coverage(features: str) -> str:
    """The grids' features with their patrol coverage in ``datetime``'s window (the last 24 hours
    by default; coverage is for those logged in, as on /coverage)."""
    if not current_user.is_authenticated:
        raise Unauthorized(_("patrol coverage needs an API token (Authorization: Bearer)"))
    start, end = parse_datetime(request.args.get("datetime"))
    end = end or dt.datetime.now(dt.UTC)
    grids = json.loads(features)
    shares = {}
    if grids:
        window = Window(start or end - dt.timedelta(hours=24), end)
        shares = {
            g["code"]: g for g in grid_coverage(reads(), window, grid_ids=[f["id"] for f in grids]).grids
        }
    for f in grids:
        figures = shares.get(f["properties"]["code"], {})
        f["properties"].update(
            {k: figures.get(k) for k in ("area_share", "street_share", "minutes", "hours_since_visit")}
        )
        f["properties"]["last_visit"] = figures.get("last_visit") and figures["last_visit"].isoformat()
    return json.dumps(grids, ensure_ascii=False)


@bp.get("/ogc/collections/<collection_id>/items/<int:feature_id>")
@public
def collection_item(collection_id: str, feature_id: int):
    crs = parse_crs(crs_list(reads()), request.args.get("crs"))
    one = feature(reads(), collection_id, _viewer(), crs, feature_id)
    if collection_id == "coverage":
        one = _with_coverage(f"[{one}]")[1:-1]
    if _wants_html():
        return render_template(
            "ogc.html", title=f"{collection_id} {feature_id}", features=[json.loads(one)], links=[]
        )
    return Response(one, mimetype=GEOJSON, headers={"Content-Crs": f"<{crs.uri}>"})


@bp.get("/tiles/<layer>/<int:z>/<int:x>/<int:y>.pbf")
@public
def vector_tile(layer: str, z: int, x: int, y: int):
    data = tile(reads(), layer, z, x, y, _viewer())
    cache = "private, max-age=60" if layer == "reports" else "public, max-age=300"
    return Response(data, mimetype="application/vnd.mapbox-vector-tile", headers={"Cache-Control": cache})


def tile_url_template(layer: str, external: bool = False) -> str:
    """``/tiles/<layer>/{z}/{x}/{y}.pbf``, as TileJSON and Leaflet write a tile's address."""
    one = url_for("ogc.vector_tile", layer=layer, z=0, x=0, y=0, _external=external)
    return one.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")


@bp.get("/tiles/<layer>.json")
@public
def tilejson(layer: str):
    if layer not in TILE_LAYERS:
        tile(reads(), layer, 0, 0, 0, None)  # NotFound, said as the domain says it
    bbox = extent(reads()) or [-180, -85, 180, 85]
    template = tile_url_template(layer, external=True)
    return Response(
        json.dumps(
            {
                "tilejson": "3.0.0",
                "name": layer,
                "tiles": [template],
                "minzoom": tile_min_zoom(layer),
                "maxzoom": MAX_ZOOM,
                "bounds": bbox,
                "vector_layers": [
                    {"id": layer, "fields": tile_fields(layer), "minzoom": tile_min_zoom(layer)}
                ],
            }
        ),
        mimetype="application/json",
    )
