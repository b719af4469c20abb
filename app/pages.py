"""Pages for people: the supervisors' map, the case list and case page, the worker's report page."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from app.auth import current_row
from app.database import db
from app.maps import render_parts, supervisor_map
from app.params import date_arg
from app.schemas import area_chain
from gis.cases.lifecycle import act, available_actions, get_report, traffic_light
from gis.cases.listing import CaseFilter, find_cases, visible_to
from gis.errors import DomainError
from gis.maps.layers import grids_extent
from gis.models import CHANNELS, REPORT_STATUSES, Area, Category, Department, Report

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    if current_row().role == "grid_worker":
        return redirect(url_for("pages.report"))
    return redirect(url_for("pages.map"))


@bp.get("/map")
def map():
    parts = render_parts(supervisor_map(grids_extent(db())))
    groups = (
        db().scalars(select(Category).where(Category.parent_code.is_(None)).order_by(Category.sort)).all()
    )
    # streets, each followed by its communities (codes sort that way)
    areas = (
        db().scalars(select(Area).where(Area.level.in_(("street", "community"))).order_by(Area.code)).all()
    )
    return render_template(
        "map.html", map=parts, statuses=REPORT_STATUSES, groups=groups, channels=CHANNELS, areas=areas
    )


@bp.get("/cases")
def cases():
    f = CaseFilter(
        status=request.args.get("status") or None,
        category=request.args.get("category") or None,
        grid=request.args.get("grid") or None,
        overdue=request.args.get("overdue") == "1",
        unassigned=request.args.get("unassigned") == "1",
        date_from=date_arg("from"),
        date_to=date_arg("to"),
    )
    page = max(request.args.get("page", 1, type=int), 1)
    size = 50
    rows, total = find_cases(db(), current_row(), f, page, size)
    categories = db().scalars(select(Category).order_by(Category.sort)).all()
    return render_template(
        "cases.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // size)),
        f=f,
        statuses=REPORT_STATUSES,
        categories=categories,
        light=traffic_light,
    )


def _visible_report(report_id: int) -> Report:
    report = get_report(db(), report_id)
    scope = visible_to(current_row())
    if scope is not None and not db().scalar(select(Report.id).where(Report.id == report.id, scope)):
        abort(403, "this case is outside your grids or department")
    return report


@bp.get("/cases/<int:report_id>")
def case(report_id: int):
    report = _visible_report(report_id)
    point = to_shape(report.geom)
    departments = db().scalars(select(Department).order_by(Department.code)).all()
    return render_template(
        "case.html",
        report=report,
        chain=area_chain(db(), report.grid_id),
        point={"lon": point.x, "lat": point.y},
        light=traffic_light(report),
        actions=available_actions(current_row(), report),
        departments=departments,
    )


@bp.post("/cases/<int:report_id>/actions")
def case_action(report_id: int):
    report = _visible_report(report_id)
    form = request.form
    try:
        hours = float(form["hours"]) if form.get("hours") else None
        act(
            db(),
            report,
            current_row(),
            form.get("action", ""),
            version=form.get("version", type=int),
            note=form.get("note"),
            department_id=form.get("department", type=int),
            hours=hours,
        )
        flash(f"Done: {form.get('action')}.", "success")
    except DomainError as exc:
        db().rollback()
        flash(exc.message, "danger")
    except ValueError:
        flash("hours must be a number", "danger")
    return redirect(url_for("pages.case", report_id=report_id))


@bp.get("/report")
def report():
    """The grid worker's phone page: drop a pin, pick a category, send."""
    categories = db().scalars(select(Category).order_by(Category.sort)).all()
    tree = [
        {
            "code": c.code,
            "name": c.name,
            "name_en": c.name_en,
            "children": [
                {"code": k.code, "name": k.name, "name_en": k.name_en}
                for k in categories
                if k.parent_code == c.code
            ],
        }
        for c in categories
        if c.parent_code is None
    ]
    # where the map starts when the phone has no GPS fix: the worker's grids, else all grids
    extent = grids_extent(db(), [g.id for g in current_row().grids])
    return render_template(
        "report.html", categories_json=json.dumps(tree, ensure_ascii=False), extent_json=json.dumps(extent)
    )
