"""Importing area layers (district/street/community/grid) and buildings, atomically.

Everything happens in the caller's transaction: the CLI commits once at the end, a dry run rolls
back, and any refusal raises ``ImportRefused`` carrying the full validation report — so a failed
import writes nothing. Rows go in with COPY, never one ORM object per feature.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.areas import hierarchy, topology
from gis.areas.crs import local_metric_crs
from gis.areas.geometry import check_polygon_layer, clean_polygons, off_earth
from gis.areas.readers import read_dataset
from gis.assignment import GridIndex
from gis.cases.lifecycle import regrid, relink_buildings
from gis.errors import Invalid
from gis.i18n import Words, _, joined
from gis.models import AREA_LEVELS, CODE_LENGTH, LEVEL_NAMES, ImportBatch
from gis.patrols.coverage import forget_stored_reach

Progress = Callable[[Words, float], None]
CODE_FIELDS = ("code", "grid_code", "wgbm", "bm", "dm", "编码", "网格编码", "代码")
NAME_FIELDS = ("name", "mc", "grid_name", "wgmc", "名称", "网格名称")
PARENT_FIELDS = ("parent", "parent_code", "sqbm", "上级编码")


class ImportRefused(Invalid):
    """The file cannot be imported as it is; ``report`` says every reason."""

    def __init__(self, message: Words, report: dict, preview: str | None = None):
        super().__init__(message, report=report)
        self.report = report
        self.preview = preview  # the file over the stored layer, when it got that far


PREVIEW_LIMIT = 3000


@dataclass
class ImportResult:
    report: dict
    batch_id: int | None = None
    written: int = 0
    reassigned: dict = field(default_factory=dict)
    preview: str | None = None  # GeoJSON of (up to PREVIEW_LIMIT) kept features, for the map


def checked(plan) -> ImportResult:
    """What a check answers: the plan's report and preview, nothing written."""
    return ImportResult(report={**plan.report, "written": 0}, preview=plan.preview)


