"""Planners' imports on the web: the /import page and POST /api/v1/imports.

The upload is checked first (dry run: the validation report and a preview map), then committed
with the chosen field mapping. Both go through gis.importer, like the CLI, in the request's
transaction: a refused or failed import writes nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, jsonify, render_template, request

from app.auth import current_row, roles_required
from app.database import db
from app.openapi import Reply, operation
from app.schemas import Error, ImportForm, ImportOut
from gis.areas.importer import ImportRefused, import_areas, import_buildings, import_streets
from gis.areas.readers import SUPPORTED
from gis.embedded_postgres import var_dir
from gis.errors import Invalid
from gis.i18n import _
from gis.maps.layers import grids_extent
from gis.models import AREA_LEVELS

bp = Blueprint("imports", __name__)
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


@bp.get("/import")
@roles_required("planner")
def page():
    """The planner's page: the file is checked and drawn over what is already stored first."""
    extent = grids_extent(db())
    return render_template("import.html", levels=AREA_LEVELS, extent_json=json.dumps(extent))


def _save_upload(into: Path) -> Path:
    """Save the uploaded file(s): one zip/GeoPackage/GeoJSON, or a shapefile's parts together."""
    files = [f for f in request.files.getlist("file") if f and f.filename]
    if not files:
        raise Invalid(_("choose a file to import (.zip, .shp with its .dbf/.shx/.prj, .gpkg, .geojson)"))
    suffixes = [Path(f.filename).suffix.lower() for f in files]
    if len(files) > 1 and not all(s in SHAPEFILE_PARTS for s in suffixes):
        raise Invalid(
            _("several files can only be the parts of one shapefile (.shp, .dbf, .shx, .prj, .cpg)")
        )
    main = None
    for f, suffix in zip(files, suffixes):
        if suffix not in SUPPORTED + SHAPEFILE_PARTS:
            raise Invalid(
                _(
                    "%(filename)s: GridWatch reads %(items)s files",
                    filename=f.filename,
                    items=", ".join(SUPPORTED),
                )
            )
        # the parts must share a stem; the planner's own name is kept in the report only
        target = into / f"upload{suffix}"
        f.save(target)
        if suffix in SUPPORTED:
            main = target
    if main is None:
        raise Invalid(_("the upload has no .shp, .zip, .gpkg or .geojson file"))
    return main


def _option(value: str | None) -> str | None:
    return (value or "").strip() or None


@bp.post("/api/v1/imports")
@roles_required("planner")
@operation(
    "Check (dry_run=1, the default: nothing is written) or import a planner's layer",
    form=ImportForm,
    files={"file": "a zipped shapefile, a shapefile's parts together, a GeoPackage or GeoJSON"},
    responses={
        200: Reply(ImportOut, description="checked"),
        201: Reply(ImportOut, description="imported"),
        "default": Reply(Error, description="refused: the error (and the report) say why"),
    },
    tags=("imports",),
)
def create(body: ImportForm):
    kind = body.kind
    dry_run = body.dry_run not in ("0", "false", "no")
    uploads = var_dir() / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="import-", dir=uploads))
    try:
        path = _save_upload(workdir)
        common = dict(
            crs=_option(body.crs),
            encoding=_option(body.encoding),
            layer=_option(body.layer),
            replace=body.replace in ("1", "true", "on"),
            user_id=current_row().id,
        )
        try:
            if kind == "grids":
                result = import_areas(
                    db(),
                    path,
                    body.level,
                    code_field=_option(body.code_field),
                    name_field=_option(body.name_field),
                    parent_field=_option(body.parent_field),
                    nearest_grid_m=current_app.config["NEAREST_GRID_M"],
                    **common,
                )
            elif kind == "streets":
                result = import_streets(db(), path, name_field=_option(body.name_field), **common)
            else:
                result = import_buildings(
                    db(),
                    path,
                    name_field=_option(body.name_field),
                    households_field=_option(body.households_field),
                    floors_field=_option(body.floors_field),
                    nearest_building_m=current_app.config["NEAREST_BUILDING_M"],
                    **common,
                )
        except ImportRefused as exc:
            exc.report["file"] = _original_name()
            return jsonify({"error": exc.message, "status": 422, "report": exc.report, "written": False}), 422
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.report["file"] = _original_name()
    body = {
        "report": result.report,
        "written": not dry_run,
        "batch_id": None if dry_run else result.batch_id,
        "preview": json.loads(result.preview) if result.preview else None,
    }
    if dry_run:
        db().rollback()  # a check writes nothing
        return jsonify(body), 200
    return jsonify(body), 201


def _original_name() -> str:
    names = [f.filename for f in request.files.getlist("file") if f and f.filename]
    main = [n for n in names if Path(n).suffix.lower() in SUPPORTED]
    return re.sub(r"[\r\n]", "", (main or names or ["upload"])[0])
