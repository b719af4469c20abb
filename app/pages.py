"""Pages for people: the supervisors' map, the case list and case page, the worker's report page."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from app import IdConverter
from app.auth import current_row, current_viewer
from app.dashboard import STAT_ROLES
from app.database import db
from app.delivery import inline_on_first_visit
from app.i18n import request_locale
from app.maps import render_parts, supervisor_map
from app.networks import unmasked_contacts
from app.params import date_arg, department_id, proof_from_request, today, user_id
from app.schemas import area_chain
from gis.areas.networks import areas_at, networks
from gis.cases.bulk import BULK_ACTIONS, OUTCOME_NAMES, act_on_many
from gis.cases.categories import display_names, is_dispute
from gis.cases.inbox import NEEDS, NEW_LIMIT, needs_of, new_count
from gis.cases.lifecycle import (
    ACTIONS,
    act,
    assignable_people,
    available_actions,
    event_name,
    people_viewer_assigns,
    traffic_light,
)
from gis.cases.listing import (
    COUNT_LIMIT,
    MAX_PAGE,
    CaseFilter,
    cursor_of,
    delete_filter,
    find_cases,
    inbox,
    save_filter,
    saved_filters,
)
from gis.cases.mediation import follow_up_of, mediators_for, next_levels, path_of
from gis.cases.policy import is_responsible, load_visible, takes
from gis.cases.replies import add_template, remove_template, templates_for
from gis.errors import DomainError
from gis.i18n import _
from gis.maps.layers import grids_extent
from gis.models import (
    CHANNELS,
    MEDIATION_LEVEL_NAMES,
    MEDIATION_OUTCOME_NAMES,
    MEDIATION_OUTCOMES,
    NETWORK_ROLE_NAMES,
    REPORT_STATUSES,
    SATISFACTION,
    SATISFACTION_NAMES,
    Area,
    Category,
    Department,
    utcnow,
)
from gis.people.diary import follow_ups_due, visit_of_report

bp = Blueprint("pages", __name__)


MY_LIST = 20


@bp.get("/")
def home():
    if current_row().role in ("grid_worker", "volunteer"):
        return redirect(url_for("pages.report"))
    return redirect(url_for("pages.map"))


@bp.get("/map")
def map():
    viewer = current_viewer()
    parts = render_parts(supervisor_map(grids_extent(db(), viewer.grid_ids or None), _codes(viewer.grid_ids)))
    groups = (
        db().scalars(select(Category).where(Category.parent_code.is_(None)).order_by(Category.sort)).all()
    )
    areas = _streets_and_communities()
    return render_template(
        "map.html",
        map=parts,
        statuses=REPORT_STATUSES,
        groups=groups,
        channels=CHANNELS,
        areas=areas,
        wall=request.args.get("wall") == "1" and current_viewer().role in {*STAT_ROLES, "admin"},
        networks=networks(db()),
    )


def _streets_and_communities() -> list[Area]:
    """Streets, each followed by its communities (codes sort that way): the filters' area names."""
    return list(
        db().scalars(select(Area).where(Area.level.in_(("street", "community"))).order_by(Area.code)).all()
    )