def read_code_map(path: str | Path) -> dict[str, str]:
    """A CSV of file code,code (a header row is allowed) for --code-map: codes a file carries that
    are not the standard ones (a district numbered 1–5 instead of its GB/T 2260 code)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            pairs = [row for row in csv.reader(f) if len(row) >= 2 and row[0].strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(
            _("cannot read the code map %(path)s: %(error)s", path=str(path), error=str(exc))
        ) from None
    mapping = {a.strip(): b.strip() for a, b, *_rest in pairs if b.strip().isdigit()}
    if not mapping:
        raise Invalid(_("the code map %(path)s has no line of file code,code", path=str(path)))
    return mapping


def preview_geojson(frame: gpd.GeoDataFrame, columns: list[str]) -> str:
    sample = frame.iloc[:PREVIEW_LIMIT]
    keep = [c for c in columns if c in sample.columns]
    return sample[[*keep, sample.geometry.name]].to_json(drop_id=True, to_wgs84=False)


def no_progress(stage: Words, fraction: float) -> None:
    pass


def pick_field(frame, wanted: str | None, candidates, what: str) -> str | None:
    columns = {c.lower(): c for c in frame.columns if c != frame.geometry.name}
    if wanted:
        if wanted not in frame.columns:
            raise Invalid(
                _(
                    "no field %(wanted)s for the %(what)s (fields: %(items)s)",
                    wanted=repr(wanted),
                    what=what,
                    items=", ".join(columns.values()),
                )
            )
        return wanted
    for name in candidates:
        if name.lower() in columns:
            return columns[name.lower()]
    return None


def cell_text(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    value = str(value).strip()
    return value or None


def base_report(dataset, kind: str, level: str | None) -> dict:
    return {
        "file": dataset.source,
        "layer": dataset.layer,
        "kind": kind,
        "level": level,
        "features_read": len(dataset.frame),
        "crs": dataset.crs,
        "crs_assumed": dataset.crs_assumed,
        "encoding": dataset.encoding,
        "encoding_source": dataset.encoding_source,
        "warnings": list(dataset.warnings),
        "columns": [c for c in dataset.frame.columns if c != dataset.frame.geometry.name],
        "errors": [],
        "repaired": [],
        "rejected": [],
    }


def metric_crs_of(frame: gpd.GeoDataFrame):
    """The local metric CRS a layer in EPSG:4326 is measured in (areas, overlaps, gaps)."""
    lon, lat = shapely.centroid(shapely.union_all(frame.geometry.envelope.values)).coords[0]
    return local_metric_crs(lon, lat)


def usable_polygons(dataset, frame: gpd.GeoDataFrame, metric, ids, report: dict) -> gpd.GeoDataFrame:
    """A polygon layer's rows that can go in (broken ones repaired, unusable ones rejected: both
    in ``report``); the file is refused when none is left."""
    cleaned, cleaning = clean_polygons(frame, metric, ids)
    report["repaired"], report["rejected"] = cleaning.repaired, cleaning.rejected
    if len(cleaned) == 0:
        raise ImportRefused(
            _(
                "%(source)s: no usable polygon (all %(count)s rejected)",
                source=dataset.source,
                count=len(frame),
            ),
            report,
        )
    return cleaned


def copy_rows(session: Session, table: str, columns: dict[str, str], rows) -> int:
    """COPY ``rows`` into ``table`` on the session's own connection (same transaction), in
    PostgreSQL's binary format: ``columns`` maps each column to the type its values are sent as
    (geometry goes as EWKB ``bytes``: see ``ewkb``), no text to write or parse."""
    raw: Any = session.connection().connection.dbapi_connection  # psycopg's, with COPY
    return _copy(raw, table, columns, rows)


def _copy(raw, table: str, columns: dict[str, str], rows) -> int:
    """COPY ``rows`` into ``table`` on a psycopg connection."""
    count = 0
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT binary)") as copy,
    ):
        copy.set_types([("bytea" if kind == "geometry" else kind) for kind in columns.values()])
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def ewkb(geoms) -> np.ndarray:
    """EWKB with SRID 4326: what a binary COPY hands straight to a geometry column."""
    return shapely.to_wkb(shapely.set_srid(geoms, 4326), include_srid=True)


# -- areas ------------------------------------------------------------------------------------
@dataclass
class AreaPlan:
    """An area layer read, validated and compared with what is stored — nothing written yet.
    ``plan_areas`` makes it (the web check and ``--dry-run`` stop there), ``apply_areas`` writes it."""

    level: str
    parent_level: str | None
    rows: gpd.GeoDataFrame  # EPSG:4326: row, code, name, parent_code, parent_id, area_m2
    report: dict
    replace: bool
    preview: str | None = None
    built: gpd.GeoDataFrame | None = None  # the levels above, dissolved from the grids' codes


def plan_areas(
    session: Session,
    path: str | Path,
    level: str,
    *,
    code_field=None,
    name_field=None,
    parent_field=None,
    crs=None,
    encoding=None,
    layer=None,
    replace: bool = False,
    allow_overlap: bool = False,
    code_map: dict[str, str] | None = None,
    district_code: str | None = None,
    build_hierarchy: bool = False,
    progress: Progress = no_progress,
) -> AreaPlan:
    """Read, validate and compare an area layer with the stored one; refuse (``ImportRefused``,
    with the whole report) what cannot go in. Only reads: no lock, no DDL, nothing written."""
    if level not in AREA_LEVELS:
        raise Invalid(_("level must be one of %(items)s", items=", ".join(AREA_LEVELS)))
    progress(_("reading"), 0.0)
    dataset = read_dataset(path, layer=layer, crs=crs, encoding=encoding)
    check_polygon_layer(dataset.frame, _("%(level)s areas", level=LEVEL_NAMES[level]))
    report = base_report(dataset, "areas", level)
    report["replace"] = replace
    frame = dataset.frame.to_crs(4326)
    metric = metric_crs_of(frame)

    code_col = pick_field(frame, code_field, CODE_FIELDS, "code")
    name_col = pick_field(frame, name_field, NAME_FIELDS, "name")
    parent_col = pick_field(frame, parent_field, PARENT_FIELDS if parent_field else (), "parent")
    report["fields"] = {"code": code_col, "name": name_col, "parent": parent_col}
    ids = [cell_text(v) for v in frame[code_col]] if code_col else None

    progress(_("validating geometry"), 0.2)
    cleaned = usable_polygons(dataset, frame, metric, ids, report)
    rows = cleaned.reset_index(drop=True)
    rows["row"] = [int(i) + 1 for i in cleaned.index]
    rows["name"] = [cell_text(v) for v in rows[name_col]] if name_col else None
    file_codes = _file_codes(rows, code_col, code_map, district_code, level, report)
    if parent_col and code_map:
        rows[parent_col] = [code_map.get(c, c) if c else c for c in (cell_text(v) for v in rows[parent_col])]

    progress(_("finding parents"), 0.4)
    parent_level = AREA_LEVELS[AREA_LEVELS.index(level) - 1] if level != "district" else None
    built = (
        None
        if parent_col and not build_hierarchy  # the file names its parents: they must be stored
        else _hierarchy_from_codes(session, rows, level, file_codes, metric, build_hierarchy, report)
    )
    if built is None:
        parents = _parents(session, rows, parent_level, parent_col, metric, report)
    else:
        parents = _built_parents(session, rows, built, file_codes)
    metric_rows = rows.to_crs(metric)

    progress(_("assigning codes"), 0.5)
    _assign_codes(session, rows, metric_rows, level, file_codes, replace, report)
    if rows["name"].isna().any():
        rows.loc[rows["name"].isna(), "name"] = [
            hierarchy.name_from_code(level, c) for c in rows.loc[rows["name"].isna(), "code"]
        ]

    progress(_("checking topology"), 0.6)
    metric_rows["code"] = rows["code"]
    metric_rows["parent_code"] = rows["parent_code"]
    parent_shapes = dict(zip(parents["code"], parents.to_crs(metric).geometry)) if parents is not None else {}
    stored = _stored_layer(session, level, metric)
    report["topology"] = {
        "overlaps": topology.overlaps(metric_rows),
        "gaps": topology.gaps(metric_rows, parent_shapes),
        "outside_parent": topology.outside_parent(metric_rows, parent_shapes),
        "duplicate_codes": topology.duplicate_codes(rows["code"]),
        # a layer that is added to (not replacing) must not lie over what stays
        "overlaps_stored": [] if replace else topology.overlaps_with(metric_rows, stored),
    }
    found = topology.diff(metric_rows, stored, replace)
    report["diff"] = topology.diff_summary(found)
    if report["topology"]["duplicate_codes"]:
        report["errors"].append(
            _(
                "duplicate codes in the file: %(codes)s",
                codes=", ".join(report["topology"]["duplicate_codes"][:20]),
            )
        )
    if report["topology"]["overlaps_stored"] and not allow_overlap:
        over = report["topology"]["overlaps_stored"]
        report["errors"].append(
            _(
                "%(count)s area(s) of the file lie over stored %(level)s areas (%(items)s): grids must "
                "not overlap. Replace the whole layer (--replace), or import anyway (--allow-overlap)",
                count=len({o["code"] for o in over}),
                level=LEVEL_NAMES[level],
                items=", ".join(f"{o['code']} × {o['stored']} {o['area_m2']} m²" for o in over[:10]),
            )
        )
    if not replace:
        taken = sorted(set(rows["code"]) & set(stored["code"]))
        if taken:
            report["errors"].append(
                _(
                    "%(count)s code(s) already in the database (use --replace to swap the layer): %(items)s",
                    count=len(taken),
                    items=", ".join(taken[:20]),
                )
            )
    report["features_kept"] = len(rows)
    preview = _diff_preview(rows, stored, found)
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
    return AreaPlan(level, parent_level, rows, report, replace, preview, built)


def apply_areas(
    session: Session,
    plan: AreaPlan,
    *,
    user_id: int | None = None,
    nearest_grid_m: float = 50,
    progress: Progress = no_progress,
) -> ImportResult:
    """Write a planned layer in the caller's transaction, keeping what it replaces or moves so
    that ``gis.areas.undo`` can put it back; with ``replace`` reports move to the new grids by
    intake's rule (``nearest_grid_m``: the configured NEAREST_GRID_M)."""
    progress(_("writing"), 0.7)
    result = _write_areas(
        session,
        plan.rows,
        plan.level,
        plan.parent_level,
        plan.replace,
        plan.report,
        user_id,
        nearest_grid_m,
        plan.built,
    )
    result.preview = plan.preview
    progress(_("done"), 1.0)
    return result


