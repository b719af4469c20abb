"""Volunteers' teams and their points (积分考核).

A community's volunteers (users of role ``volunteer``, bound to it) form teams — security patrol,
information gathering, mediation, … — each with a leader among its members. What they do earns
points by rules kept as data (``point_rules``): an action's points on a day are those of its latest
rule effective by that day, so a new rule, which takes effect from today on, leaves past months as
they were. The deeds counted, each on its local day:
- a report accepted: a volunteer's report given 'accept' (受理);
- an hour of patrol: a finished patrol's hours, on the day it started;
- a dispute mediated: a mediation step they led that resolved it;
- a visit with a building head: a visit of the diary that met them as a building or unit head.
Who reads a community's teams and points is the policy's (``communities_seen_by``); who organises
them, too (``runs_community``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session, selectinload

from gis.accounts import Viewer, viewer_of
from gis.cases.policy import communities_seen_by, runs_community
from gis.errors import Conflict, Forbidden, Invalid, NotFound
from gis.i18n import _
from gis.limits import clean_text
from gis.models import (
    CODE_LENGTH,
    POINT_ACTIONS,
    TEAM_KIND_NAMES,
    TEAM_KINDS,
    Area,
    PointRule,
    Team,
    User,
    team_members,
)

# Every deed a volunteer's points count, as (user_id, action, day, quantity); :start and :end bound
# the local days, :tz is the zone they are local to, :members the volunteers counted.
DEEDS_SQL = """
    SELECT r.reporter_id AS user_id, 'report_accepted' AS action,
           CAST(e.at AT TIME ZONE :tz AS date) AS day, 1.0 AS quantity
    FROM reports r JOIN report_events e ON e.report_id = r.id AND e.action = 'accept'
    WHERE r.reporter_id = ANY(CAST(:members AS int[]))
      AND e.at >= CAST(:start AS timestamp) AT TIME ZONE :tz
      AND e.at < CAST(:end AS timestamp) AT TIME ZONE :tz
    UNION ALL
    SELECT t.user_id, 'patrol_hour', CAST(t.started_at AT TIME ZONE :tz AS date),
           extract(epoch FROM t.ended_at - t.started_at) / 3600.0
    FROM patrol_tracks t
    WHERE t.user_id = ANY(CAST(:members AS int[])) AND t.ended_at > t.started_at
      AND t.started_at >= CAST(:start AS timestamp) AT TIME ZONE :tz
      AND t.started_at < CAST(:end AS timestamp) AT TIME ZONE :tz
    UNION ALL
    SELECT m.mediator_id, 'dispute_mediated', CAST(m.at AT TIME ZONE :tz AS date), 1.0
    FROM mediation_steps m
    WHERE m.mediator_id = ANY(CAST(:members AS int[])) AND m.outcome = 'resolved'
      AND m.at >= CAST(:start AS timestamp) AT TIME ZONE :tz
      AND m.at < CAST(:end AS timestamp) AT TIME ZONE :tz
    UNION ALL
    SELECT p.user_id, 'head_visit', v.visited_on, 1.0
    FROM visits v JOIN people p ON p.id = v.met_person_id AND p.kind IN ('building_head', 'unit_head')
    WHERE p.user_id = ANY(CAST(:members AS int[])) AND v.visited_on >= :start AND v.visited_on < :end
"""
# Each deed priced by the rule in force on its day.
POINTS_SQL = f"""
    SELECT d.user_id, d.action, sum(d.quantity) AS quantity,
           sum(d.quantity * coalesce(rule.points, 0)) AS points
    FROM ({DEEDS_SQL}) d
    LEFT JOIN LATERAL (
        SELECT points FROM point_rules
        WHERE action = d.action AND effective_from <= d.day
        ORDER BY effective_from DESC LIMIT 1) rule ON true
    GROUP BY d.user_id, d.action
