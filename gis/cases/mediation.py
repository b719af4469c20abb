"""The mediation path of a dispute (矛盾纠纷): solved "at the first layer" where it can be.

A dispute climbs neighbours and building head → senior party member → community mediation
committee (调委会) → judicial mediation (诉调); each step says who, when and with what outcome.
The path's rule: nothing follows a step that resolved it; a step that referred it up is followed
by a higher level; one that did not resolve it may be tried again at the same level or higher.
After it is resolved, one follow-up call (回访) records the parties' satisfaction. Those who answer
for the case record both (``is_responsible``); the case is read through the policy.

Figures: per level, the disputes that reached it and those resolved there (success rate); the
follow-up calls and the satisfied ones (满意 and 基本满意: satisfaction rate) — by community and
by the mediating volunteer's team.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, joinedload

from gis.accounts import viewer_of
from gis.cases.categories import is_dispute
from gis.cases.policy import is_responsible, load_visible, stats_area
from gis.errors import Conflict, Forbidden, Invalid
from gis.i18n import _
from gis.limits import clean_text
from gis.models import (
    MEDIATION_LEVEL_NAMES,
    MEDIATION_LEVELS,
    MEDIATION_OUTCOMES,
    SATISFACTION,
    Area,
    FollowUp,
    MediationStep,
    Report,
    User,
    utcnow,
)

SATISFIED = ("satisfied", "basically")  # what the satisfaction rate counts as satisfied


def _dispute_to_record(session: Session, viewer, report_id: int, via: str) -> Report:
    report = load_visible(session, viewer, report_id, via=via)
    if not is_dispute(report.category_code):
        raise Invalid(_("only disputes (矛盾纠纷) run the mediation path"))
    if not is_responsible(session, viewer, report.id):
        raise Forbidden(_("those who answer for this case record its mediation"))
    return report


def _when(at: dt.datetime | None, report: Report, now: dt.datetime) -> dt.datetime:
    at = at or now
    if at > now + dt.timedelta(minutes=5):
        raise Invalid(_("a step cannot be in the future"), fields={"at": _("is in the future")})
    if at < report.created_at:
        raise Invalid(
            _("a step cannot come before the dispute was reported"), fields={"at": _("is too early")}
        )
    return at


def path_of(session: Session, report_id: int) -> list[MediationStep]:
    """A case's steps, in order (the caller has read the case through the policy)."""
    return list(
        session.scalars(
            select(MediationStep)
            .options(joinedload(MediationStep.mediator))
            .where(MediationStep.report_id == report_id)
            .order_by(MediationStep.at, MediationStep.id)
        )
    )


def follow_up_of(session: Session, report_id: int) -> FollowUp | None:
    return session.scalar(select(FollowUp).where(FollowUp.report_id == report_id))


def mediators_for(session: Session, report: Report) -> list[User]:
    """The volunteers a dispute's mediation form offers: those of its grid's community."""
    if report.grid_id is None:
        return []
    community = select(func.substr(Area.code, 1, 12)).where(Area.id == report.grid_id).scalar_subquery()
    return list(
        session.scalars(
            select(User)
            .where(User.role == "volunteer", User.active, User.area_code == community)
            .order_by(User.display_name)
        )
    )


def next_levels(steps: list[MediationStep]) -> list[str]:
    """The levels the path's next step may take (none once resolved)."""
    if not steps:
        return list(MEDIATION_LEVELS)
    last = steps[-1]
    if last.outcome == "resolved":
        return []
    rank = MEDIATION_LEVELS.index(last.level)
    return list(MEDIATION_LEVELS[rank + (1 if last.outcome == "referred" else 0) :])


