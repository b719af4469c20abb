"""GridWatch's layers as OGC API – Features collections (Part 1 Core, Part 2 CRS) and as vector
tiles: the areas of each level, buildings and reports, read by QGIS and GDAL.

Each page of features is one statement whose features PostgreSQL writes as JSON (as the map's
layers are); reports pass the access policy exactly as on the map (``visible_to``, the text masked
where the reader does not handle the case; anonymous readers: ``public_cases`` only). Coordinates
come in CRS84 (lon, lat), CGCS2000 (EPSG:4490, lat, lon) or the district's CGCS2000 3-degree
Gauss-Krüger zone (EPSG:4534–4554, northing, easting): each in its own axis order, as Part 2 says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.accounts import Viewer
from gis.cases.policy import handled_by, public_cases, visible_to
from gis.errors import Invalid, NotFound
from gis.geojson import MAP_QUERY_SETTINGS
from gis.i18n import Message, _
from gis.models import LEVEL_NAMES
from gis.privacy import MASK_TEXT

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CGCS2000 = 4490
GK_FIRST, GK_LAST = 4534, 4554  # CGCS2000 / 3-degree Gauss-Kruger CM 75E … CM 135E
DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
TILE_EXTENT, TILE_BUFFER = 4096, 64
MAX_TILE_FEATURES = 15_000  # a tile stays under 500 KB (bench/ogc.py: 20,000 reports made 592 KB)


@dataclass(frozen=True)
class Crs:
    srid: int
    uri: str
    flip: bool  # its first axis is north (latitude, northing)
    digits: int  # decimals: 1 mm or better

    def geometry(self, column: str) -> str:
        """``column`` (EPSG:4326) as this CRS's GeoJSON geometry."""
        g = column if self.srid == 4326 else f"ST_Transform({column}, {self.srid})"
        return f"ST_AsGeoJSON({'ST_FlipCoordinates(' + g + ')' if self.flip else g}, {self.digits})::json"


def gauss_kruger_zone(lon: float) -> int:
    """The EPSG code of the CGCS2000 3-degree Gauss-Krüger zone (central meridian) holding ``lon``."""
    return min(GK_LAST, max(GK_FIRST, GK_FIRST + round((lon - 75) / 3)))


def crs_list(session: Session) -> list[Crs]:
    """CRS84, CGCS2000 and the Gauss-Krüger zone of the district (its centre's)."""
    lon = session.scalar(
        text("SELECT ST_X(ST_Centroid(ST_Extent(geom))) FROM areas WHERE level = 'district'")
    )
    zone = gauss_kruger_zone(lon if lon is not None else 117.0)
    return [
        Crs(4326, CRS84, False, 8),
        Crs(CGCS2000, f"{EPSG}{CGCS2000}", True, 8),
        Crs(zone, f"{EPSG}{zone}", True, 3),
    ]


def parse_crs(offered: list[Crs], value: str | None, name: str = "crs") -> Crs:
    """A ``crs`` or ``bbox-crs`` argument (a URI, a CURIE ``[EPSG:4490]`` or ``EPSG:4490``) as one
    of the ``offered`` CRSs (``crs_list``); CRS84 when absent."""
    if not value:
        return offered[0]
    wanted = value.strip().strip("[]")
    for crs in offered:
        if wanted in (crs.uri, f"EPSG:{crs.srid}") or (crs.srid == 4326 and wanted in ("OGC:CRS84", "CRS84")):
            return crs
    raise Invalid(
        _("%(name)s must be one of %(items)s", name=name, items=", ".join(c.uri for c in offered)),
        fields={name: _("is not offered")},
    )


@dataclass(frozen=True)
class Collection:
    id: str
    title: Message
    description: Message
    source: str  # FROM … (the row ``t``, its geometry ``t.geom``)
    where: str  # a condition on ``t``
    properties: str  # json_build_object's arguments
    temporal: bool = False


