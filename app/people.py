"""Households and the people's diary over HTTP: a building's page, the phone's visit form, the
diary, the households nobody visited lately (a list and a map layer), the households import, a
person's export and erasure. Each route calls one function of ``gis.people``; the policy is there."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from app.auth import current_viewer, roles_required
from app.database import db, reads
from app.i18n import CategoryNames
from app.networks import unmasked_contacts
from app.openapi import Reply, operation, query_of
from app.params import today
from app.schemas import (
    GEO,
    GEOJSON,
    REFUSED,
    MonthQuery,
    OpenReportIn,
    UnvisitedLayerQuery,
    UnvisitedOut,
    UnvisitedQuery,
    VisitIn,
    VisitOut,
    VisitsOut,
    VisitsQuery,
    iso,
)
from gis.areas.networks import building_areas
from gis.cases.listing import CaseFilter, find_cases
from gis.cases.policy import areas_visible_to
from gis.errors import DomainError, Invalid, NotFound
from gis.geojson import parse_bbox
from gis.i18n import _
from gis.models import (
    HOUSEHOLD_FLAG_NAMES,
    HOUSEHOLD_FLAGS,
    NETWORK_ROLE_NAMES,
    PERSON_KIND_NAMES,
    Area,
    Category,
    Household,
)
from gis.people.diary import (
    ALONE_RED_DAYS,
    DEFAULT_UNVISITED_DAYS,
    PAGE,
    DiaryFilter,
    close_follow_up,
    find_visits,
    follow_ups_due,
    not_visited,
    not_visited_geojson,
    open_report_from,
    record_visit,
    visit_photo,
    visits_per_worker,
)
from gis.people.households import (
    OUTCOMES,
    HouseholdsRefused,
    add_head,
    delete_household,
    import_households,
    save_household,
)
from gis.people.persons import building_people, erase_person, export_person
from gis.spreadsheets import csv_cell

bp = Blueprint("people", __name__)
DIARY_ROLES = ("grid_worker", "supervisor", "dispatcher", "admin")
IMPORT_ROLES = ("planner", "supervisor", "admin")


def _grid_id(code: str | None) -> int | None:
    if not code:
        return None
    grid_id = db().scalar(select(Area.id).where(Area.code == code, Area.level == "grid"))
    if grid_id is None:
        raise NotFound(_("no grid %(code)s", code=code))
    return grid_id


def _diary_filter(query: VisitsQuery) -> DiaryFilter:
    before = None
    if query.before:
        day, _sep, visit_id = query.before.partition(":")
        try:
            before = (dt.date.fromisoformat(day), int(visit_id))
        except ValueError:
            raise Invalid(
                _("before is a visit's 'date:id'"), fields={"before": _("is not a visit")}
            ) from None
    return DiaryFilter(
        grid_id=_grid_id(query.grid),
        user_id=query.user,
        household_id=query.household,
        building_id=query.building,
        q=query.q,
        before=before,
    )


def _next(rows: list[dict]) -> str | None:
    return f"{rows[-1]['visited_on'].isoformat()}:{rows[-1]['id']}" if len(rows) == PAGE else None


# -- the building's page -----------------------------------------------------------------------------
@bp.get("/buildings/<id:building_id>")
def building_page(building_id: int):
    viewer = current_viewer()
    people = building_people(db(), viewer, building_id, via=request.path)
    cases, _total = find_cases(db(), viewer, CaseFilter(building_id=building_id), page_size=20)
    visits = find_visits(db(), viewer, DiaryFilter(building_id=building_id), via=request.path, size=20)
    return render_template(
        "building.html",
        **people,
        cases=cases,
        visits=visits,
        flags=HOUSEHOLD_FLAGS,
        flag_names=HOUSEHOLD_FLAG_NAMES,
        kind_names=PERSON_KIND_NAMES,
        today=today(),
        red_days=ALONE_RED_DAYS,
        networks=building_areas(db(), building_id, unmasked_contacts()),
        network_role_names=NETWORK_ROLE_NAMES,
    )


def _back(building_id: int, anchor: str = ""):
    return redirect(url_for("people.building_page", building_id=building_id) + anchor)


@bp.post("/buildings/<id:building_id>/households")
def save_household_page(building_id: int):
    form = {k: request.form.get(k) for k in ("room", "unit", "address", "size", "contact", "phone", "notes")}
    form["flags"] = request.form.getlist("flags")
    try:
        household = save_household(db(), current_viewer(), building_id, form)
        flash(_("Household %(room)s saved.", room=household.room), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return _back(building_id, "#households")


@bp.post("/buildings/<id:building_id>/households/<id:household_id>/delete")
def delete_household_page(building_id: int, household_id: int):
    try:
        delete_household(db(), current_viewer(), building_id, household_id)
        flash(_("Household removed; its visits still count."), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return _back(building_id, "#households")


@bp.post("/buildings/<id:building_id>/heads")
def add_head_page(building_id: int):
    f = request.form
    try:
        add_head(
            db(),
            current_viewer(),
            building_id,
            f.get("kind", ""),
            f.get("name", ""),
            f.get("phone"),
            f.get("unit"),
        )
        flash(_("Head added."), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return _back(building_id, "#heads")


@bp.post("/people/<id:person_id>/erase")
def erase_page(person_id: int):
    building_id = request.form.get("building", type=int)
    try:
        cleared = erase_person(db(), current_viewer(), person_id, via=request.path)
        flash(
            _("Erased; %(count)s visit(s) keep their date and count, not what they said.", count=cleared),
            "success",
        )
    except DomainError as exc:
        flash(exc.message, "danger")
    return _back(building_id) if building_id else redirect(url_for("people.diary"))


# -- the diary -----------------------------------------------------------------------------------------
@bp.get("/diary")
def diary():
    viewer = current_viewer()
    query = query_of(VisitsQuery)
    rows = find_visits(db(), viewer, _diary_filter(query), via=request.full_path)
    due = follow_ups_due(db(), viewer, today()) if viewer.role == "grid_worker" else []
    return render_template(
        "diary.html",
        visits=rows,
        due=due,
        next=_next(rows),
        args={k: v for k, v in request.args.items() if k != "before"},
        today=today(),
    )


@bp.get("/diary/visit")
@roles_required(*DIARY_ROLES)
def visit_form():
    """The phone's visit form (kept offline by the service worker; what it sends waits in the outbox)."""
    household = request.args.get("household", type=int)
    building = request.args.get("building", type=int)
    if household is None and building is None:
        raise Invalid(_("a visit is to a household or a building"), fields={"household": _("is required")})
    building_id = building
    if household is not None:
        found = db().get(Household, household)
        if found is None:
            raise NotFound(_("no household %(id)s", id=household))
        building_id = found.building_id
    assert building_id is not None
    people = building_people(db(), current_viewer(), building_id, via=request.path)
    if not people["handled"]:
        raise NotFound(_("no building %(id)s", id=building_id))
    target = next((h for h in people["households"] if h["id"] == household), None)
    return render_template(
        "visit.html",
        building=people["building"],
        household=target,
        met_choices=(target["people"] if target else people["heads"]),
        today=today(),
        categories=_category_options(),
    )


