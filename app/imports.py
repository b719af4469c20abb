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

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from app.auth import current_row, roles_required
from app.database import db
from app.openapi import Reply, operation
from app.schemas import (
    REFUSED,
    Error,
    ImportBatchOut,
    ImportForm,
    ImportJobOut,
    ImportOut,
    PageQuery,
    UndoOut,
)
from gis.areas.importer import ImportRefused
from gis.areas.jobs import check_import, in_background, reap_stale, run_job
from gis.areas.readers import SUPPORTED
from gis.embedded_postgres import var_dir
from gis.errors import Invalid, NotFound
from gis.i18n import _
from gis.maps.layers import grids_extent
from gis.models import AREA_LEVELS, ImportJob

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


def _flag(value: str | None) -> bool:
    return value in ("1", "true", "on")


def _option(value: str | None) -> str | None:
    return (value or "").strip() or None


@bp.post("/api/v1/imports")
@roles_required("planner")
@operation(
    "Check (dry_run=1, the default: nothing is written) or import a planner's layer (a job)",
    form=ImportForm,
    files={"file": "a zipped shapefile, a shapefile's parts together, a GeoPackage or GeoJSON"},
    responses={
        200: Reply(ImportOut, description="checked"),
        202: Reply(ImportJobOut, description="importing: a job, polled at its status_url"),
        "default": Reply(Error, description="refused: the error (and the report) say why"),
    },
    tags=("imports",),
)
def create(body: ImportForm):
    """A check answers at once (200: the report and the diff map; nothing written). An import is
    a job (202): it runs beside the requests, and ``status_url`` says where it stands."""
    dry_run = body.dry_run not in ("0", "false", "no")
    uploads = var_dir() / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="import-", dir=uploads))
    handed_over = False
    try:
        path = _save_upload(workdir)
        options = _options(body)
        if dry_run:
            try:
                result = check_import(db(), body.kind, path, options)
            except ImportRefused as exc:
                exc.report["file"] = _original_name()
                refused = {"error": exc.message, "status": 422, "report": exc.report, "written": False}
                refused["preview"] = json.loads(exc.preview) if exc.preview else None
                return jsonify(refused), 422
            db().rollback()  # a check writes nothing (it only read: gis.areas.importer.plan_*)
            result.report["file"] = _original_name()
            preview = json.loads(result.preview) if result.preview else None
            return jsonify(
                {"report": result.report, "written": False, "batch_id": None, "preview": preview}
            ), 200
        job = ImportJob(kind=body.kind, filename=_original_name(), options=options, user_id=current_row().id)
        db().add(job)
        db().flush()
        handed_over = True
        return _start(job, path, workdir)
    finally:
        if not handed_over:
            shutil.rmtree(workdir, ignore_errors=True)


def _options(body: ImportForm) -> dict:
    """The form as the job keeps it (gis.areas.jobs reads it), with the configured distances."""
    return {
        "level": body.level,
        "network": _option(body.network),
        "network_name": _option(body.network_name),
        "code_field": _option(body.code_field),
        "name_field": _option(body.name_field),
        "parent_field": _option(body.parent_field),
        "households_field": _option(body.households_field),
        "floors_field": _option(body.floors_field),
        "allow_overlap": _flag(body.allow_overlap),
        "build_hierarchy": _flag(body.build_hierarchy),
        "district_code": _option(body.district_code),
        "crs": _option(body.crs),
        "encoding": _option(body.encoding),
        "layer": _option(body.layer),
        "replace": _flag(body.replace),
        "nearest_grid_m": current_app.config["NEAREST_GRID_M"],
        "nearest_building_m": current_app.config["NEAREST_BUILDING_M"],
    }