def import_areas(
    session: Session,
    path: str | Path,
    level: str,
    *,
    user_id: int | None = None,
    progress: Progress = no_progress,
    nearest_grid_m: float = 50,
    **options,
) -> ImportResult:
    """An area layer, checked and written whole or not at all (``plan_areas`` then ``apply_areas``)."""
    plan = plan_areas(session, path, level, progress=progress, **options)
    return apply_areas(session, plan, user_id=user_id, nearest_grid_m=nearest_grid_m, progress=progress)


def _hierarchy_from_codes(session, rows, level, file_codes, metric, build, report) -> gpd.GeoDataFrame | None:
    """For a grid layer whose 15-digit codes name their parents, when communities are missing (or
    the planner asked): the levels above, dissolved from the grids (``gis.areas.hierarchy``). The
    check says what would be built and the planner agrees with ``build_hierarchy``."""
    if level != "grid" or not hierarchy.codes_name_their_parents(file_codes):
        return None
    stored = set(session.scalars(text("SELECT code FROM areas WHERE level <> 'grid'")))
    missing = {c[: CODE_LENGTH["community"]] for c in file_codes} - stored
    if not missing:
        return None
    built = hierarchy.dissolved(rows.assign(code=file_codes), metric, stored)
    report["hierarchy"] = hierarchy.summary(built)
    if not build:
        raise ImportRefused(
            _(
                "%(count)s communities of the grids' codes are not stored: the 15-digit codes name "
                "%(communities)s communities, %(streets)s streets and %(districts)s districts to build "
                "from the grids — agree with --build-hierarchy (the page's box), or import those "
                "levels first",
                count=len(missing),
                communities=report["hierarchy"]["community"],
                streets=report["hierarchy"]["street"],
                districts=report["hierarchy"]["district"],
            ),
            report,
        )
    return built


def _built_parents(session, rows, built, file_codes) -> gpd.GeoDataFrame:
    """The grids' communities when the levels above are built from their codes: the stored ones
    they name (with their ids) and the built ones (ids once written)."""
    rows["parent_code"] = [c[: CODE_LENGTH["community"]] for c in file_codes]
    stored = gpd.read_postgis(
        text("SELECT id, code, geom FROM areas WHERE level = 'community' AND code = ANY(:codes)"),
        session.connection(),
        params={"codes": sorted(set(rows["parent_code"]))},
        geom_col="geom",
    )
    by_code = dict(zip(stored["code"], stored["id"]))
    rows["parent_id"] = [by_code.get(c) for c in rows["parent_code"]]
    communities = built[built["level"] == "community"]
    return gpd.GeoDataFrame(
        {"code": [*stored["code"], *communities["code"]]},
        geometry=[*stored.geometry, *communities.geometry],
        crs=4326,
    )


def _file_codes(rows, code_col, code_map, district_code, level, report) -> list[str | None]:
    """The file's codes, through ``code_map`` (file code → code) or, for a file of one district,
    ``district_code``."""
    codes: list[str | None] = [cell_text(v) for v in rows[code_col]] if code_col else [None] * len(rows)
    if district_code:
        if level != "district" or len(rows) != 1:
            raise ImportRefused(
                _(
                    "--district-code names the code of a file holding one district; this file has "
                    "%(count)s %(level)s areas (give their codes with --code-map FILE.csv)",
                    count=len(rows),
                    level=LEVEL_NAMES[level],
                ),
                report,
            )
        return [district_code]
    if code_map:
        codes = [code_map.get(c, c) if c else c for c in codes]
    return codes


def _stored_layer(session, level, metric) -> gpd.GeoDataFrame:
    """The stored areas of ``level`` (code, name, geometry in ``metric``), to compare the file with."""
    stored = gpd.read_postgis(
        text("SELECT code, name, geom FROM areas WHERE level = :level ORDER BY code"),
        session.connection(),
        params={"level": level},
        geom_col="geom",
    )
    if len(stored) == 0:
        return gpd.GeoDataFrame({"code": [], "name": []}, geometry=gpd.GeoSeries([], crs=metric))
    return stored.to_crs(metric)


def _diff_preview(rows, stored, diff) -> str:
    """The file's areas for the map, each with what it is to the stored layer (new, changed,
    unchanged), and the stored areas the file would remove (gone)."""
    kinds = dict.fromkeys(diff["new"], "new")
    kinds.update({c["code"]: "changed" for c in diff["changed"]})
    kinds.update(dict.fromkeys(diff["unchanged"], "unchanged"))
    drawn = rows.iloc[:PREVIEW_LIMIT][["row", "code", "name", "parent_code", rows.geometry.name]].copy()
    drawn["diff"] = [kinds.get(c, "new") for c in drawn["code"]]
    gone = stored[stored["code"].isin(set(diff["gone"]))].iloc[: max(0, PREVIEW_LIMIT - len(drawn))]
    if len(gone):
        gone = gone.to_crs(4326).rename_geometry(drawn.geometry.name).assign(diff="gone")
        drawn = pd.concat([drawn, gone[["code", "name", "diff", drawn.geometry.name]]], ignore_index=True)
    return drawn.to_json(drop_id=True, to_wgs84=False)


