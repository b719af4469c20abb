"""The community's own organisations over HTTP: volunteer teams, their monthly points (a table, an
export, a board the community can show), the points rules (admins), a dispute's mediation path and
follow-up call, the mediation figures. Each route calls one function of ``gis.people.volunteers``
or ``gis.cases.mediation``; the policy is there."""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask import (
    Blueprint,
    Response,
    current_app,
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
from app.openapi import Reply, operation, query_of
from app.params import parse_time, period_arg, today
from app.schemas import REFUSED, MediationQuery, PointsQuery
from gis.cases.mediation import mediation_figures, record_follow_up, record_step
from gis.cases.policy import communities_seen_by, runs_community, stats_area
from gis.errors import DomainError, Invalid, NotFound
from gis.i18n import _
from gis.models import (
    MEDIATION_LEVEL_NAMES,
    MEDIATION_LEVELS,
    POINT_ACTION_NAMES,
    POINT_ACTIONS,
    TEAM_KIND_NAMES,
    TEAM_KINDS,
    Area,
    User,
)
from gis.people.volunteers import (
    add_member,
    add_point_rule,
    create_team,
    monthly_points,
    parse_month,
    point_rules,
    remove_member,
    teams_seen_by,
)
from gis.spreadsheets import csv_cell

bp = Blueprint("community", __name__)


def _communities() -> list[Area]:
    """The communities the asker may read the teams and points of."""
    seen = communities_seen_by(current_viewer(), "areas.code")
    return list(
        db().scalars(
            select(Area).where(Area.level == "community", seen.clause()).order_by(Area.code).limit(500)
        )
    )


# -- teams -----------------------------------------------------------------------------------------
@bp.get("/teams")
def teams_page():
    viewer = current_viewer()
    community = request.args.get("community") or None
    teams = teams_seen_by(db(), viewer, community)
    communities = _communities()
    runs = [c for c in communities if runs_community(viewer, c.code)]
    run_codes = {c.code for c in runs}
    volunteers: dict[str, list[User]] = {}
    if runs:
        for user in db().scalars(
            select(User)
            .where(User.role == "volunteer", User.active, User.area_code.in_(run_codes))
            .order_by(User.display_name)
        ):
            volunteers.setdefault(user.area_code or "", []).append(user)
    return render_template(
        "teams.html",
        teams=teams,
        communities=communities,
        runs=runs,
        run_codes=run_codes,
        volunteers=volunteers,
        community=community,
        kinds=TEAM_KINDS,
        kind_names=TEAM_KIND_NAMES,
    )


@bp.post("/teams")
def create_team_page():
    f = request.form
    try:
        team = create_team(
            db(),
            current_viewer(),
            community_code=f.get("community", ""),
            kind=f.get("kind", ""),
            name=f.get("name", ""),
        )
        flash(_("Team %(name)s made.", name=team.name), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("community.teams_page"))


@bp.post("/teams/<id:team_id>/members")
def add_member_page(team_id: int):
    try:
        user = add_member(
            db(),
            current_viewer(),
            team_id,
            request.form.get("username", ""),
            leader=bool(request.form.get("leader")),
        )
        flash(_("%(name)s is in the team.", name=user.display_name), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("community.teams_page") + f"#team-{team_id}")


@bp.post("/teams/<id:team_id>/members/<id:user_id>/remove")
def remove_member_page(team_id: int, user_id: int):
    try:
        remove_member(db(), current_viewer(), team_id, user_id)
        flash(_("Removed from the team."), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("community.teams_page") + f"#team-{team_id}")


# -- points ----------------------------------------------------------------------------------------
def _points() -> dict:
    query = query_of(PointsQuery)
    month = parse_month(query.month, today())
    return monthly_points(reads(), current_viewer(), month, current_app.config["TIMEZONE"], query.community)


@bp.get("/points")
def points_page():
    result = _points()
    month = dt.date.fromisoformat(result["month"] + "-01")
    return render_template(
        "points.html",
        result=result,
        communities=_communities(),
        community=request.args.get("community") or "",
        actions=POINT_ACTIONS,
        action_names=POINT_ACTION_NAMES,
        kind_names=TEAM_KIND_NAMES,
        previous=(month - dt.timedelta(days=1)).strftime("%Y-%m"),
        following=(month + dt.timedelta(days=32)).strftime("%Y-%m"),
        board=request.args.get("board") == "1",
    )


@bp.get("/api/v1/points")
@operation(
    "A month's volunteer points (per action) and team totals, for the asker's communities",
    query=PointsQuery,
    responses={200: Reply(None), "default": REFUSED},
    tags=("volunteers",),
)
def points_json(query: PointsQuery):
    return jsonify(_points())


@bp.get("/points.csv")
def points_csv():
    result = _points()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [_("volunteer"), _("community"), *(str(POINT_ACTION_NAMES[a]) for a in POINT_ACTIONS), _("points")]
    )
    for v in result["volunteers"]:
        writer.writerow(
            [
                csv_cell(v["name"]),
                csv_cell(v["community_name"] or v["community"]),
                *(v["actions"][a]["points"] for a in POINT_ACTIONS),
                v["points"],
            ]
        )
    writer.writerow([])
    writer.writerow([_("team"), _("community"), _("members"), _("points")])
    for t in result["teams"]:
        writer.writerow([csv_cell(t["name"]), t["community"], t["members"], t["points"]])
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=gridwatch-points-{result['month']}.csv"},
    )


