"""Several grid networks (多网合一, 一网运行): named layers laid over the main hierarchy.

Besides the district → street → community → grid tree, a community keeps other networks — party
grids (党建网格), security grids (治安网格) — each a layer of its own, imported with the checks the
main layer gets (the file read as planners' files arrive, broken polygons repaired, codes unique,
no two areas overlapping, none lying over an area kept), so every point and building belongs to
one area per network at most. Each area has its responsible people (a manager, a co-manager: a
party member who works with the building heads of the area's buildings).

The SQL here reads no case: the indicators per network area are those of gis/indicators.py
(``FIGURES``, ``figures_of``) counted over the reports the caller's scope lets it read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from gis.areas import topology
from gis.areas.geometry import check_polygon_layer
from gis.areas.importer import (
    CODE_FIELDS,
    NAME_FIELDS,
    ImportRefused,
    ImportResult,
    Progress,
    base_report,
    cell_text,
    copy_rows,
    ewkb,
    metric_crs_of,
    no_progress,
    pick_field,
    preview_geojson,
    usable_polygons,
)
from gis.areas.readers import read_dataset
from gis.cases.policy import Condition
from gis.errors import Invalid, NotFound
from gis.geojson import geojson_text
from gis.i18n import _, joined
from gis.indicators import FIGURES, count_columns, figures_of
from gis.models import Network, NetworkArea
from gis.privacy import MASK_TEXT

# the fields a file's responsible people are read from: (role, name fields, phone fields)
PEOPLE_FIELDS = {
    "manager": (("manager", "负责人", "网格长", "fzr"), ("manager_phone", "负责人电话", "电话", "dh")),
    "co_manager": (("co_manager", "协管员", "党员", "xgy"), ("co_manager_phone", "协管员电话")),
}
MAX_AREAS = 10_000  # a network's areas in one file


@dataclass
class NetworkPlan:
    network: str
    name: str
    rows: gpd.GeoDataFrame  # the kept rows (GeoDataFrame in EPSG:4326: code, name, area_m2, people)
    report: dict
    replace: bool
    preview: str


def _stored(session: Session, network_id: int | None, metric) -> gpd.GeoDataFrame:
    """The network's stored areas (code, geometry in ``metric``), to check the file against."""
    stored = gpd.read_postgis(
        text("SELECT code, geom FROM network_areas WHERE network_id = :n ORDER BY code"),
        session.connection(),
        params={"n": network_id or 0},
        geom_col="geom",
    )
    if len(stored) == 0:
        return gpd.GeoDataFrame({"code": []}, geometry=gpd.GeoSeries([], crs=metric))
    return stored.to_crs(metric)