def _parents(session, rows, parent_level, parent_col, metric, report) -> gpd.GeoDataFrame | None:
    if parent_level is None:
        rows["parent_code"] = None
        rows["parent_id"] = None
        return None
    parents = gpd.read_postgis(
        text("SELECT id, code, geom FROM areas WHERE level = :level"),
        session.connection(),
        params={"level": parent_level},
        geom_col="geom",
    )
    if parents.empty:
        raise ImportRefused(
            _(
                "there are no %(parent_level)s areas yet: import the %(parent_level)s layer first, since "
                "every area belongs to exactly one parent",
                parent_level=parent_level,
            ),
            report,
        )
    by_code = dict(zip(parents["code"], parents["id"]))
    if parent_col:
        codes = [cell_text(v) for v in rows[parent_col]]
        unknown = [(r, c) for r, c in zip(rows["row"], codes) if c not in by_code]
        if unknown:
            report["errors"].append(
                _(
                    "unknown parent codes: %(codes)s",
                    codes=joined(", ", (_("row %(row)s: %(code)s", row=r, code=c) for r, c in unknown[:20])),
                )
            )
        rows["parent_code"] = codes
    else:
        # largest overlap wins, measured in metres
        m_rows = rows.to_crs(metric)
        m_parents = parents.to_crs(metric)
        tree = shapely.STRtree(m_parents.geometry.values)
        chosen: list[str | None] = []
        for row, geom in zip(rows["row"], m_rows.geometry.values):
            candidates = tree.query(geom, predicate="intersects")
            if len(candidates) == 0:
                report["errors"].append(
                    _("row %(row)s lies outside every %(parent_level)s", row=row, parent_level=parent_level)
                )
                chosen.append(None)
                continue
            areas = shapely.area(shapely.intersection(geom, m_parents.geometry.values[candidates]))
            chosen.append(parents["code"].iloc[candidates[int(np.argmax(areas))]])
        rows["parent_code"] = chosen
    rows["parent_id"] = [by_code.get(c) for c in rows["parent_code"]]
    return parents


def _assign_codes(session, rows, metric_rows, level, file_codes, replace, report) -> None:
    """File codes where valid; otherwise parent code + sequence, west→east then north→south."""
    length = CODE_LENGTH[level]
    codes = list(file_codes)
    malformed = [
        (rows["row"][i], c)
        for i, c in enumerate(codes)
        if c is not None and not (c.isdigit() and len(c) == length)
    ]
    if malformed and level == "district":
        # a district's code cannot be made up: GB/T 2260 gives it; say so once, with the way through
        raise ImportRefused(
            _(
                "%(count)s district code(s) of the file are not 6-digit GB/T 2260 codes (%(items)s): "
                "give each its code in a CSV of file code,GB/T 2260 code (--code-map FILE.csv), or, "
                "for a file of one district, --district-code CODE",
                count=len(malformed),
                items=", ".join(repr(c) for _row, c in malformed[:10]),
            ),
            report,
        )
    if malformed:
        report["warnings"].append(
            _(
                "%(count)s code(s) are not %(length)s-digit %(level)s codes (%(items)s): codes were "
                "made from the parent's instead (or give them with --code-map FILE.csv)",
                count=len(malformed),
                length=length,
                level=LEVEL_NAMES[level],
                items=joined(
                    ", ", (_("row %(row)s: %(code)s", row=r, code=repr(c)) for r, c in malformed[:10])
                ),
            )
        )
    for i, code in enumerate(codes):
        if code is None:
            continue
        if not (code.isdigit() and len(code) == length):
            codes[i] = None
        elif rows["parent_code"][i] and not code.startswith(rows["parent_code"][i]):
            report["errors"].append(  # CJ/T 213: a code starts with its parent's (the database holds to it)
                _(
                    "row %(value)s: code %(code)s does not start with its parent's code %(value2)s (fix "
                    "the code, or leave it empty to have one made)",
                    value=rows["row"][i],
                    code=code,
                    value2=rows["parent_code"][i],
                )
            )
    missing = [i for i, c in enumerate(codes) if c is None]
    if missing:
        if level == "district":
            raise ImportRefused(
                _(
                    "districts need their 6-digit GB/T 2260 code: in the file (--code-field), in a CSV "
                    "(--code-map FILE.csv) or, for one district, --district-code CODE"
                ),
                report,
            )
        centroids = shapely.centroid(metric_rows.geometry.values)
        xs, ys = shapely.get_x(centroids), shapely.get_y(centroids)
        band = max(np.median(np.sqrt(metric_rows.area.to_numpy())), 1.0)  # a row of cells
        used: dict[str, int] = {}
        for i in sorted(missing, key=lambda k: (rows["parent_code"][k] or "", -round(ys[k] / band), xs[k])):
            parent = rows["parent_code"][i]
            if parent is None:
                continue
            if parent not in used:
                # continue after the siblings already stored (none survive a --replace)
                existing = (
                    None
                    if replace
                    else session.scalar(
                        text(
                            "SELECT max(right(code, 3)::int) FROM areas "
                            "WHERE code LIKE :p AND length(code) = :n"
                        ),
                        {"p": parent + "%", "n": length},
                    )
                )
                from_file = [int(c[-3:]) for c in codes if c and c.startswith(parent)]
                used[parent] = max([existing or 0, *from_file])
            used[parent] += 1
            if used[parent] > 999:
                report["errors"].append(_("%(parent)s would need more than 999 children", parent=parent))
                continue
            codes[i] = f"{parent}{used[parent]:03d}"
        report["codes_generated"] = len(missing)
    rows["code"] = codes


def _write_areas(
    session, rows, level, parent_level, replace, report, user_id, nearest_grid_m, built=None
) -> ImportResult:
    batch = ImportBatch(
        kind="areas",
        filename=report["file"],
        level=level,
        feature_count=len(rows),
        report=report,
        user_id=user_id,
        replaced=replace,
    )
    session.add(batch)
    session.flush()
    keep_for_undo(session, batch.id, level, replace)
    saved = _detach_layer(session, level) if replace else None
    if built is not None and len(built):
        made = _write_built(session, built, batch.id)
        rows["parent_id"] = [
            p if p == p and p is not None else made.get(c)
            for p, c in zip(rows["parent_id"], rows["parent_code"])
        ]
        report["hierarchy_built"] = hierarchy.summary(built)
    geoms = ewkb(rows.geometry.values)
    parents = [None if p is None or p != p else int(p) for p in rows["parent_id"].astype(object)]
    copy_rows(
        session,
        "areas",
        {
            "code": "text",
            "level": "text",
            "name": "text",
            "parent_id": "int4",
            "geom": "geometry",
            "area_m2": "float8",
            "import_batch_id": "int4",
        },
        (
            (c, level, n, p, g, round(float(a), 1), batch.id)
            for c, n, p, g, a in zip(rows["code"], rows["name"], parents, geoms, rows["area_m2"])
        ),
    )
    reassigned = {}
    if replace:
        reassigned = _reattach_layer(session, level, saved, nearest_grid_m)
    elif level == "grid":
        reassigned = reassign_to_grids(session, only_unassigned=True, max_m=nearest_grid_m)
    if level == "grid":  # patrols' stored reach was cut along the old grids
        forget_stored_reach(session)
    report["written"] = len(rows)
    report["reassigned"] = reassigned
    batch.report = report
    session.flush()
    return ImportResult(report=report, batch_id=batch.id, written=len(rows), reassigned=reassigned)