def _codes(grid_ids) -> list[str]:
    """The codes of these grids (a worker's own, highlighted on the map)."""
    if not grid_ids:
        return []
    return list(db().scalars(select(Area.code).where(Area.id.in_(grid_ids)).order_by(Area.code)))


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
        q=(request.args.get("q") or "").strip() or None,
        need=request.args.get("need") or None,
        sort=request.args.get("sort") or "created",
        descending=request.args.get("dir") != "asc",
        after=request.args.get("after") or None,
        before=request.args.get("before") or None,
    )
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    size = 50
    rows, total = find_cases(db(), current_viewer(), f, page, size)
    categories = db().scalars(select(Category).order_by(Category.sort)).all()
    return render_template(
        "cases.html",
        rows=rows,
        total=total,
        count_limit=COUNT_LIMIT,
        page=page,
        pages=max(1, -(-min(total, COUNT_LIMIT) // size)),
        f=f,
        filtered=any(
            request.args.get(k)
            for k in ("status", "category", "grid", "from", "to", "overdue", "unassigned", "need")
        ),
        statuses=REPORT_STATUSES,
        categories=categories,
        areas=_streets_and_communities(),
        light=traffic_light,
        saved=saved_filters(db(), current_viewer()),
        bulk_actions=[ACTIONS[name] for name in BULK_ACTIONS if takes(current_viewer(), ACTIONS[name])],
        departments=db().scalars(select(Department).order_by(Department.code)).all(),
        people=people_viewer_assigns(db(), current_viewer()),
        need=NEEDS.get(f.need) if f.need else None,
        # keyset paging: each link starts after the last row shown (or before the first)
        newer=cursor_of(f, rows[0].report) if rows else None,
        older=cursor_of(f, rows[-1].report) if rows else None,
    )


@bp.post("/cases/bulk")
def bulk_action():
    """The list's bulk step: the picked cases (id:version as the list showed them), each done,
    changed meanwhile or not allowed, shown case by case."""
    form = request.form
    items = []
    for pick in form.getlist("pick"):
        report_id, _sep, version = pick.partition(":")
        if report_id.isdigit() and version.isdigit() and int(report_id) <= IdConverter.MAX:
            items.append((int(report_id), int(version)))
    try:
        outcomes = act_on_many(
            db(),
            current_viewer(),
            form.get("action", ""),
            items,
            note=form.get("note"),
            department_id=department_id(form.get("department")),
            assignee_id=user_id(form.get("assignee")),
        )
    except DomainError as exc:
        flash(exc.message, "danger")
        return redirect(request.referrer or url_for("pages.cases"))
    return render_template(
        "bulk.html", outcomes=outcomes, action=ACTIONS[form["action"]], names=OUTCOME_NAMES
    )


PAGING_ARGS = ("page", "after", "before")  # where a list stands, not what it shows


@bp.post("/cases/filters")
def save_filter_page():
    pairs = parse_qsl(request.form.get("query", "")[:2000])
    query = urlencode([(k, v) for k, v in pairs if k not in PAGING_ARGS])
    try:
        save_filter(db(), current_viewer(), request.form.get("name"), query)
        flash(_("Filter saved."), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("pages.cases") + "?" + query)


@bp.post("/cases/filters/<id:filter_id>/delete")
def delete_filter_page(filter_id: int):
    delete_filter(db(), current_viewer(), filter_id)
    return redirect(url_for("pages.cases"))


@bp.get("/templates")
def templates_page():
    """A department's reply templates (常用语): its lead keeps them, its members pick them on a case."""
    viewer = current_viewer()
    keeps = viewer.role == "admin" or viewer.department_lead
    return render_template("templates.html", templates=templates_for(db(), viewer), keeps=keeps)


@bp.post("/templates")
def add_template_page():
    try:
        add_template(db(), current_viewer(), request.form.get("text"))
        flash(_("Template added."), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("pages.templates_page"))


@bp.post("/templates/<id:template_id>/delete")
def delete_template_page(template_id: int):
    try:
        remove_template(db(), current_viewer(), template_id)
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("pages.templates_page"))


@bp.get("/cases/<id:report_id>")
def case(report_id: int):
    report = load_visible(db(), current_viewer(), report_id, via=request.path)
    point = to_shape(report.geom)
    departments = db().scalars(select(Department).order_by(Department.code)).all()
    actions = available_actions(db(), current_viewer(), report)
    return render_template(
        "case.html",
        report=report,
        chain=area_chain(db(), report.grid_id),
        point={"lon": point.x, "lat": point.y},
        light=traffic_light(report),
        actions=actions,
        departments=departments,
        people=assignable_people(db(), report) if any(a.name == "assign" for a in actions) else [],
        templates=templates_for(db(), current_viewer()) if actions else [],
        from_visit=visit_of_report(db(), report.id),
        networks=areas_at(db(), point.x, point.y, unmasked_contacts()),
        network_role_names=NETWORK_ROLE_NAMES,
        mediation=mediation_of(report) if is_dispute(report.category_code) else None,
    )


def mediation_of(report) -> dict:
    """A dispute's path as the case page shows it, with the forms of those who answer for it."""
    steps = path_of(db(), report.id)
    return {
        "steps": steps,
        "follow_up": follow_up_of(db(), report.id),
        "next_levels": next_levels(steps),
        "may_record": is_responsible(db(), current_viewer(), report.id),
        "mediators": mediators_for(db(), report),
        "level_names": MEDIATION_LEVEL_NAMES,
        "outcome_names": MEDIATION_OUTCOME_NAMES,
        "outcomes": MEDIATION_OUTCOMES,
        "satisfaction_names": SATISFACTION_NAMES,
        "satisfactions": SATISFACTION,
    }


@bp.post("/cases/<id:report_id>/actions")
def case_action(report_id: int):
    report = load_visible(db(), current_viewer(), report_id, via=request.path)
    form = request.form
    try:
        hours = float(form["hours"]) if form.get("hours") else None
        with db().begin_nested():  # a refused action writes nothing; the read stays recorded
            act(
                db(),
                report,
                current_viewer(),
                form.get("action", ""),
                version=form.get("version", type=int),
                note=form.get("note"),
                department_id=form.get("department", type=int),
                assignee_id=form.get("assignee", type=int),
                hours=hours,
                proof=proof_from_request(form.get("lon") or None, form.get("lat") or None),
                verify_radius_m=current_app.config["VERIFY_RADIUS_M"],
            )
        flash(_("Done: %(action)s.", action=event_name(form.get("action", ""))), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    except ValueError:
        flash(_("hours must be a number"), "danger")
    return redirect(url_for("pages.case", report_id=report_id))


@bp.get("/my")
def my():
    """The phone's "my work": what I reported (status, timeline), the cases waiting for me to
    verify, my grids' open cases; what changed since I last looked is marked."""
    viewer, row = current_viewer(), current_row()
    seen_at = row.my_seen_at
    mine, mine_total = find_cases(db(), viewer, CaseFilter(reporter_id=viewer.id), 1, MY_LIST)
    # the inbox's section (a grid worker: the checks a dispatcher gave them; a supervisor: their area's)
    to_verify, verify_total = (
        find_cases(db(), viewer, CaseFilter(need="to_verify"), 1, MY_LIST)
        if any(n.key == "to_verify" for n in needs_of(viewer))
        else ([], 0)
    )
    grids_open, grids_total = (
        find_cases(db(), viewer, CaseFilter(status="open"), 1, MY_LIST) if viewer.grid_ids else ([], 0)
    )
    row.my_seen_at = utcnow()  # committed with the answer
    return render_template(
        "my.html",
        follow_ups=follow_ups_due(db(), viewer, today()) if viewer.role == "grid_worker" else [],
        sections=[
            ("mine", _("My reports"), mine, mine_total, url_for("pages.cases")),
            (
                "verify",
                _("Waiting for me to verify on site"),
                to_verify,
                verify_total,
                url_for("pages.cases", need="to_verify"),
            ),
            (
                "grids",
                _("Open cases in my grids"),
                grids_open,
                grids_total,
                url_for("pages.cases", status="open"),
            ),
        ],
        seen_at=seen_at,
        count_limit=COUNT_LIMIT,
        light=traffic_light,
    )


@bp.get("/inbox")
def inbox_page():
    """What needs me now, section by section; what changed since I last looked is marked."""
    row = current_row()
    seen_at = row.inbox_seen_at
    sections = inbox(db(), current_viewer(), seen_at)
    row.inbox_seen_at = utcnow()  # committed with the answer
    return render_template(
        "inbox.html", sections=sections, seen_at=seen_at, count_limit=COUNT_LIMIT, light=traffic_light
    )


@bp.app_context_processor
def inbox_badge():
    """The nav's count of what changed in my inbox since I last looked (asked only by pages
    that draw the nav for someone logged in)."""

    def new_in_inbox() -> int:
        return new_count(db(), current_viewer(), current_row().inbox_seen_at)

    return {"new_in_inbox": new_in_inbox, "new_limit": NEW_LIMIT}


@bp.get("/report")
def report():
    """The grid worker's phone page: drop a pin, pick a category, send."""
    inline_on_first_visit()
    categories = db().scalars(select(Category).order_by(Category.sort)).all()
    names = display_names(categories, request_locale())
    tree = [
        {
            "code": c.code,
            "name": names[c.code],
            "children": [
                {"code": k.code, "name": names[k.code]} for k in categories if k.parent_code == c.code
            ],
        }
        for c in categories
        if c.parent_code is None
    ]
    # where the map starts when the phone has no GPS fix: the worker's grids, a volunteer's
    # community's, else all grids
    row = current_row()
    grid_ids = [g.id for g in row.grids]
    if row.role == "volunteer" and row.area_code:
        grid_ids = list(
            db().scalars(select(Area.id).where(Area.level == "grid", Area.code.startswith(row.area_code)))
        )
    extent = grids_extent(db(), grid_ids)
    return render_template(
        "report.html", categories_json=json.dumps(tree, ensure_ascii=False), extent_json=json.dumps(extent)
    )