def plan_network(
    session: Session,
    path: str | Path,
    network: str,
    *,
    network_name: str | None = None,
    code_field=None,
    name_field=None,
    crs=None,
    encoding=None,
    layer=None,
    replace: bool = False,
    progress: Progress = no_progress,
) -> NetworkPlan:
    """Read and check a network's layer against what is stored; only reads."""
    network = (network or "").strip().lower()
    if (
        not network
        or not all(c.isascii() and (c.isalnum() or c in "_-") for c in network)
        or len(network) > 20
    ):
        raise Invalid(
            _("a network's code is up to 20 letters, digits, '-' or '_' (e.g. party)"),
            fields={"network": _("is a short code")},
        )
    stored_network = session.scalar(select(Network).where(Network.code == network))
    name = (network_name or "").strip() or (stored_network.name if stored_network else network)
    progress(_("reading"), 0.0)
    dataset = read_dataset(path, layer=layer, crs=crs, encoding=encoding)
    check_polygon_layer(dataset.frame, _("network areas"))
    report = base_report(dataset, "network", None)
    report.update(network=network, network_name=name, replace=replace)
    frame = dataset.frame.to_crs(4326)
    if len(frame) > MAX_AREAS:
        raise Invalid(_("a network has at most %(count)s areas in one file", count=MAX_AREAS))
    metric = metric_crs_of(frame)
    code_col = pick_field(frame, code_field, CODE_FIELDS, "code")
    name_col = pick_field(frame, name_field, NAME_FIELDS, "name")
    people_cols = {
        role: (pick_field(frame, None, names, role), pick_field(frame, None, phones, role))
        for role, (names, phones) in PEOPLE_FIELDS.items()
    }
    report["fields"] = {"code": code_col, "name": name_col, **{r: c[0] for r, c in people_cols.items()}}
    ids = [cell_text(v) for v in frame[code_col]] if code_col else None
    progress(_("validating geometry"), 0.2)
    cleaned = usable_polygons(dataset, frame, metric, ids, report)
    rows = cleaned.reset_index(drop=True)
    rows["code"] = [cell_text(v) for v in rows[code_col]] if code_col else [str(i + 1) for i in cleaned.index]
    rows["name"] = [cell_text(v) for v in rows[name_col]] if name_col else None
    rows.loc[rows["name"].isna(), "name"] = rows.loc[rows["name"].isna(), "code"]
    rows["people"] = [
        [
            {"role": role, "name": cell_text(row[n]), "phone": cell_text(row[p]) if p else None}
            for role, (n, p) in people_cols.items()
            if n and cell_text(row[n])
        ]
        for _i, row in rows.iterrows()
    ]
    progress(_("checking topology"), 0.6)
    metric_rows = rows.to_crs(metric)
    metric_rows["parent_code"] = ""  # one network: every area a sibling of every other
    stored = _stored(session, stored_network.id if stored_network else None, metric)
    report["topology"] = {
        "overlaps": topology.overlaps(metric_rows),
        "duplicate_codes": topology.duplicate_codes(rows["code"]),
        "missing_codes": int(rows["code"].isna().sum()),
        "overlaps_stored": [] if replace else topology.overlaps_with(metric_rows, stored),
    }
    topo = report["topology"]
    if topo["missing_codes"]:
        report["errors"].append(_("%(count)s area(s) without a code", count=topo["missing_codes"]))
    if topo["duplicate_codes"]:
        report["errors"].append(
            _("duplicate codes in the file: %(codes)s", codes=", ".join(topo["duplicate_codes"][:20]))
        )
    if topo["overlaps"]:
        report["errors"].append(
            _(
                "%(count)s pair(s) of areas overlap (%(items)s): a point must lie in one area of a network",
                count=len(topo["overlaps"]),
                items=", ".join(f"{o['a']} × {o['b']} {o['area_m2']} m²" for o in topo["overlaps"][:10]),
            )
        )
    if topo["overlaps_stored"]:
        report["errors"].append(
            _(
                "%(count)s area(s) of the file lie over stored areas of the network (%(items)s): "
                "replace the whole layer (--replace)",
                count=len({o["code"] for o in topo["overlaps_stored"]}),
                items=", ".join(f"{o['code']} × {o['stored']}" for o in topo["overlaps_stored"][:10]),
            )
        )
    if not replace:
        taken = sorted(set(rows["code"].dropna()) & set(stored["code"]))
        if taken:
            report["errors"].append(
                _(
                    "%(count)s code(s) already in the network (use --replace to swap the layer): %(items)s",
                    count=len(taken),
                    items=", ".join(taken[:20]),
                )
            )
    report["features_kept"] = len(rows)
    preview = preview_geojson(rows, ["code", "name"])
    if report["errors"]:
        raise ImportRefused(
            _(
                "%(source)s cannot be imported: %(errors)s",
                source=dataset.source,
                errors=joined("; ", report["errors"]),
            ),
            report,
            preview=preview,
        )
    return NetworkPlan(network, name, rows, report, replace, preview)


def apply_network(session: Session, plan: NetworkPlan, progress: Progress = no_progress) -> ImportResult:
    """Write a checked layer in the caller's transaction: the network made or renamed, its areas
    added (or, with ``replace``, swapped whole), their responsible people."""
    progress(_("writing"), 0.7)
    network = session.scalar(select(Network).where(Network.code == plan.network).with_for_update())
    if network is None:
        network = Network(code=plan.network, name=plan.name)
        session.add(network)
    network.name = plan.name
    session.flush()
    if plan.replace:
        session.execute(delete(NetworkArea).where(NetworkArea.network_id == network.id))
    rows = plan.rows
    copy_rows(
        session,
        "network_areas",
        {"network_id": "int4", "code": "text", "name": "text", "geom": "bytea", "area_m2": "float8"},
        zip(
            [network.id] * len(rows), rows["code"], rows["name"], ewkb(rows.geometry.values), rows["area_m2"]
        ),
    )
    ids: dict[str, int] = dict(
        session.execute(
            text("SELECT code, id FROM network_areas WHERE network_id = :n"), {"n": network.id}
        ).all()
    )
    people = [
        (ids[code], p["role"], p["name"], p["phone"])
        for code, listed in zip(rows["code"], rows["people"])
        for p in listed
    ]
    copy_rows(
        session,
        "network_area_people",
        {"area_id": "int4", "role": "text", "name": "text", "phone": "text"},
        people,
    )
    plan.report["written"] = len(rows)
    progress(_("done"), 1.0)
    return ImportResult(report=plan.report, written=len(rows), preview=plan.preview)


def import_network(
    session: Session, path: str | Path, network: str, progress: Progress = no_progress, **options
):
    """A network's layer checked and written whole or not at all."""
    return apply_network(
        session, plan_network(session, path, network, progress=progress, **options), progress
    )


# -- reading ---------------------------------------------------------------------------------------
def networks(session: Session) -> list[dict]:
    """Every network with its count of areas, by code."""
    rows = session.execute(
        text(
            """SELECT n.code, n.name, count(a.id) AS areas FROM networks n
               LEFT JOIN network_areas a ON a.network_id = n.id GROUP BY n.id ORDER BY n.code"""
        )
    ).mappings()
    return [dict(r) for r in rows]


def network_named(session: Session, code: str) -> Network:
    network = session.scalar(select(Network).where(Network.code == code))
    if network is None:
        raise NotFound(_("no network %(code)s", code=code))
    return network