def _start(job: ImportJob, path: Path, workdir: Path):
    """Run the job once this request has committed its row: in a thread of this server, or (with
    JOBS_INLINE, the tests' single connection) before answering."""
    sessions = current_app.extensions["gridwatch.sessions"]
    job_id = job.id

    def clean_up() -> None:
        shutil.rmtree(workdir, ignore_errors=True)

    if current_app.config.get("JOBS_INLINE"):
        try:
            run_job(sessions, job_id, path)
        finally:
            clean_up()
        db().refresh(job)
        return jsonify(job_out(job)), 202
    response = jsonify(job_out(job))
    response.status_code = 202
    response.call_on_close(lambda: in_background(sessions, job_id, path, then=clean_up))
    return response


def job_out(job: ImportJob) -> dict:
    return {
        "id": job.id,
        "state": job.state,
        "stage": (job.stage or {}).get("text"),
        "percent": job.percent,
        "report": job.report,
        "batch_id": job.batch_id,
        "error": (job.error or {}).get("text"),
        "status_url": url_for("imports.job_status", job_id=job.id),
    }


@bp.get("/api/v1/imports/jobs/<id:job_id>")
@roles_required("planner")
@operation(
    "Where an import job stands: queued, running (stage, percent), done (the batch), refused or failed",
    responses={200: Reply(ImportJobOut), "default": REFUSED},
    tags=("imports",),
)
def job_status(job_id: int):
    reap_stale(db())
    job = db().get(ImportJob, job_id)
    if job is None:
        raise NotFound(_("no import job %(job)s", job=job_id))
    return jsonify(job_out(job))


def _original_name() -> str:
    names = [f.filename for f in request.files.getlist("file") if f and f.filename]
    main = [n for n in names if Path(n).suffix.lower() in SUPPORTED]
    return re.sub(r"[\r\n]", "", (main or names or ["upload"])[0])


# -- the imports made, and undo ----------------------------------------------------------------
@bp.get("/imports")
@roles_required("planner")
def batches_page():
    """Every import (who, when, which file, how many), newest first, each undoable in turn."""
    page_no = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    rows, total, undoable = _batches(page_no)
    return render_template(
        "imports.html",
        batches=rows,
        undoable=undoable,
        page=page_no,
        pages=max(1, -(-total // BATCH_PAGE)),
    )


BATCH_PAGE = 50
MAX_PAGE = 100_000  # as the API's Page


def _batches(page_no: int) -> tuple[list, int, set[int]]:
    """A page of imports, how many there are, and the ones undo may take back now."""
    from gis.areas.undo import batches, undoable_now

    rows, total = batches(db(), page_no, BATCH_PAGE)
    return rows, total, undoable_now(db())


def batch_out(batch, undoable: set[int]) -> dict:
    return {
        "id": batch.id,
        "kind": batch.kind,
        "level": batch.level,
        "filename": batch.filename,
        "features": batch.feature_count,
        "replaced": batch.replaced,
        "user": batch.user.username if batch.user else None,
        "created_at": batch.created_at.isoformat(),
        "undone_at": batch.undone_at.isoformat() if batch.undone_at else None,
        "undoable": batch.id in undoable,
    }


@bp.get("/api/v1/imports")
@roles_required("planner")
@operation(
    "The imports made, newest first (50 a page)",
    query=PageQuery,
    responses={200: Reply(list[ImportBatchOut]), "default": REFUSED},
    tags=("imports",),
)
def list_batches(query: PageQuery):
    rows, _total, undoable = _batches(query.page)
    return jsonify([batch_out(b, undoable) for b in rows])


@bp.post("/api/v1/imports/<id:batch_id>/undo")
@roles_required("planner")
@operation(
    "Undo an import: the layer as it was before, reports and buildings back in their grids",
    responses={200: Reply(UndoOut), "default": REFUSED},
    tags=("imports",),
)
def undo(batch_id: int):
    from gis.areas.undo import undo_import

    counts = undo_import(
        db(), batch_id, user_id=current_row().id, nearest_grid_m=current_app.config["NEAREST_GRID_M"]
    )
    return jsonify({"batch_id": batch_id, **counts})