def _category_options() -> list[dict]:
    names = CategoryNames()
    rows = db().execute(
        select(Category.code).where(Category.parent_code.is_not(None)).order_by(Category.sort, Category.code)
    )
    return [{"code": code, "name": names.get(code, code)} for (code,) in rows]


@bp.post("/diary/<id:visit_id>/done")
def follow_up_done(visit_id: int):
    try:
        close_follow_up(db(), current_viewer(), visit_id)
        flash(_("Follow-up done."), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(request.referrer or url_for("people.diary"))


@bp.post("/diary/<id:visit_id>/report")
def open_report_page(visit_id: int):
    try:
        report_id = open_report_from(db(), current_viewer(), visit_id, request.form.get("category", ""))
    except DomainError as exc:
        flash(exc.message, "danger")
        return redirect(request.referrer or url_for("people.diary"))
    return redirect(url_for("pages.case", report_id=report_id))


@bp.get("/households/unvisited")
def unvisited_page():
    query = query_of(UnvisitedQuery) if request.args.get("grid") else None
    rows, total = [], 0
    if query is not None:
        grid_id = _grid_id(query.grid)
        assert grid_id is not None
        rows, total = not_visited(
            db(), current_viewer(), grid_id, query.days, today(), via=request.full_path, page=query.page
        )
    viewer = current_viewer()
    grids = (
        db()
        .execute(
            select(Area.code, Area.name)
            .where(Area.level == "grid", areas_visible_to(viewer).clause())  # the grids one may look at
            .order_by(Area.code)
            .limit(2000)
        )
        .all()
    )
    return render_template(
        "unvisited.html",
        rows=rows,
        total=total,
        query=query,
        grids=grids,
        days=query.days if query else DEFAULT_UNVISITED_DAYS,
        page=query.page if query else 1,
        pages=max(1, -(-total // PAGE)),
        flag_names=HOUSEHOLD_FLAG_NAMES,
        red_days=ALONE_RED_DAYS,
    )


# -- the households import -------------------------------------------------------------------------------
@bp.route("/import/households", methods=["GET", "POST"])
@roles_required(*IMPORT_ROLES)
def import_page():
    report, error = None, None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = _("choose a .csv or .xlsx file")
        else:
            try:
                report = import_households(
                    db(), upload.filename, upload.read(), dry_run=request.form.get("dry_run") == "1"
                ).as_dict()
            except HouseholdsRefused as exc:
                report, error = exc.report.as_dict(), exc.message
            except DomainError as exc:
                error = exc.message
    status = 422 if error else 200
    return render_template("households_import.html", report=report, error=error, outcomes=OUTCOMES), status


# -- the API -------------------------------------------------------------------------------------------------
@bp.post("/api/v1/visits")
@roles_required(*DIARY_ROLES)
@operation(
    "Record a visit of the people's diary; a repeated client_id answers with the first visit",
    body=VisitIn,
    form=VisitIn,
    files={"photo": "a photo of the visit (JPEG, PNG or WebP)"},
    responses={
        201: Reply(VisitOut),
        200: Reply(VisitOut, description="the visit this client_id made"),
        "default": REFUSED,
    },
    tags=("diary",),
)
def create_visit(body: VisitIn):
    photo = None if request.is_json else request.files.get("photo")
    recorded = record_visit(
        db(),
        current_viewer(),
        visited_on=body.visited_on or today(),
        today=today(),
        household_id=body.household_id,
        building_id=body.building_id,
        met=body.met,
        met_person_id=body.met_person_id,
        discussed=body.discussed,
        needs=body.needs,
        follow_up_on=body.follow_up_on,
        photo=photo.read() if photo and photo.filename else None,
        client_id=body.client_id,
        report_category=body.report_category,
    )
    out = {
        "id": recorded.visit_id,
        "created": recorded.created,
        "report_id": recorded.report_id,
        "url": url_for("people.diary", _anchor=f"visit-{recorded.visit_id}"),
    }
    return jsonify(out), 201 if recorded.created else 200


@bp.get("/api/v1/visits")
@operation(
    "The people's diary, newest first: whole for the grid's worker and staff, masked for others",
    query=VisitsQuery,
    responses={200: Reply(VisitsOut), "default": REFUSED},
    tags=("diary",),
)
def list_visits(query: VisitsQuery):
    rows = find_visits(db(), current_viewer(), _diary_filter(query), via=request.full_path)
    return jsonify({"visits": [_visit_json(r) for r in rows], "next": _next(rows)})


def _visit_json(r: dict) -> dict:
    """A row with its days and times as ISO text (the API's dates: ``app.schemas.iso``)."""
    return {k: iso(v) if isinstance(v, dt.date) else v for k, v in r.items()}


@bp.get("/api/v1/visits/<id:visit_id>/photo")
@operation(
    "A visit's photo, for the grid's worker and staff",
    responses={200: Reply(None, "image/jpeg"), "default": REFUSED},
    tags=("diary",),
)
def visit_photo_file(visit_id: int):
    data = visit_photo(db(), current_viewer(), visit_id, via=request.path)
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


@bp.post("/api/v1/visits/<id:visit_id>/report")
@operation(
    "Open a report from a visit (at its building, its needs as the description), linked both ways",
    body=OpenReportIn,
    form=OpenReportIn,
    responses={200: Reply(VisitOut), "default": REFUSED},
    tags=("diary",),
)
def visit_report(visit_id: int, body: OpenReportIn):
    report_id = open_report_from(db(), current_viewer(), visit_id, body.category)
    return jsonify(
        {
            "id": visit_id,
            "created": False,
            "report_id": report_id,
            "url": url_for("pages.case", report_id=report_id),
        }
    )


@bp.get("/api/v1/buildings/<id:building_id>/people")
@operation(
    "A building's units, households and heads (masked unless the asker handles its grid)",
    responses={200: Reply(None), "default": REFUSED},
    tags=("diary",),
)
def building_people_json(building_id: int):
    people = building_people(db(), current_viewer(), building_id, via=request.path)
    b = people.pop("building")
    for h in people["households"]:
        h["last_visit_on"] = h["last_visit_on"] and h["last_visit_on"].isoformat()
    for p in [*people["heads"], *(x for h in people["households"] for x in h["people"])]:
        p.pop("user_id", None)
    return jsonify(
        {"building": {"id": b.id, "name": b.name, "address": b.address, "grid_id": b.grid_id}, **people}
    )


@bp.get("/api/v1/households/unvisited")
@operation(
    "A grid's households not visited in `days` (flags first; red: an elderly person living alone, 30 days)",
    query=UnvisitedQuery,
    responses={200: Reply(UnvisitedOut), "default": REFUSED},
    tags=("diary",),
)
def unvisited(query: UnvisitedQuery):
    grid_id = _grid_id(query.grid)
    assert grid_id is not None
    rows, total = not_visited(
        db(), current_viewer(), grid_id, query.days, today(), via=request.full_path, page=query.page
    )
    return jsonify(
        {"grid": query.grid, "days": query.days, "total": total, "households": [_visit_json(r) for r in rows]}
    )


@bp.get("/api/v1/layers/unvisited.geojson")
@operation(
    "Buildings with households not visited in `days`, as points with counts (no names)",
    query=UnvisitedLayerQuery,
    responses={200: GEO, "default": REFUSED},
    tags=("map",),
)
def unvisited_layer(query: UnvisitedLayerQuery):
    body = not_visited_geojson(reads(), current_viewer(), parse_bbox(query.bbox), query.days, today())
    return Response(body, mimetype=GEOJSON)


@bp.get("/api/v1/people/<id:person_id>/export")
@operation(
    "Everything held on a person (their request for their data), for the grid's worker and staff",
    responses={200: Reply(None), "default": REFUSED},
    tags=("diary",),
)
def export_person_json(person_id: int):
    out = export_person(db(), current_viewer(), person_id, via=request.path)
    return Response(
        json.dumps(out, ensure_ascii=False, indent=1, default=str),
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename=gridwatch-person-{person_id}.json"},
    )


@bp.post("/api/v1/people/<id:person_id>/erase")
@operation(
    "Erase a person on request (name, phone, what the visits that met them say); visit counts stay",
    responses={200: Reply(None), "default": REFUSED},
    tags=("diary",),
)
def erase_person_json(person_id: int):
    cleared = erase_person(db(), current_viewer(), person_id, via=request.path)
    return jsonify({"id": person_id, "erased": True, "visits_cleared": cleared})


@bp.get("/api/v1/visits/per-worker")
@roles_required("supervisor", "dispatcher")
@operation(
    "Visits per grid worker in a month (YYYY-MM, default this one), in the asker's area",
    query=MonthQuery,
    responses={200: Reply(None), "default": REFUSED},
    tags=("indicators",),
)
def visits_per_worker_json(query: MonthQuery):
    month, rows = _per_worker(query)
    return jsonify({"month": month.strftime("%Y-%m"), "workers": rows})


def _per_worker(query: MonthQuery) -> tuple[dt.date, list[dict]]:
    month = dt.date.fromisoformat(f"{query.month}-01") if query.month else today().replace(day=1)
    return month, visits_per_worker(db(), current_viewer(), month, query.within)


@bp.get("/dashboard/visits.csv")
@roles_required("supervisor", "dispatcher")
def visits_csv():
    month, rows = _per_worker(query_of(MonthQuery))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [_("grid worker"), _("visits"), _("households visited"), _("follow-ups open"), _("reports opened")]
    )
    writer.writerows(
        [csv_cell(r["worker"]), r["visits"], r["households"], r["follow_ups_open"], r["reports"]]
        for r in rows
    )
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=gridwatch-visits-{month:%Y-%m}.csv"},
    )


API_WRITES = (create_visit, visit_report, erase_person_json)  # CSRF: the API checks it itself