# What an import replaces or moves, kept with its batch for gis.areas.undo: the layer's rows whole
# (with their ids), children's parents and workers' grids; for a grid layer each report's grid,
# assignment and building and each building's grid (all of them for a replace, else only those
# without a grid: the only ones an added layer moves).
KEEP_LAYER_SQL = text("""
    INSERT INTO undo_areas SELECT a.*, :batch FROM areas a WHERE a.level = :level AND :replace
""")
KEEP_LINKS_SQL = text("""
    INSERT INTO undo_links (batch_id, entity, id, parent_id, grid_id)
    SELECT :batch, 'child', id, parent_id, NULL FROM areas WHERE level = :child AND :replace
    UNION ALL
    SELECT :batch, 'user_grid', ug.user_id, NULL, ug.area_id FROM user_grids ug
    JOIN areas a ON a.id = ug.area_id WHERE a.level = :level AND :replace
""")
KEEP_GRID_LINKS_SQL = text("""
    INSERT INTO undo_links (batch_id, entity, id, grid_id, assignment, assignment_distance_m, building_id)
    SELECT :batch, 'report', id, grid_id, assignment, assignment_distance_m, building_id FROM reports
    WHERE :replace OR grid_id IS NULL
    UNION ALL
    SELECT :batch, 'building', id, grid_id, NULL, NULL, NULL FROM buildings WHERE :replace OR grid_id IS NULL
""")


def _write_built(session, built, batch_id) -> dict[str, int]:
    """The levels above written top-down (each under the parent its code names); code → id."""
    ids = dict(session.execute(text("SELECT code, id FROM areas WHERE level <> 'grid'")).all())
    for level in hierarchy.UPPER:
        part = built[built["level"] == level]
        for code, name, parent, geom, m2 in zip(
            part["code"], part["name"], part["parent_code"], ewkb(part.geometry.values), part["area_m2"]
        ):
            ids[code] = session.scalar(
                text(
                    "INSERT INTO areas (code, level, name, parent_id, geom, area_m2, import_batch_id) "
                    "VALUES (:code, :level, :name, :parent, ST_GeomFromEWKB(:geom), :m2, :batch) RETURNING id"
                ),
                {
                    "code": code,
                    "level": level,
                    "name": name,
                    "parent": ids.get(parent) if parent else None,
                    "geom": geom,
                    "m2": float(m2),
                    "batch": batch_id,
                },
            )
    return ids


def keep_for_undo(session: Session, batch_id: int, level: str, replace: bool) -> None:
    child = AREA_LEVELS[AREA_LEVELS.index(level) + 1] if level != "grid" else None
    params = {"batch": batch_id, "level": level, "replace": replace, "child": child}
    session.execute(KEEP_LAYER_SQL, params)
    session.execute(KEEP_LINKS_SQL, params)
    if level == "grid":
        session.execute(KEEP_GRID_LINKS_SQL, params)


def _detach_layer(session, level) -> dict:
    """Before replacing a layer: remember who worked which grid and each report's grid, free the
    children, delete the old layer (reports/buildings keep their rows; grid links go NULL)."""
    saved = {
        "user_grids": session.execute(
            text(
                "SELECT ug.user_id, a.code FROM user_grids ug JOIN areas a ON a.id = ug.area_id "
                "WHERE a.level = :level"
            ),
            {"level": level},
        ).all(),
        "report_grids": dict(
            session.execute(text("SELECT r.id, a.code FROM reports r JOIN areas a ON a.id = r.grid_id")).all()
        )
        if level == "grid"
        else {},
    }
    child_level = AREA_LEVELS[AREA_LEVELS.index(level) + 1] if level != "grid" else None
    if child_level:
        session.execute(
            text("UPDATE areas SET parent_id = NULL WHERE level = :child"), {"child": child_level}
        )
    session.execute(text("DELETE FROM areas WHERE level = :level"), {"level": level})
    saved["child_level"] = child_level
    return saved


# After a parent layer is replaced, each child goes back under the parent its code names (CJ/T 213:
# a code starts with its parent's); one whose parent's code is gone stays without one, and is said.
REPARENT_SQL = text("""
    UPDATE areas c SET parent_id = p.id FROM areas p
    WHERE c.level = :child AND c.parent_id IS NULL
      AND p.level = :level AND p.code = left(c.code, length(p.code))
""")


def _reattach_layer(session, level, saved, nearest_grid_m) -> dict:
    if saved["child_level"]:
        session.execute(REPARENT_SQL, {"level": level, "child": saved["child_level"]})
        orphans = session.scalars(
            text("SELECT code FROM areas WHERE level = :child AND parent_id IS NULL ORDER BY code"),
            {"child": saved["child_level"]},
        ).all()
        if orphans:
            report_orphans = ", ".join(orphans[:20]) + (" …" if len(orphans) > 20 else "")
            raise ImportRefused(
                _(
                    "%(count)s %(child_level)s area(s) would lose their parent, whose code is not in the "
                    "new layer: %(report_orphans)s",
                    count=len(orphans),
                    child_level=LEVEL_NAMES[saved["child_level"]],
                    report_orphans=report_orphans,
                ),
                {
                    "errors": [_("orphaned: %(codes)s", codes=report_orphans)],
                    "warnings": [],
                    "repaired": [],
                    "rejected": [],
                },
            )
    if saved["user_grids"]:  # workers keep the grids whose codes survive
        session.execute(
            text(
                "INSERT INTO user_grids (user_id, area_id) SELECT :user_id, id FROM areas WHERE code = :code "
                "ON CONFLICT DO NOTHING"
            ),
            [{"user_id": u, "code": c} for u, c in saved["user_grids"]],
        )
    if level != "grid":
        return {}
    counts = reassign_to_grids(
        session, only_unassigned=False, max_m=nearest_grid_m, previous=saved["report_grids"]
    )
    return counts