AREA_PROPERTIES = (
    "'code', t.code, 'name', t.name, 'level', t.level, 'parent_code', p.code, 'area_m2', t.area_m2"
)
COLLECTIONS = {
    **{
        plural: Collection(
            plural,
            title,
            _("the %(level)s polygons, with their codes (CJ/T 213) and parents", level=LEVEL_NAMES[level]),
            "areas t LEFT JOIN areas p ON p.id = t.parent_id",
            f"t.level = '{level}'",
            AREA_PROPERTIES,
        )
        for level, plural, title in (
            ("district", "districts", _("districts")),
            ("street", "streets", _("streets")),
            ("community", "communities", _("communities")),
            ("grid", "grids", _("grids")),
        )
    },
    "buildings": Collection(
        "buildings",
        _("buildings"),
        _("building footprints, their grid, floors and households"),
        "buildings t LEFT JOIN areas g ON g.id = t.grid_id",
        "true",
        "'name', t.name, 'floors', t.floors, 'households', t.households, 'grid', g.code",
    ),
    # the grids with their patrol coverage in a window (``datetime``, default the last 24 hours):
    # its features are the grids', its figures gis.patrols.coverage's (app/ogc.py puts them together)
    "coverage": Collection(
        "coverage",
        _("patrol coverage"),
        _("each grid's share of area and streets patrolled, minutes and last visit in the window"),
        "areas t LEFT JOIN areas p ON p.id = t.parent_id",
        "t.level = 'grid'",
        AREA_PROPERTIES,
        temporal=True,
    ),
    "reports": Collection(
        "reports",
        _("reports"),
        _("the cases the reader may open (public ones for everyone), their status and place"),
        "reports t LEFT JOIN areas g ON g.id = t.grid_id",
        "true",
        "'id', t.id, 'status', t.status, 'category', t.category_code, 'channel', t.channel, 'grid', g.code,"
        " 'created_at', t.created_at, 'deadline_at', t.deadline_at, 'closed_at', t.closed_at,"
        " 'description', {description}",
        temporal=True,
    ),
}
# property filters, as SQL on ``t``: a condition only for a filter given
FILTERS = {
    "reports": {
        "status": "t.status = :f_status",
        "category": "t.category_code LIKE :f_category || '%'",
        "grid": "g.code LIKE :f_grid || '%'",
    },
    **{
        c: {"code": "t.code LIKE :f_code || '%'"}
        for c in ("districts", "streets", "communities", "grids", "coverage")
    },
    "buildings": {"grid": "g.code LIKE :f_grid || '%'"},
}


def collection(collection_id: str) -> Collection:
    if collection_id not in COLLECTIONS:
        raise NotFound(_("no collection %(id)s", id=collection_id))
    return COLLECTIONS[collection_id]


def _scope(c: Collection, viewer: Viewer | None) -> tuple[str, str, dict]:
    """The collection's condition for ``viewer`` and its properties (reports: the policy's scope,
    the text masked outside the handlers; anonymous: public cases, masked)."""
    if c.id != "reports":
        return c.where, c.properties, {}
    if viewer is None:
        scope = public_cases("t")
        return scope.sql, c.properties.format(description=f"{MASK_TEXT}(t.description)"), {}
    scope, handled = visible_to(viewer, "t"), handled_by(viewer, "t")
    description = (
        "t.description"
        if handled.everything
        else f"CASE WHEN {handled.sql} THEN t.description ELSE {MASK_TEXT}(t.description) END"
    )
    return scope.sql, c.properties.format(description=description), {**scope.params, **handled.params}


def parse_datetime(value: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """An instant or an interval (``a/b``, ``../b``, ``a/..``) of RFC 3339 times or dates."""
    if not value:
        return None, None

    def one(part: str) -> dt.datetime | None:
        part = part.strip()
        if part in ("", ".."):
            return None
        try:
            moment = dt.datetime.fromisoformat(part.replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(
                _("datetime must be a time like 2026-11-01T00:00:00Z or an interval a/b"),
                fields={"datetime": _("is not a time")},
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)

    if "/" in value:
        start, end = value.split("/", 1)
        return one(start), one(end)
    instant = one(value)
    return instant, instant


def _bbox_condition(bbox, bbox_crs: Crs) -> tuple[str, dict]:
    a, b, c, d = bbox
    if bbox_crs.flip:  # given in the CRS's own axis order: north first
        a, b, c, d = b, a, d, c
    if not (a < c and b < d):
        raise Invalid(_("bbox must be min, min, max, max with min < max"), fields={"bbox": _("is empty")})
    envelope = f"ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, {bbox_crs.srid})"
    if bbox_crs.srid != 4326:
        envelope = f"ST_Transform({envelope}, 4326)"
    return f"t.geom && {envelope}", {"bx0": a, "by0": b, "bx1": c, "by1": d}


@dataclass(frozen=True)
class Page:
    features: str  # a JSON array, as PostgreSQL wrote it
    returned: int
    last_id: int | None


def items(
    session: Session,
    collection_id: str,
    viewer: Viewer | None,
    crs: Crs,
    bbox=None,
    bbox_crs: Crs | None = None,
    limit: int = DEFAULT_LIMIT,
    after: int | None = None,
    datetime_: str | None = None,
    filters: dict | None = None,
    feature_id: int | None = None,
) -> Page:
    """A page of ``collection_id``'s features in ``crs``, by id (``after``: the last id of the page
    before), within ``bbox`` (in ``bbox_crs``), ``datetime`` (reports: created then) and
    ``filters``."""
    c = collection(collection_id)
    where, properties, params = _scope(c, viewer)
    conditions = [where]
    if bbox is not None:
        condition, bbox_params = _bbox_condition(bbox, bbox_crs or crs_list(session)[0])
        conditions.append(condition)
        params.update(bbox_params)
    if datetime_ and c.id != "coverage":  # coverage's window is its figures', not its rows'
        if not c.temporal:
            raise Invalid(_("%(id)s has no time", id=c.id), fields={"datetime": _("not for this collection")})
        for (name, operator), moment in zip(
            (("dt_start", ">="), ("dt_end", "<=")), parse_datetime(datetime_)
        ):
            if moment is not None:
                conditions.append(f"t.created_at {operator} :{name}")
                params[name] = moment
    for name, value in (filters or {}).items():
        if value not in (None, "") and name in FILTERS.get(c.id, {}):
            conditions.append(FILTERS[c.id][name])
            params[f"f_{name}"] = value
    if feature_id is not None:
        conditions.append("t.id = :feature_id")
        params["feature_id"] = feature_id
    if after is not None:
        conditions.append("t.id > :after")
        params["after"] = after
    # The page's ids first, its JSON then (written for its rows only, not for every row sorted).
    # Within a box the page is the box's rows sorted (``t.id + 0``: not a walk of the id index
    # that filters by the box — 121 ms for a view at zoom 15 over 1,000,000 reports, against the
    # GiST's few thousand rows); without one, the id index's range after the cursor.
    order = "t.id + 0" if bbox is not None else "t.id"
    session.execute(MAP_QUERY_SETTINGS)
    row = session.execute(
        text(
            f"""SELECT CAST(COALESCE(json_agg(json_build_object('type', 'Feature', 'id', s.id,
                    'geometry', s.geometry, 'properties', s.properties) ORDER BY s.id), '[]'::json) AS text),
                count(*), max(s.id)
            FROM (SELECT t.id, {crs.geometry("t.geom")} AS geometry,
                         json_build_object({properties}) AS properties
                  FROM {c.source} JOIN (SELECT t.id FROM {c.source} WHERE {" AND ".join(conditions)}
                                        ORDER BY {order} LIMIT :limit) page ON page.id = t.id) s"""
        ),
        {**params, "limit": max(1, min(limit, MAX_LIMIT))},
    ).one()
    return Page(row[0], row[1], row[2])


def feature(session: Session, collection_id: str, viewer: Viewer | None, crs: Crs, feature_id: int) -> str:
    """One feature as GeoJSON text (NotFound outside the reader's scope, as for none)."""
    page = items(session, collection_id, viewer, crs, limit=1, feature_id=feature_id)
    if not page.returned:
        raise NotFound(_("no feature %(id)s in %(collection)s", id=feature_id, collection=collection_id))
    return page.features[1:-1]


def extent(session: Session) -> list[float] | None:
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
            " FROM (SELECT ST_Extent(geom) e FROM areas) s"
        )
    ).one()
    return None if row[0] is None else [float(v) for v in row]


