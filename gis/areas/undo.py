"""Undoing a planner's import: the layer as it was before, and everything that pointed at it.

Each import of areas, buildings or streets keeps, with its batch, what it replaced (the rows whole,
with their ids: ``undo_areas``, ``undo_buildings``, ``undo_street_lines``) and what it moved on the
rows it kept (``undo_links``: reports' grids and buildings, buildings' grids, children's parents,
workers' grids), written by ``gis.areas.importer``. Undo deletes what the batch brought, puts those
rows back under their own ids — so every link to them holds again — and records a ``regrid`` event
on each case whose grid changes. Imports stack: the newest one still in force is undone first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, joinedload

from gis.cases.lifecycle import restore_links
from gis.errors import Conflict, Invalid, NotFound
from gis.i18n import _
from gis.models import AREA_LEVELS, Area, Building, ImportBatch, StreetLine
from gis.patrols.coverage import forget_stored_reach

UNDOABLE = ("areas", "buildings", "streets")


def _touched(result: Any) -> int:
    """Rows a DELETE or INSERT touched."""
    return result.rowcount


def _columns(model) -> str:
    return ", ".join(c.name for c in model.__table__.columns)


def undo_import(
    session: Session,
    batch_id: int,
    *,
    user_id: int | None = None,
    nearest_grid_m: float = 50,
) -> dict:
    """Put back what import ``batch_id`` replaced; what it brought is deleted. Returns counts."""
    batch = session.get(ImportBatch, batch_id, with_for_update=True)
    if batch is None:
        raise NotFound(_("no import %(batch)s", batch=batch_id))
    if batch.kind not in UNDOABLE:
        raise Invalid(_("only imports of areas, buildings and streets can be undone"))
    if batch.undone_at is not None:
        raise Conflict(_("import %(batch)s has already been undone", batch=batch_id))
    later = newest_undoable(session, batch.kind)
    if later is not None and later != batch_id:
        raise Conflict(
            _("import %(later)s was made after this one: undo it first", later=later),
        )
    params = {"batch": batch_id}
    if batch.kind == "buildings":
        counts = _undo_buildings(session, params)
    elif batch.kind == "streets":
        counts = _put_back(session, StreetLine, params)
    else:
        counts = _undo_areas(session, batch, params, nearest_grid_m)
    batch.undone_at = dt.datetime.now(dt.UTC)
    batch.undone_by = user_id
    session.flush()
    return counts


def _undo_areas(session: Session, batch: ImportBatch, params: dict, nearest_grid_m: float) -> dict:
    level = batch.level or "grid"
    child = AREA_LEVELS[AREA_LEVELS.index(level) + 1] if level != "grid" else None
    previous: dict = (
        dict(
            session.execute(
                text("SELECT r.id, a.code FROM reports r LEFT JOIN areas a ON a.id = r.grid_id")
            ).all()
        )
        if level == "grid"
        else {}
    )
    if child:
        session.execute(
            text(
                "UPDATE areas SET parent_id = NULL WHERE level = :child AND parent_id IN "
                "(SELECT id FROM areas WHERE import_batch_id = :batch)"
            ),
            {**params, "child": child},
        )
    removed = 0
    for bottom_up in reversed(AREA_LEVELS):  # a grid layer may have brought the levels above it
        removed += _touched(
            session.execute(
                text("DELETE FROM areas WHERE import_batch_id = :batch AND level = :level"),
                {**params, "level": bottom_up},
            )
        )
    columns = _columns(Area)
    restored = _touched(
        session.execute(
            text(f"INSERT INTO areas ({columns}) SELECT {columns} FROM undo_areas WHERE batch_id = :batch"),
            params,
        )
    )
    session.execute(
        text(
            "UPDATE areas c SET parent_id = u.parent_id FROM undo_links u "
            "WHERE u.batch_id = :batch AND u.entity = 'child' AND c.id = u.id"
        ),
        params,
    )
    session.execute(
        text(
            "INSERT INTO user_grids (user_id, area_id) SELECT u.id, u.grid_id FROM undo_links u "
            "JOIN areas a ON a.id = u.grid_id WHERE u.batch_id = :batch AND u.entity = 'user_grid' "
            "ON CONFLICT DO NOTHING"
        ),
        params,
    )
    counts: dict = {"removed": removed, "restored": restored}
    if level == "grid":
        counts.update(restore_links(session, batch.id, previous, nearest_grid_m))
        session.execute(
            text(
                "UPDATE buildings b SET grid_id = u.grid_id FROM undo_links u "
                "WHERE u.batch_id = :batch AND u.entity = 'building' AND b.id = u.id "
                "AND b.grid_id IS DISTINCT FROM u.grid_id"
            ),
            params,
        )
        forget_stored_reach(session)  # patrols' stored reach was cut along the grids undone
    return counts


def _put_back(session: Session, model, params: dict) -> dict:
    """The batch's rows of ``model``'s table deleted, the ones it replaced inserted again."""
    table, columns = model.__tablename__, _columns(model)
    removed = _touched(session.execute(text(f"DELETE FROM {table} WHERE import_batch_id = :batch"), params))
    restored = _touched(
        session.execute(
            text(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM undo_{table} WHERE batch_id = :batch"
            ),
            params,
        )
    )
    return {"removed": removed, "restored": restored}


def _undo_buildings(session: Session, params: dict) -> dict:
    counts = _put_back(session, Building, params)
    counts.update(restore_links(session, params["batch"]))
    return counts


# Imports stack within a family of layers: buildings sit in the grids, so areas and buildings are
# undone newest first together; streets stand alone.
FAMILIES = (("areas", "buildings"), ("streets",))


def _family(kind: str) -> tuple[str, ...]:
    return next(f for f in FAMILIES if kind in f)


def newest_undoable(session: Session, kind: str = "areas") -> int | None:
    """The import of ``kind``'s family that undo may take back now: the newest still in force."""
    return session.scalar(
        select(func.max(ImportBatch.id)).where(
            ImportBatch.kind.in_(_family(kind)), ImportBatch.undone_at.is_(None)
        )
    )


def undoable_now(session: Session) -> set[int]:
    """The imports undo may take back now, one per family (the /imports page's buttons)."""
    return {batch for family in FAMILIES if (batch := newest_undoable(session, family[0])) is not None}


def batches(session: Session, page: int = 1, size: int = 50) -> tuple[list[ImportBatch], int]:
    """The imports, newest first, with who made them (the /imports page and its API), and how
    many there are."""
    total = session.scalar(select(func.count()).select_from(ImportBatch)) or 0
    rows = session.scalars(
        select(ImportBatch)
        .options(joinedload(ImportBatch.user))
        .order_by(ImportBatch.id.desc())
        .limit(size)
        .offset((max(page, 1) - 1) * size)
    ).all()
    return list(rows), total