# A building goes to the grid holding the largest part of its footprint (ties: lowest code).
# Written as a join so PostGIS reuses each grid's prepared geometry across its buildings; a grid
# that covers the footprint wins outright, and overlap areas are computed only for the straddlers.
def _best_grid_join(source: str) -> str:
    return f"""
    SELECT DISTINCT ON (f.id) f.id, a.id AS grid_id
    FROM {source} f JOIN areas a
      ON a.level = 'grid' AND a.geom && f.geom AND ST_Intersects(a.geom, f.geom)
    ORDER BY f.id, CASE WHEN ST_Covers(a.geom, f.geom) THEN 'Infinity'::float8
                        ELSE ST_Area(ST_Intersection(a.geom, f.geom)) END DESC, a.code"""


ASSIGN_BUILDINGS_SQL = text(f"""
    WITH scope AS (SELECT id, geom FROM buildings
                   WHERE (CAST(:batch AS int) IS NULL OR import_batch_id = :batch)
                     AND (NOT :only_unassigned OR grid_id IS NULL)),
    best AS ({_best_grid_join("scope")})
    UPDATE buildings b SET grid_id = best.grid_id
    FROM scope LEFT JOIN best ON best.id = scope.id
    WHERE b.id = scope.id AND b.grid_id IS DISTINCT FROM best.grid_id
""")


def assign_buildings(session, batch_id=None, only_unassigned: bool = False) -> int:
    """Set each building's grid (after a grid layer changed); returns how many have one."""
    params = {"batch": batch_id, "only_unassigned": only_unassigned}
    session.execute(ASSIGN_BUILDINGS_SQL, params)
    return session.scalar(
        text(
            "SELECT count(*) FROM buildings b WHERE grid_id IS NOT NULL "
            "AND (CAST(:batch AS int) IS NULL OR b.import_batch_id = :batch)"
        ),
        params,
    )


def reassign_to_grids(session, only_unassigned: bool, max_m: float = 50, previous=None) -> dict:
    """Reports (gis/cases/lifecycle.regrid: the case's own history records it) and buildings to
    the grids as they are now."""
    counts = regrid(session, only_unassigned=only_unassigned, max_m=max_m, previous=previous)
    counts["buildings_in_grids"] = assign_buildings(session, only_unassigned=only_unassigned)
    return counts


# -- buildings --------------------------------------------------------------------------------
BUILDING_COLUMNS = {
    "name": "text",
    "households": "int4",
    "floors": "int4",
    "geom": "geometry",
    "import_batch_id": "int4",
    "grid_id": "int4",
}
CHUNK = 5_000  # footprints planned while the chunk before them is copied (the last one's copy is the tail)


@dataclass
class BuildingFile:
    """A footprint file read: its features (in the file's CRS), the fields picked, its box in
    EPSG:4326 and the metric CRS around it, the report so far."""

    source: str
    frame: gpd.GeoDataFrame
    columns: dict
    bounds: Any
    metric: Any
    report: dict


def read_buildings(
    path: str | Path,
    *,
    name_field=None,
    households_field=None,
    floors_field=None,
    crs=None,
    encoding=None,
    layer=None,
    progress: Progress = no_progress,
) -> BuildingFile:
    progress(_("reading"), 0.0)
    dataset = read_dataset(path, layer=layer, crs=crs, encoding=encoding)
    check_polygon_layer(dataset.frame, _("buildings"))
    frame = dataset.frame
    # the box in degrees from its edges (densified: a projected box's sides bend), and a margin
    edges = shapely.segmentize(
        shapely.box(*frame.total_bounds), max(np.ptp(frame.total_bounds[::2]), 1e-9) / 64
    )
    minx, miny, maxx, maxy = gpd.GeoSeries([edges], crs=frame.crs).to_crs(4326).total_bounds
    bounds = (minx - 0.001, miny - 0.001, maxx + 0.001, maxy + 0.001)
    report = base_report(dataset, "buildings", None)
    name_col = pick_field(frame, name_field, (*NAME_FIELDS, "address", "地址"), "name")
    households_col = pick_field(frame, households_field, ("households", "hs", "户数"), "households")
    floors_col = pick_field(frame, floors_field, ("floors", "cs", "层数"), "floors")
    columns = {"name": name_col, "households": households_col, "floors": floors_col}
    report["fields"] = dict(columns)
    return BuildingFile(
        source=dataset.source,
        frame=frame,
        columns=columns,
        bounds=bounds,
        metric=local_metric_crs((minx + maxx) / 2, (miny + maxy) / 2),
        report=report,
    )


def _plan_footprints(file: BuildingFile, chunk: gpd.GeoDataFrame, grids: GridIndex, first_row: int):
    """Some of the file's footprints in EPSG:4326, checked and repaired (cleaned, what was done),
    each with the grid holding most of it."""
    cleaned, cleaning = clean_polygons(
        chunk.to_crs(4326), file.metric, exact_areas=False, first_row=first_row
    )  # areas checked, not stored
    return cleaned, grids.best(cleaned.geometry.values), cleaning


def _nothing_usable(file: BuildingFile) -> ImportRefused:
    return ImportRefused(
        _(
            "%(source)s: no usable polygon (all %(count)s rejected)",
            source=file.source,
            count=len(file.frame),
        ),
        file.report,
    )


def _names(cleaned, column) -> list:
    return [cell_text(v) for v in cleaned[column]] if column else [None] * len(cleaned)