def record_step(
    session: Session,
    viewer,
    report_id: int,
    *,
    level: str,
    outcome: str,
    mediator_username: str | None = None,
    mediator_name: str | None = None,
    note: str | None = None,
    at: dt.datetime | None = None,
    via: str = "",
) -> MediationStep:
    """One step of the path, checked against it; the mediator is a volunteer who logs in (their
    points count it) or a name."""
    report = _dispute_to_record(session, viewer, report_id, via)
    if level not in MEDIATION_LEVELS:
        raise Invalid(_("no mediation level %(level)s", level=level), fields={"level": _("no such level")})
    if outcome not in MEDIATION_OUTCOMES:
        raise Invalid(_("no outcome %(outcome)s", outcome=outcome), fields={"outcome": _("no such outcome")})
    # one path per case at a time: two recorders do not both add a step after the same last one
    session.execute(select(Report.id).where(Report.id == report.id).with_for_update())
    steps = path_of(session, report.id)
    allowed = next_levels(steps)
    if not allowed:
        raise Conflict(_("this dispute is resolved: its path has ended"))
    if level not in allowed:
        raise Invalid(
            _(
                "after %(last)s the next step is at %(levels)s",
                last=MEDIATION_LEVEL_NAMES[steps[-1].level],
                levels=" / ".join(str(MEDIATION_LEVEL_NAMES[lv]) for lv in allowed),
            ),
            fields={"level": _("not next on the path")},
        )
    if outcome == "referred" and level == MEDIATION_LEVELS[-1]:
        raise Invalid(
            _("judicial mediation is the last level: nothing is above it"),
            fields={"outcome": _("no level above")},
        )
    mediator = None
    if mediator_username:
        mediator = session.scalar(select(User).where(User.username == mediator_username.strip()))
        if mediator is None:
            raise Invalid(
                _("no user %(name)s", name=mediator_username), fields={"mediator": _("no such user")}
            )
    name = clean_text(mediator_name, "name")
    if mediator is None and not name:
        raise Invalid(_("say who mediated"), fields={"mediator": _("is required")})
    when = _when(at, report, utcnow())
    if steps and when < steps[-1].at:
        raise Invalid(_("a step cannot come before the one it follows"), fields={"at": _("is too early")})
    step = MediationStep(
        report_id=report.id,
        level=level,
        outcome=outcome,
        mediator_id=mediator.id if mediator else None,
        mediator_name=name,
        note=clean_text(note, "note"),
        at=when,
        recorded_by=viewer_of(viewer).id,
    )
    session.add(step)
    session.flush()
    return step


def record_follow_up(
    session: Session,
    viewer,
    report_id: int,
    *,
    satisfaction: str,
    note: str | None = None,
    at: dt.datetime | None = None,
    via: str = "",
) -> FollowUp:
    """The follow-up call after the dispute was resolved (once)."""
    report = _dispute_to_record(session, viewer, report_id, via)
    if satisfaction not in SATISFACTION:
        raise Invalid(
            _("satisfaction is one of %(items)s", items=", ".join(SATISFACTION)),
            fields={"satisfaction": _("no such answer")},
        )
    steps = path_of(session, report.id)
    if not steps or steps[-1].outcome != "resolved":
        raise Conflict(_("a follow-up call comes after the dispute is resolved"))
    if follow_up_of(session, report.id) is not None:
        raise Conflict(_("this dispute has had its follow-up call"))
    when = _when(at, report, utcnow())
    if when < steps[-1].at:
        raise Invalid(
            _("a follow-up call comes after the step that resolved it"), fields={"at": _("is too early")}
        )
    follow_up = FollowUp(
        report_id=report.id,
        satisfaction=satisfaction,
        note=clean_text(note, "note"),
        at=when,
        recorded_by=viewer_of(viewer).id,
    )
    session.add(follow_up)
    session.flush()
    return follow_up


# The disputes of the period (by their steps' time) in the asker's area: each case's levels reached
# and resolved, its community (from its grid), the team(s) of each step's mediator.
IN_AREA = "(CAST(:area AS text) IS NULL OR g.code LIKE :area || '%')"
_STEPS_SQL = f"""
    SELECT m.report_id, m.level, m.outcome, substr(g.code, 1, 12) AS community, tm.team_id
    FROM mediation_steps m
    JOIN reports r ON r.id = m.report_id
    LEFT JOIN areas g ON g.id = r.grid_id
    LEFT JOIN team_members tm ON tm.user_id = m.mediator_id
    WHERE m.at >= :start AND m.at < :end AND {IN_AREA}
"""