# The area of each network holding a point (a report's, a building's centre): one row a network.
AREAS_AT_SQL = """
    SELECT n.code AS network, n.name AS network_name, a.id, a.code, a.name
    FROM networks n
    LEFT JOIN LATERAL (
        SELECT a.id, a.code, a.name FROM network_areas a
        WHERE a.network_id = n.id AND ST_Covers(a.geom, {point})
        ORDER BY a.code LIMIT 1) a ON true
    ORDER BY n.code
"""


def _people_of(session: Session, area_ids: list[int], unmasked: bool) -> dict[int, list[dict]]:
    phone = "p.phone" if unmasked else f"{MASK_TEXT}(p.phone)"
    rows = session.execute(
        text(
            f"""SELECT p.area_id, p.role, p.name, {phone} AS phone FROM network_area_people p
                WHERE p.area_id = ANY(CAST(:ids AS int[])) ORDER BY p.area_id, p.role, p.id"""
        ),
        {"ids": area_ids},
    ).mappings()
    out: dict[int, list[dict]] = {}
    for r in rows:
        out.setdefault(r["area_id"], []).append({"role": r["role"], "name": r["name"], "phone": r["phone"]})
    return out


def areas_at(session: Session, lon: float, lat: float, unmasked: bool = False) -> list[dict]:
    """The area of every network holding (lon, lat), with its responsible people (their phones
    masked unless ``unmasked``): what a report's and a building's page show."""
    rows = (
        session.execute(
            text(AREAS_AT_SQL.format(point="ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)")),
            {"lon": lon, "lat": lat},
        )
        .mappings()
        .all()
    )
    people = _people_of(session, [r["id"] for r in rows if r["id"]], unmasked)
    return [{**dict(r), "people": people.get(r["id"], [])} for r in rows]


def building_areas(session: Session, building_id: int, unmasked: bool = False) -> list[dict]:
    """The area of every network holding a building (its footprint's inner point)."""
    point = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p)"
            " FROM (SELECT ST_PointOnSurface(geom) AS p FROM buildings WHERE id = :id) b"
        ),
        {"id": building_id},
    ).first()
    if point is None:
        raise NotFound(_("no building %(id)s", id=building_id))
    return areas_at(session, point[0], point[1], unmasked)


def network_geojson(session: Session, code: str, bbox: tuple[float, float, float, float]) -> str:
    """A network's areas in a viewport: code, name, their people's names and roles (no phones)."""
    network = network_named(session, code)
    minx, miny, maxx, maxy = bbox
    return geojson_text(
        session,
        """SELECT json_build_object('type', 'FeatureCollection', 'network', CAST(:code AS text), 'features',
                COALESCE(json_agg(json_build_object('type', 'Feature', 'id', a.id,
                    'geometry', ST_AsGeoJSON(a.geom, 6)::json,
                    'properties', json_build_object('code', a.code, 'name', a.name,
                        'people', (SELECT COALESCE(json_agg(json_build_object('role', p.role, 'name', p.name)
                                                            ORDER BY p.role, p.id), '[]'::json)
                                   FROM network_area_people p WHERE p.area_id = a.id)))
                    ORDER BY a.code), '[]'::json))
            FROM network_areas a
            WHERE a.network_id = :network AND a.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)""",
        {"code": code, "network": network.id, "minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy},
    )


def network_indicators(
    session: Session, code: str, scope: Condition, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> list[dict]:
    """The indicators (gis/indicators.py's figures) of each area of a network, for the reports
    created in [start, end) that ``scope`` (the policy's ``visible_to`` on ``r``) lets the asker
    read; with its responsible people's names and how many buildings and building or unit heads
    it holds (the heads its co-manager works with: counts, no person)."""
    network = network_named(session, code)
    rows = (
        session.execute(
            text(
                f"""SELECT a.id, a.code, a.name, c.*, h.buildings, h.heads
                FROM network_areas a CROSS JOIN LATERAL (
                    SELECT {count_columns(FIGURES.items())} FROM reports r
                    WHERE r.geom && a.geom AND ST_Covers(a.geom, r.geom)
                      AND r.created_at >= :start AND r.created_at < :end AND {scope.sql}) c
                CROSS JOIN LATERAL (
                    SELECT count(DISTINCT b.id) AS buildings, count(p.id) AS heads
                    FROM buildings b LEFT JOIN people p ON p.building_id = b.id
                        AND p.kind IN ('building_head', 'unit_head') AND p.erased_at IS NULL
                    WHERE b.geom && a.geom AND ST_Covers(a.geom, ST_PointOnSurface(b.geom))) h
                WHERE a.network_id = :network
                ORDER BY a.code"""
            ),
            {**scope.params, "network": network.id, "start": start, "end": end, "now": now},
        )
        .mappings()
        .all()
    )
    people = _people_of(session, [r["id"] for r in rows], unmasked=False)
    return [
        {
            "code": r["code"],
            "name": r["name"],
            "people": [{"role": p["role"], "name": p["name"]} for p in people.get(r["id"], [])],
            "buildings": r["buildings"],
            "heads": r["heads"],
            **figures_of(r),
        }
        for r in rows
    ]