def _whole_numbers(cleaned, column):
    """A column as whole numbers (None where the cell is not one), vectorised."""
    if column is None:
        return [None] * len(cleaned)
    values = cleaned[column]
    if not pd.api.types.is_numeric_dtype(values):
        values = values.map(cell_text)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    whole = np.isfinite(numbers) & (numbers >= 0) & (numbers < 2**31)  # an int4 column
    out = np.full(len(numbers), None, dtype=object)
    out[whole] = numbers[whole].astype(np.int64).tolist()
    return out


def _building_rows(cleaned, grid_ids, columns: dict, batch_id: int):
    """The COPY rows (BUILDING_COLUMNS) of planned footprints."""
    return zip(
        _names(cleaned, columns["name"]),
        _whole_numbers(cleaned, columns["households"]),
        _whole_numbers(cleaned, columns["floors"]),
        ewkb(cleaned.geometry.values),
        [batch_id] * len(cleaned),
        grid_ids,
    )


@dataclass
class BuildingPlan:
    """Footprints read, validated and assigned to grids: what the check reports and draws
    (``import_buildings`` makes the same, a chunk at a time, as it writes)."""

    file: BuildingFile
    cleaned: gpd.GeoDataFrame
    grid_ids: Any
    report: dict
    replace: bool
    preview: str | None = None


def plan_buildings(
    session: Session,
    path: str | Path,
    *,
    replace: bool = False,
    progress: Progress = no_progress,
    **options,
) -> BuildingPlan:
    """Building footprints read, validated and each given the grid holding most of it — nothing
    written (the web check and ``--dry-run`` stop here)."""
    file = read_buildings(path, progress=progress, **options)
    progress(_("validating geometry"), 0.2)
    grids = GridIndex.around(session, file.bounds)
    cleaned, grid_ids, cleaning = _plan_footprints(file, file.frame, grids, 1)
    report = file.report
    report["repaired"], report["rejected"] = cleaning.repaired, cleaning.rejected
    if len(cleaned) == 0:
        raise _nothing_usable(file)
    report["features_kept"] = len(cleaned)
    report["diff"] = {"counts": {"new": len(cleaned), "gone": _count(session, "buildings") if replace else 0}}
    return BuildingPlan(
        file=file,
        cleaned=cleaned,
        grid_ids=grid_ids,
        report=report,
        replace=replace,
        preview=preview_geojson(cleaned.assign(name=_names(cleaned, file.columns["name"])), ["name"]),
    )


def _count(session, table: str) -> int:
    return int(session.scalar(text(f"SELECT count(*) FROM {table}")))


def _open_building_batch(
    session: Session, file: BuildingFile, user_id, replace: bool
) -> tuple[ImportBatch, int]:
    """The batch the buildings are written under, and how many buildings it replaces: with
    ``replace`` the buildings there are kept for undo (gis.areas.undo: the buildings whole, the
    reports' links) and removed."""
    batch = ImportBatch(
        kind="buildings",
        filename=file.source,
        feature_count=len(file.frame),
        report=file.report,
        user_id=user_id,
        replaced=replace,
    )
    session.add(batch)
    session.flush()
    if replace:
        session.execute(
            text("INSERT INTO undo_buildings SELECT b.*, :batch FROM buildings b"), {"batch": batch.id}
        )
        session.execute(
            text(
                "INSERT INTO undo_links (batch_id, entity, id, grid_id, assignment, assignment_distance_m, "
                "building_id) SELECT :batch, 'report', id, grid_id, assignment, assignment_distance_m, "
                "building_id FROM reports"
            ),
            {"batch": batch.id},
        )
        return batch, session.execute(text("DELETE FROM buildings")).rowcount  # type: ignore[attr-defined]
    return batch, 0


def _close_building_batch(
    session: Session,
    batch: ImportBatch,
    written: int,
    assigned: int,
    replace: bool,
    nearest_building_m,
    progress,
) -> ImportResult:
    """Reports linked again to the new buildings (``replace``: intake's rule), the counts."""
    if replace:
        relink_buildings(session, nearest_building_m)
    report = dict(batch.report)
    report.update(written=written, assigned_to_grid=assigned, outside_every_grid=written - assigned)
    batch.report, batch.feature_count = report, written
    session.flush()
    progress(_("done"), 1.0)
    return ImportResult(report=report, batch_id=batch.id, written=written)


def _assigned(grid_ids) -> int:
    return int(np.count_nonzero(grid_ids != None))  # noqa: E711 (numpy elementwise)