"""


@dataclass(frozen=True)
class Month:
    """A calendar month: [start, end) as local days."""

    start: dt.date

    @property
    def end(self) -> dt.date:
        return (self.start + dt.timedelta(days=32)).replace(day=1)

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m")


def parse_month(value: str | None, today: dt.date) -> Month:
    """``YYYY-MM`` (default: this month)."""
    if not value:
        return Month(today.replace(day=1))
    try:
        start = dt.date.fromisoformat(f"{value}-01")
    except ValueError:
        raise Invalid(
            _("%(value)s: a month is YYYY-MM", value=value), fields={"month": _("is YYYY-MM")}
        ) from None
    if not 2000 <= start.year <= 2100:
        raise Invalid(_("a month lies between 2000 and 2100"), fields={"month": _("is YYYY-MM")})
    return Month(start)


def _community(session: Session, code: str | None) -> Area:
    if not code or len(code) != CODE_LENGTH["community"]:
        raise Invalid(_("give a community's 12-digit code"), fields={"community": _("is a community code")})
    area = session.scalar(select(Area).where(Area.code == code, Area.level == "community"))
    if area is None:
        raise NotFound(_("no community %(code)s", code=code))
    return area


def _organised_by(viewer: Viewer, community_code: str) -> None:
    if not runs_community(viewer, community_code):
        raise Forbidden(_("the staff over community %(code)s organise its teams", code=community_code))


def _volunteer(session: Session, username: str, community_code: str) -> User:
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or user.role != "volunteer" or not user.active:
        raise Invalid(
            _("%(name)s is not a volunteer", name=username), fields={"username": _("is not a volunteer")}
        )
    if user.area_code != community_code:
        raise Invalid(
            _("%(name)s is a volunteer of another community", name=username),
            fields={"username": _("is of another community")},
        )
    return user


def create_team(session: Session, viewer, *, community_code: str, kind: str, name: str) -> Team:
    """A new team of a community (its staff's to make)."""
    viewer = viewer_of(viewer)
    community = _community(session, community_code)
    _organised_by(viewer, community.code)
    if kind not in TEAM_KINDS:
        raise Invalid(
            _("a team is one of %(items)s", items=", ".join(TEAM_KINDS)), fields={"kind": _("no such kind")}
        )
    name = clean_text(name, "name") or ""
    if not name:
        raise Invalid(_("a team needs a name"), fields={"name": _("is required")})
    taken = select(Team.id).where(Team.community_code == community.code, Team.name == name)
    if session.scalar(taken) is not None:
        raise Conflict(
            _("community %(code)s already has a team called %(name)s", code=community.code, name=name)
        )
    team = Team(community_code=community.code, kind=kind, name=name)
    session.add(team)
    session.flush()
    return team


def team_for(session: Session, viewer, team_id: int) -> Team:
    """A team ``viewer`` may read (NotFound otherwise, as for one that does not exist)."""
    seen = communities_seen_by(viewer)
    team = session.scalar(
        select(Team).options(selectinload(Team.members)).where(Team.id == team_id, seen.clause())
    )
    if team is None:
        raise NotFound(_("no team %(id)s", id=team_id))
    return team


def _team_to_change(session: Session, viewer, team_id: int) -> Team:
    team = team_for(session, viewer, team_id)
    _organised_by(viewer_of(viewer), team.community_code)
    return team


def add_member(session: Session, viewer, team_id: int, username: str, leader: bool = False) -> User:
    """A volunteer of the team's community joins it (again: nothing changes); ``leader``: and leads it."""
    team = _team_to_change(session, viewer, team_id)
    user = _volunteer(session, username, team.community_code)
    if user not in team.members:
        session.execute(insert(team_members).values(team_id=team.id, user_id=user.id))
    if leader:
        team.leader_id = user.id
    session.flush()
    session.expire(team, ["members"])
    return user


def remove_member(session: Session, viewer, team_id: int, user_id: int) -> None:
    """A member leaves the team (a leader who leaves leaves it without one)."""
    team = _team_to_change(session, viewer, team_id)
    session.execute(
        delete(team_members).where(team_members.c.team_id == team.id, team_members.c.user_id == user_id)
    )
    if team.leader_id == user_id:
        team.leader_id = None
    session.flush()


def teams_seen_by(session: Session, viewer, community_code: str | None = None) -> list[Team]:
    """The teams ``viewer`` may read (of one community), by community and name."""
    seen = communities_seen_by(viewer)
    query = select(Team).options(selectinload(Team.members), selectinload(Team.leader)).where(seen.clause())
    if community_code:
        query = query.where(Team.community_code == community_code)
    return list(session.scalars(query.order_by(Team.community_code, Team.name)))


def team_kind_name(kind: str) -> str:
    return str(TEAM_KIND_NAMES[kind])


# -- rules -------------------------------------------------------------------------------------------
def point_rules(session: Session) -> list[PointRule]:
    """Every rule, each action's newest first."""
    return list(
        session.scalars(select(PointRule).order_by(PointRule.action, PointRule.effective_from.desc()))
    )


def add_point_rule(
    session: Session, viewer, *, action: str, points: float, effective_from: dt.date, today: dt.date
) -> PointRule:
    """A new price for an action from ``effective_from`` on (today or later: a past month keeps its
    points); the same day twice replaces that day's rule."""
    viewer = viewer_of(viewer)
    if viewer.role != "admin":
        raise Forbidden(_("admins set what points are worth"))
    if action not in POINT_ACTIONS:
        raise Invalid(_("no action %(action)s", action=action), fields={"action": _("no such action")})
    if not 0 <= points <= 1000:
        raise Invalid(_("points lie between 0 and 1000"), fields={"points": _("between 0 and 1000")})
    if effective_from < today:
        raise Invalid(
            _("a rule takes effect from today or later, so the months already counted keep their points"),
            fields={"effective_from": _("today or later")},
        )
    rule = session.scalar(
        select(PointRule).where(PointRule.action == action, PointRule.effective_from == effective_from)
    )
    if rule is None:
        rule = PointRule(action=action, effective_from=effective_from)
        session.add(rule)
    rule.points, rule.created_by = points, viewer.id
    session.flush()
    return rule


# -- points ------------------------------------------------------------------------------------------
def monthly_points(
    session: Session, viewer, month: Month, tz: str, community_code: str | None = None
) -> dict:
    """The month's points per volunteer (each action's count and points) and per team (its
    members' sum), for the communities ``viewer`` may read (one, with ``community_code``)."""
    seen = communities_seen_by(viewer, "u.area_code")
    where = "AND u.area_code = :community" if community_code else ""
    volunteers = (
        session.execute(
            text(
                f"""SELECT u.id, u.display_name AS name, u.area_code AS community, a.name AS community_name
                FROM users u LEFT JOIN areas a ON a.code = u.area_code
                WHERE u.role = 'volunteer' AND {seen.sql} {where}
                ORDER BY u.area_code, u.display_name"""
            ),
            {**seen.params, "community": community_code},
        )
        .mappings()
        .all()
    )
    by_user = {
        v["id"]: {**v, "actions": {a: {"quantity": 0.0, "points": 0.0} for a in POINT_ACTIONS}, "points": 0.0}
        for v in volunteers
    }
    if by_user:
        rows = session.execute(
            text(POINTS_SQL),
            {"members": list(by_user), "start": month.start, "end": month.end, "tz": tz},
        )
        for user_id, action, quantity, points in rows:
            entry = by_user[user_id]
            entry["actions"][action] = {
                "quantity": round(float(quantity), 2),
                "points": round(float(points), 2),
            }
            entry["points"] = round(entry["points"] + float(points), 2)
    teams = []
    for team in teams_seen_by(session, viewer, community_code):
        members = [by_user[m.id] for m in team.members if m.id in by_user]
        teams.append(
            {
                "id": team.id,
                "name": team.name,
                "kind": team.kind,
                "community": team.community_code,
                "leader": team.leader.display_name if team.leader else None,
                "members": len(members),
                "points": round(sum(m["points"] for m in members), 2),
            }
        )
    ranked = sorted(by_user.values(), key=lambda v: (-v["points"], v["community"] or "", v["name"]))
    return {"month": month.label, "volunteers": ranked, "teams": sorted(teams, key=lambda t: -t["points"])}