@bp.get("/admin/point-rules")
@roles_required("admin")
def point_rules_page():
    return render_template(
        "point_rules.html",
        rules=point_rules(db()),
        actions=POINT_ACTIONS,
        action_names=POINT_ACTION_NAMES,
        today=today(),
    )


@bp.post("/admin/point-rules")
@roles_required("admin")
def add_point_rule_page():
    f = request.form
    try:
        try:
            points = float(f.get("points", ""))
            effective_from = dt.date.fromisoformat(f.get("effective_from", ""))
        except ValueError:
            raise Invalid(_("give the points as a number and the day as YYYY-MM-DD")) from None
        add_point_rule(
            db(),
            current_viewer(),
            action=f.get("action", ""),
            points=points,
            effective_from=effective_from,
            today=today(),
        )
        flash(_("Rule saved."), "success")
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("community.point_rules_page"))


# -- mediation -------------------------------------------------------------------------------------
@bp.post("/cases/<id:report_id>/mediation")
def mediation_step_page(report_id: int):
    f = request.form
    try:
        record_step(
            db(),
            current_viewer(),
            report_id,
            level=f.get("level", ""),
            outcome=f.get("outcome", ""),
            mediator_username=f.get("mediator_username") or None,
            mediator_name=f.get("mediator_name") or None,
            note=f.get("note"),
            at=parse_time(f.get("at"), "at"),
            via=request.path,
        )
        flash(_("Mediation step recorded."), "success")
    except NotFound:
        raise  # a case the asker may not open: as for one that does not exist
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("pages.case", report_id=report_id) + "#mediation")


@bp.post("/cases/<id:report_id>/follow-up")
def follow_up_page(report_id: int):
    f = request.form
    try:
        record_follow_up(
            db(),
            current_viewer(),
            report_id,
            satisfaction=f.get("satisfaction", ""),
            note=f.get("note"),
            at=parse_time(f.get("at"), "at"),
            via=request.path,
        )
        flash(_("Follow-up call recorded."), "success")
    except NotFound:
        raise
    except DomainError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("pages.case", report_id=report_id) + "#mediation")


def _mediation() -> dict:
    query = query_of(MediationQuery)
    period = period_arg()
    within = stats_area(current_viewer(), query.within)
    result = mediation_figures(reads(), current_viewer(), period.start, period.end, within)
    result["period"] = {"label": period.label, "from": period.start.isoformat(), "to": period.end.isoformat()}
    return result


@bp.get("/mediation")
@roles_required("supervisor", "dispatcher")
def mediation_page():
    return render_template(
        "mediation.html", result=_mediation(), levels=MEDIATION_LEVELS, level_names=MEDIATION_LEVEL_NAMES
    )


@bp.get("/api/v1/indicators/mediation")
@roles_required("supervisor", "dispatcher")
@operation(
    "Mediation success rate per level and follow-up satisfaction rate, by community and team",
    query=MediationQuery,
    responses={200: Reply(None), "default": REFUSED},
    tags=("indicators",),
)
def mediation_json(query: MediationQuery):
    return jsonify(_mediation())