def _rates(reached: int, resolved: int) -> dict:
    return {
        "reached": reached,
        "resolved": resolved,
        "rate": round(resolved / reached, 4) if reached else None,
    }


def mediation_figures(
    session: Session, viewer, start: dt.datetime, end: dt.datetime, within: str | None
) -> dict:
    """Success rate per level, follow-up satisfaction rate — overall, by community and by team."""
    area = stats_area(viewer, within)
    params = {"start": start, "end": end, "area": area}
    per_level = {lv: _rates(0, 0) for lv in MEDIATION_LEVELS}
    by_community: dict[str, dict] = {}
    by_team: dict[int, dict] = {}
    rows = session.execute(
        text(
            f"""SELECT s.level, s.community, s.team_id,
                       grouping(s.community) AS no_community, grouping(s.team_id) AS no_team,
                       count(DISTINCT s.report_id) AS reached,
                       count(DISTINCT s.report_id) FILTER (WHERE s.outcome = 'resolved') AS resolved
                FROM ({_STEPS_SQL}) s
                GROUP BY GROUPING SETS ((s.level), (s.community, s.level), (s.team_id, s.level))"""
        ),
        params,
    ).all()
    for level, community, team_id, no_community, no_team, reached, resolved in rows:
        if no_community and no_team:
            per_level[level] = _rates(reached, resolved)
        elif not no_community and community is not None:
            by_community.setdefault(community, {"levels": {}})["levels"][level] = _rates(reached, resolved)
        elif not no_team and team_id is not None:
            by_team.setdefault(team_id, {"levels": {}})["levels"][level] = _rates(reached, resolved)
    calls = session.execute(
        text(
            f"""SELECT substr(g.code, 1, 12) AS community, tm.team_id,
                       grouping(substr(g.code, 1, 12)) AS no_community, grouping(tm.team_id) AS no_team,
                       count(DISTINCT f.id) AS calls,
                       count(DISTINCT f.id) FILTER (WHERE f.satisfaction = ANY(CAST(:satisfied AS text[])))
                           AS satisfied
                FROM follow_ups f JOIN reports r ON r.id = f.report_id
                LEFT JOIN areas g ON g.id = r.grid_id
                LEFT JOIN mediation_steps m ON m.report_id = f.report_id AND m.outcome = 'resolved'
                LEFT JOIN team_members tm ON tm.user_id = m.mediator_id
                WHERE f.at >= :start AND f.at < :end AND {IN_AREA}
                GROUP BY GROUPING SETS ((), (substr(g.code, 1, 12)), (tm.team_id))"""
        ),
        {**params, "satisfied": list(SATISFIED)},
    ).all()
    overall = {"calls": 0, "satisfied": 0, "rate": None}
    for community, team_id, no_community, no_team, n, satisfied in calls:
        figure = {"calls": n, "satisfied": satisfied, "rate": round(satisfied / n, 4) if n else None}
        if no_community and no_team:
            overall = figure
        elif not no_community and community is not None:
            by_community.setdefault(community, {"levels": {}})["satisfaction"] = figure
        elif not no_team and team_id is not None:
            by_team.setdefault(team_id, {"levels": {}})["satisfaction"] = figure
    names: dict[str, str] = dict(
        session.execute(
            text("SELECT code, name FROM areas WHERE code = ANY(CAST(:codes AS text[]))"),
            {"codes": list(by_community)},
        ).all()
    )
    teams: dict[int, str] = dict(
        session.execute(
            text("SELECT id, name FROM teams WHERE id = ANY(CAST(:ids AS int[]))"), {"ids": list(by_team)}
        ).all()
    )
    return {
        "area": area,
        "levels": per_level,
        "satisfaction": overall,
        "communities": [{"code": c, "name": names.get(c, c), **v} for c, v in sorted(by_community.items())],
        "teams": [{"id": t, "name": teams.get(t, str(t)), **v} for t, v in sorted(by_team.items())],
    }