def import_buildings(
    session: Session,
    path: str | Path,
    *,
    user_id: int | None = None,
    progress: Progress = no_progress,
    nearest_building_m: float = 20,
    replace: bool = False,
    **options,
) -> ImportResult:
    """Building footprints, checked and written whole or not at all, the two side by side: while
    PostgreSQL takes in one chunk (its index, its keys: most of an import's time), the next one is
    reprojected, repaired and assigned on the other core. (A job in the server runs in its own
    process behind the requests, its backend too: gis/areas/jobs.py.) A refusal found at the end
    (nothing usable) raises after the rows went in: the caller's rollback takes them back."""
    file = read_buildings(path, progress=progress, **options)
    grids = GridIndex.around(session, file.bounds)
    # the area figures of the batch's buildings set once at the end (migration a6b7c8d9e0f1): each
    # chunk's COPY (or a replace's DELETE) would lock the rows every new pin adds to until commit
    session.execute(text("SELECT set_config('gridwatch.area_figures_later', 'on', true)"))
    batch, gone = _open_building_batch(session, file, user_id, replace)
    chunks: queue.Queue = queue.Queue(maxsize=2)
    written: list[int] = []
    failed: list[BaseException] = []
    raw = session.connection().connection.dbapi_connection  # the COPY's, in the writer alone

    def write() -> None:
        # a COPY a chunk: each statement's key checks (its triggers, at its end) then run while
        # the next chunk is planned, not all at the end
        try:
            for rows in iter(chunks.get, None):
                written.append(_copy(raw, "buildings", BUILDING_COLUMNS, rows))
        except BaseException as exc:  # handed to the planning thread, which raises it
            failed.append(exc)
            while chunks.get() is not None:  # let the planning thread finish its puts
                pass

    writer = threading.Thread(target=write, name="buildings-copy", daemon=True)
    writer.start()
    kept = assigned = 0
    repaired: list = []
    rejected: list = []
    preview = None
    total = len(file.frame)
    try:
        for first in range(0, total, CHUNK):
            if failed:
                break
            cleaned, grid_ids, cleaning = _plan_footprints(
                file, file.frame.iloc[first : first + CHUNK], grids, first + 1
            )
            repaired += cleaning.repaired
            rejected += cleaning.rejected
            if preview is None and len(cleaned):
                preview = preview_geojson(
                    cleaned.assign(name=_names(cleaned, file.columns["name"])), ["name"]
                )
            chunks.put(list(_building_rows(cleaned, grid_ids, file.columns, batch.id)))
            kept += len(cleaned)
            assigned += _assigned(grid_ids)
            progress(_("writing"), 0.1 + 0.8 * min(first + CHUNK, total) / total)
    finally:
        chunks.put(None)
        writer.join()
    if failed:
        raise failed[0]
    session.execute(text("SELECT set_config('gridwatch.area_figures_later', 'off', true)"))
    if replace:  # every building went: the figures are the batch's alone
        session.execute(
            text(
                "UPDATE area_figures SET buildings = 0, households = 0 "
                "WHERE buildings <> 0 OR households <> 0"
            )
        )
    session.execute(text("SELECT area_figures_add_batch(:batch)"), {"batch": batch.id})
    file.report.update(repaired=repaired, rejected=rejected, features_kept=kept)
    file.report["diff"] = {"counts": {"new": kept, "gone": gone}}
    if kept == 0:
        raise _nothing_usable(file)
    batch.report = file.report
    result = _close_building_batch(
        session, batch, sum(written), assigned, replace, nearest_building_m, progress
    )
    result.preview = preview
    return result


# -- streets ----------------------------------------------------------------------------------
@dataclass
class StreetPlan:
    """Street lines read and kept (lines only, merged where they touch): what ``apply_streets``
    writes."""

    lines: Any
    names: list
    report: dict
    replace: bool
    source: str
    preview: str | None = None


def plan_streets(
    session: Session,
    path: str | Path,
    *,
    name_field=None,
    crs=None,
    encoding=None,
    layer=None,
    replace: bool = False,
    progress: Progress = no_progress,
) -> StreetPlan:
    """A street centre-line layer read and checked — nothing written (the web check and
    ``--dry-run`` stop here); features that are not lines are left out and listed."""
    progress(_("reading"), 0.0)
    dataset = read_dataset(path, layer=layer, crs=crs, encoding=encoding)
    report = base_report(dataset, "streets", None)
    frame = dataset.frame.to_crs(4326)
    kinds = set(frame.geometry.geom_type.dropna())
    if not kinds & {"LineString", "MultiLineString"}:
        raise ImportRefused(
            _(
                "%(source)s: a street layer needs lines, this file holds %(value)s",
                source=dataset.source,
                value=", ".join(sorted(kinds)) or _("no geometry"),
            ),
            report,
        )
    lines = shapely.line_merge(frame.geometry.values)  # harmless on lines, joins touching parts
    keep = (
        np.isin(shapely.get_type_id(lines), (1, 5))
        & ~shapely.is_empty(lines)
        & (shapely.length(lines) > 0)
        & ~off_earth(lines)
    )
    report["rejected"] = [
        {"feature": int(i), "reason": _("not a line, empty, or not on Earth")}
        for i in np.flatnonzero(~keep)[:200]
    ]
    if not keep.any():
        raise ImportRefused(_("%(source)s: no usable street line", source=dataset.source), report)
    name_col = pick_field(frame, name_field, (*NAME_FIELDS, "road", "路名", "道路名称"), "name")
    names = [cell_text(v) for v in frame[name_col][keep]] if name_col else [None] * int(keep.sum())
    multi = np.array(
        [shapely.multilinestrings([g]) if g.geom_type == "LineString" else g for g in lines[keep]],
        dtype=object,
    )
    report["fields"] = {"name": name_col}
    report["features_kept"] = len(multi)
    gone = _count(session, "street_lines") if replace else 0
    report["diff"] = {"counts": {"new": len(multi), "gone": gone}}
    drawn = gpd.GeoDataFrame({"name": names}, geometry=multi, crs=4326)
    return StreetPlan(
        lines=multi,
        names=names,
        report=report,
        replace=replace,
        source=dataset.source,
        preview=preview_geojson(drawn, ["name"]),
    )


def apply_streets(
    session: Session, plan: StreetPlan, *, user_id: int | None = None, progress: Progress = no_progress
) -> ImportResult:
    """Write planned streets, added to the streets there are, or with ``replace`` in their place
    (kept for undo)."""
    report = plan.report
    progress(_("writing"), 0.5)
    batch = ImportBatch(
        kind="streets",
        filename=plan.source,
        feature_count=len(plan.lines),
        report=report,
        user_id=user_id,
        replaced=plan.replace,
    )
    session.add(batch)
    session.flush()
    if plan.replace:  # what it replaces, kept for gis.areas.undo
        session.execute(
            text("INSERT INTO undo_street_lines SELECT s.*, :batch FROM street_lines s"), {"batch": batch.id}
        )
        session.execute(text("DELETE FROM street_lines"))
    written = copy_rows(
        session,
        "street_lines",
        {"name": "text", "import_batch_id": "int4", "geom": "geometry"},
        zip(plan.names, [batch.id] * len(plan.names), ewkb(plan.lines)),
    )
    report["written"] = written
    batch.report = report
    session.flush()
    progress(_("done"), 1.0)
    return ImportResult(report=report, batch_id=batch.id, written=written)


def import_streets(
    session: Session,
    path: str | Path,
    *,
    user_id: int | None = None,
    progress: Progress = no_progress,
    **options,
) -> ImportResult:
    """A street centre-line layer (what patrol street coverage is measured on), checked and
    written whole or not at all (plan, then apply)."""
    plan = plan_streets(session, path, progress=progress, **options)
    return apply_streets(session, plan, user_id=user_id, progress=progress)