# -- vector tiles -------------------------------------------------------------------------------------
TILE_LAYERS = {  # source, condition, columns, first zoom, the columns' TileJSON types
    "grids": ("areas t", "t.level = 'grid'", "t.code, t.name", 8, {"code": "String", "name": "String"}),
    "buildings": (
        "buildings t",
        "true",
        "t.name, t.floors, t.households",
        14,
        {"name": "String", "floors": "Number", "households": "Number"},
    ),
    # reports from zoom 14 (a tile of about 120 grids): below it a city's cases are counts, not
    # points (the map's bubbles), and a tile of them would pass 500 KB
    "reports": (
        "reports t",
        "true",
        "t.status, t.category_code AS category",
        14,
        {"status": "String", "category": "String"},
    ),
}
MAX_ZOOM = 20


def tile(session: Session, layer: str, z: int, x: int, y: int, viewer: Viewer | None) -> bytes:
    """One Mapbox vector tile of ``layer`` (ST_AsMVT): empty below the layer's first zoom; reports
    scoped by the policy (anonymous: public ones)."""
    if layer not in TILE_LAYERS:
        raise NotFound(_("no tile layer %(layer)s", layer=layer))
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound(_("no tile %(z)s/%(x)s/%(y)s", z=z, x=x, y=y))
    source, where, columns, min_zoom, _fields = TILE_LAYERS[layer]
    if z < min_zoom:
        return b""
    params: dict = {
        "z": z,
        "x": x,
        "y": y,
        "extent": TILE_EXTENT,
        "buffer": TILE_BUFFER,
        "most": MAX_TILE_FEATURES,
    }
    if layer == "reports":
        scope = public_cases("t") if viewer is None else visible_to(viewer, "t")
        where, params = scope.sql, {**params, **scope.params}
    data = session.scalar(
        text(
            f"""WITH b AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e)
            SELECT ST_AsMVT(m, :layer, :extent, 'geom', 'fid') FROM (
                SELECT t.id AS fid, t.id, {columns},
                       ST_AsMVTGeom(ST_Transform(t.geom, 3857), b.e, :extent, :buffer, true) AS geom
                FROM {source}, b
                WHERE t.geom && ST_Transform(b.e, 4326) AND {where}
                LIMIT :most) m"""
        ),
        {**params, "layer": layer},
    )
    return bytes(data or b"")


def tile_fields(layer: str) -> dict[str, str]:
    return {"id": "Number", **TILE_LAYERS[layer][4]}


def tile_min_zoom(layer: str) -> int:
    return TILE_LAYERS[layer][3]
