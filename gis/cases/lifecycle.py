"""The closed loop (数字城管 7 steps) as data: which action moves a report from which state to which,
and who may take it (gis/cases/policy.py says who answers for a case). Every write to ``reports``
and ``report_events`` is here: intake's first step (``record_intake``), ``act`` for each step of
the loop, and the system's re-grid after a grid layer changes (``regrid``).

    reported → accepted (or voided) → opened → dispatched → handled → verified → closed
                                                    ↑            │ fail on-site check (rework)
                                                    └────────────┘
Plus: escalate (community → street → district) before dispatch (after it the system escalates an
overdue case: gis/cases/escalation.py), resolve_locally for small matters solved on the spot,
return (department sends it back to the centre), extend (more time), assign (a department's lead
gives a dispatched case to one of its members; a dispatcher asks a grid worker to verify).
Every step announces the case (``announce``): connected maps are told at commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import RawCursor
from psycopg.pq import TransactionStatus
from psycopg.rows import namedtuple_row
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gis.accounts import Viewer, viewer_of
from gis.assignment import ASSIGNMENT_CTES, BUILDING_FOR, GRID_FOR, POINT, check_point
from gis.cases.photos import resize_photo
from gis.cases.policy import is_responsible, may_act
from gis.cases.sql import REPORT_DETAIL
from gis.errors import Conflict, Forbidden, Invalid
from gis.i18n import Words, _
from gis.limits import clean_text
from gis.models import (
    OPEN_STATUSES,
    RESPONSE_LEVELS,
    STATUS_NAMES,
    Area,
    Department,
    Report,
    ReportEvent,
    ReportPhoto,
    User,
    utcnow,
)

BEFORE_DISPATCH = frozenset({"reported", "accepted", "opened"})


# What a timeline says for each event: the loop's actions, and the two the system takes.
EVENT_NAMES = {"report": _("report"), "regrid": _("moved to another grid")}


@dataclass(frozen=True)
class Action:
    name: str
    label: Any  # the button a person sees (a Message)
    sources: frozenset[str]
    target: str | None  # None: the status does not change
    roles: frozenset[str]  # admin may always act
    note_required: bool = False


def _a(name, label, sources, target, roles, note_required=False):
    return Action(name, label, frozenset(sources), target, frozenset(roles), note_required)


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _a("accept", _("Accept"), {"reported"}, "accepted", {"dispatcher", "supervisor"}),
        _a("void", _("Void"), {"reported", "accepted"}, "voided", {"dispatcher"}, note_required=True),
        _a("open", _("Open case"), {"accepted"}, "opened", {"dispatcher"}),
        _a("dispatch", _("Dispatch"), {"opened"}, "dispatched", {"dispatcher"}),
        _a("handle", _("Report handled"), {"dispatched"}, "handled", {"department"}, note_required=True),
        _a("return", _("Send back"), {"dispatched"}, "opened", {"department"}, note_required=True),
        _a("extend", _("Extend deadline"), {"dispatched"}, None, {"dispatcher"}, note_required=True),
        _a("assign", _("Assign"), {"dispatched", "handled"}, None, {"department", "dispatcher"}),
        _a("verify", _("Verified on site"), {"handled"}, "verified", {"supervisor", "grid_worker"}),
        _a(
            "reject", _("Failed check: rework"), {"handled"}, "dispatched", {"supervisor"}, note_required=True
        ),
        _a("close", _("Close"), {"verified"}, "closed", {"dispatcher"}),
        _a("waive_check", _("Waive the site check"), {"handled"}, None, {"dispatcher"}, note_required=True),
        _a("confirm", _("I saw it too"), OPEN_STATUSES, None, {"grid_worker", "supervisor"}),
        _a(
            "escalate",
            _("Escalate"),
            BEFORE_DISPATCH,
            None,
            {"grid_worker", "supervisor", "dispatcher"},
            note_required=True,
        ),
        _a(
            "resolve_locally",
            _("Solved on the spot"),
            BEFORE_DISPATCH,
            "closed",
            {"grid_worker", "supervisor"},
            note_required=True,
        ),
    )
}


def refusal(session: Session, viewer: Viewer | User, report: Report, action: Action) -> Words | None:
    """Why ``viewer`` may not take ``action`` on ``report`` now — or None when they may: the
    policy's answer (who), then what the case's own state forbids."""
    why = may_act(viewer, report, action, is_responsible(session, viewer, report.id))
    return why if why is not None else _case_refuses(viewer, report, action)


def _case_refuses(viewer: Viewer | User, report: Report, action: Action) -> Words | None:
    """What the case itself forbids, whoever asks."""
    if action.name == "escalate" and report.response_level == RESPONSE_LEVELS[-1]:
        return _("the report is already at district level")
    if action.name == "confirm" and report.reporter_id == viewer.id:
        return _("you reported this case yourself")
    role = viewer_of(viewer).role
    if action.name == "assign" and role != "admin":
        if report.status == "dispatched" and role != "department":
            return _("a dispatched case is given to a person by its department's lead")
        if report.status == "handled" and role == "department":
            return _("the site check is given to a grid worker by a dispatcher")
    if action.name == "verify" and role == "grid_worker" and report.verifier_id != viewer.id:
        return _("a grid worker verifies only the cases a dispatcher asked them to")
    if (
        action.name in {"handle", "return"}
        and role == "department"
        and report.assignee_id not in (None, viewer.id)
        and not viewer_of(viewer).department_lead
    ):
        return _("this case is assigned to someone else in your department")
    return None


def available_actions(session: Session, viewer: Viewer | User, report: Report) -> list[Action]:
    responsible = is_responsible(session, viewer, report.id)
    return [
        a
        for a in ACTIONS.values()
        if may_act(viewer, report, a, responsible) is None and _case_refuses(viewer, report, a) is None
    ]


@dataclass(frozen=True)
class Proof:
    """What a step brings from the field: photos (the department's after-photo, the verifier's, a
    confirmer's) and where the person stood (lon, lat in WGS 84), for the site check."""

    photos: Sequence[bytes] = ()
    position: tuple[float, float] | None = None


PHOTO_KIND = {"handle": "after", "verify": "verify", "confirm": "confirm"}
MAX_STEP_PHOTOS = 3
VERIFY_RADIUS_M = 100.0


def act(
    session: Session,
    report: Report,
    user: Viewer | User,
    action_name: str,
    *,
    version: int | None,
    note: str | None = None,
    department_id: int | None = None,
    assignee_id: int | None = None,
    hours: float | None = None,
    now: dt.datetime | None = None,
    proof: Proof = Proof(),
    client_id: uuid.UUID | None = None,
    verify_radius_m: float = VERIFY_RADIUS_M,
) -> ReportEvent:
    """Take one step of the loop; flushes, never commits (the caller owns the transaction).

    ``version`` is the one the person saw: if the report changed since, nothing happens (409).
    ``client_id``: a phone's id for this step; sent again (a retry after a lost answer), the step
    is not taken twice and the first one is answered.
    """
    if client_id is not None:
        done = session.scalar(select(ReportEvent).where(ReportEvent.client_id == client_id))
        if done is not None:
            if done.report_id != report.id:
                raise Conflict(_("this client_id was used for another case"))
            return done
    action = ACTIONS.get(action_name)
    if action is None:
        raise Invalid(
            _(
                "unknown action %(action_name)s: one of %(items)s",
                action_name=repr(action_name),
                items=", ".join(ACTIONS),
            )
        )
    if version is None:
        raise Invalid(_("send the report's version with every action, so two people never both win"))
    if int(version) != report.version:
        raise Conflict(
            _(
                "report %(id)s changed since you loaded it (version %(version)s, yours %(version2)s): "
                "reload it and try again",
                id=report.id,
                version=report.version,
                version2=version,
            ),
            current_version=report.version,
        )
    why = refusal(session, user, report, action)
    if why:
        raise Conflict(why) if report.status not in action.sources else Forbidden(why)
    note = clean_text(note, "note")
    if action.note_required and not note:
        raise Invalid(_("'%(name)s' needs a note saying why", name=action.name))
    photos = _step_photos(action, proof)
    site = _site_check(session, report, action, proof, verify_radius_m)
    now = now or utcnow()
    session.flush()  # whatever else is pending goes first, outside this step's savepoint
    try:
        with session.begin_nested():  # a refusal below, or a lost race, undoes this step only
            event = _step(session, report, user, action, note, department_id, hours, now, assignee_id)
            event.client_id = client_id
            event.data = {**event.data, **site}
            for data in photos:
                report.photos.append(ReportPhoto(event=event, kind=PHOTO_KIND[action.name], data=data))
            session.flush()
            announce(session, [report.id])
    except StaleDataError:
        # someone else's step of this case committed first (its row no longer has our version)
        current = session.scalar(select(Report.version).where(Report.id == report.id))
        session.expire(report)
        raise Conflict(
            _(
                "report %(id)s changed meanwhile (now version %(current)s, yours %(version)s): reload it "
                "and try again",
                id=report.id,
                current=current,
                version=version,
            ),
            current_version=current,
        ) from None
    return event


def _step_photos(action: Action, proof: Proof) -> list[bytes]:
    """The step's photos, made small (only the steps that take photos take them)."""
    if not proof.photos:
        return []
    if action.name not in PHOTO_KIND:
        raise Invalid(_("'%(name)s' takes no photo", name=action.label))
    if len(proof.photos) > MAX_STEP_PHOTOS:
        raise Invalid(_("at most %(count)s photos per step", count=MAX_STEP_PHOTOS))
    return [resize_photo(p) for p in proof.photos]


def _site_check(session: Session, report: Report, action: Action, proof: Proof, radius_m: float) -> dict:
    """Verifying on site means being there: a photo and a position within ``radius_m`` of the
    report, unless a dispatcher waived it. What the event keeps: where, how far."""
    if action.name != "verify":
        return {"lon": proof.position[0], "lat": proof.position[1]} if proof.position else {}
    if report.site_check_waived:
        return {"site_check": "waived"}
    if not proof.position:
        raise Invalid(_("verifying needs your position: allow the phone to share it, and be at the place"))
    if not proof.photos:
        raise Invalid(_("verifying needs a photo of the place as it is now"))
    lon, lat = check_point(*proof.position)
    distance = session.scalar(DISTANCE_SQL, {"id": report.id, "lon": lon, "lat": lat})
    if distance > radius_m:
        raise Invalid(
            _(
                "you are %(distance)s m from the report: verifying needs you within %(radius)s m of it "
                "(or a dispatcher's waiver)",
                distance=round(distance),
                radius=round(radius_m),
            ),
            distance_m=round(distance, 1),
            radius_m=radius_m,
        )
    return {"lon": lon, "lat": lat, "distance_m": round(distance, 1)}


# Geodesic metres from a report to a point.
DISTANCE_SQL = text("""
    SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
    FROM reports WHERE id = :id""")


def _step(session, report, user, action, note, department_id, hours, now, assignee_id) -> ReportEvent:
    """The report as ``action`` leaves it, and the event that says so (added, not flushed)."""
    data: dict = {}
    before = report.status
    event_department = None

    if action.name == "assign":
        data = _assign(session, report, assignee_id)
    elif action.name == "open":
        report.opened_at = now
    elif action.name == "dispatch":
        department = session.get(Department, department_id) if department_id else None
        if department is None:
            raise Invalid(_("choose the department to dispatch to"))
        report.department_id = department.id
        report.assignee_id = report.verifier_id = None  # the new department gives it to someone
        report.dispatched_at = now
        limit = report.category.time_limit_hours or 72
        report.deadline_at = now + dt.timedelta(hours=limit)
        data = {"department": department.name, "deadline_at": report.deadline_at.isoformat()}
        event_department = department.id
    elif action.name == "extend":
        if not hours or hours <= 0:
            raise Invalid(_("say how many hours to extend by"))
        assert report.deadline_at is not None  # a dispatched case has its deadline
        deadline = report.deadline_at + dt.timedelta(hours=hours)
        report.deadline_at = deadline
        data = {"hours": hours, "deadline_at": deadline.isoformat()}
    elif action.name == "reject":
        report.rework_count += 1
        report.site_check_waived = False  # the new handling is checked on site again
    elif action.name == "waive_check":
        report.site_check_waived = True
    elif action.name == "confirm":
        report.confirmations += 1
    elif action.name == "return":
        data = {"department": report.department.name if report.department else None}
        report.department_id = report.assignee_id = None
        report.dispatched_at = report.deadline_at = None
    elif action.name == "escalate":
        index = RESPONSE_LEVELS.index(report.response_level)
        data = {"from_level": report.response_level, "to_level": RESPONSE_LEVELS[index + 1]}
        report.response_level = RESPONSE_LEVELS[index + 1]
    elif action.name == "resolve_locally":
        report.resolved_locally = True
    if action.target == "closed":
        report.closed_at = now

    if action.target:
        report.status = action.target
    if note:  # searched with the description and address (gis.cases.listing)
        report.notes = f"{report.notes}\n{note}" if report.notes else note
    report.updated_at = now  # bumps the version even when the status stays
    event = ReportEvent(
        report=report,
        action=action.name,
        from_status=before,
        to_status=report.status,
        actor_id=user.id,
        note=note,
        data=data,
        department_id=event_department,
        at=now,
    )
    session.add(event)
    return event


def _candidates(department_id: int | None):
    """Whom a case may be given to (one rule for the lists and the step): a department's active
    members, to handle it; with no department, the active grid workers, to verify it."""
    if department_id is not None:
        people = select(User).where(User.role == "department", User.department_id == department_id)
    else:
        people = select(User).where(User.role == "grid_worker")
    return people.where(User.active.is_(True))


def _target_department(report: Report) -> int | None:
    """A dispatched case goes to its department's people; a handled one to a grid worker."""
    return report.department_id if report.status == "dispatched" else None


def assignable_people(session: Session, report: Report) -> list[User]:
    """Whom ``assign`` may give this case to now: its department's members (dispatched), the
    grid workers (handled: one verifies it) — those of its grid first."""
    if report.status not in ACTIONS["assign"].sources:
        return []
    query = _candidates(_target_department(report))
    if report.status == "handled" and report.grid_id is not None:
        query = query.order_by(User.grids.any(Area.id == report.grid_id).desc())
    return list(session.scalars(query.order_by(User.display_name)).all())


def people_viewer_assigns(session: Session, viewer: Viewer | User) -> list[User]:
    """Whom ``viewer`` may give cases to (the list's bulk assign): a lead, their department's
    members; a dispatcher or an admin, the grid workers (to verify)."""
    viewer = viewer_of(viewer)
    if viewer.role == "department" and viewer.department_lead:
        query = _candidates(viewer.department_id)
    elif viewer.role in {"dispatcher", "admin"}:
        query = _candidates(None)
    else:
        return []
    return list(session.scalars(query.order_by(User.display_name)).all())


def _assign(session: Session, report: Report, assignee_id: int | None) -> dict:
    """A dispatched case to a member of its department, a handled one to a grid worker who
    verifies it; what the event says."""
    department_id = _target_department(report)
    person = session.scalar(_candidates(department_id).where(User.id == assignee_id)) if assignee_id else None
    if person is None:
        someone = session.get(User, assignee_id) if assignee_id else None
        if someone is None or not someone.active:
            raise Invalid(_("choose the person to assign it to"), fields={"assignee": _("no such person")})
        if department_id is not None:
            raise Invalid(
                _("%(name)s is not in the department handling this case", name=someone.display_name),
                fields={"assignee": _("not in this department")},
            )
        raise Invalid(
            _("the site check goes to a grid worker, and %(name)s is not one", name=someone.display_name),
            fields={"assignee": _("not a grid worker")},
        )
    if department_id is not None:
        report.assignee_id = person.id
        return {"assignee": person.display_name, "assignee_id": person.id, "to": "handle"}
    report.verifier_id = person.id
    return {"assignee": person.display_name, "assignee_id": person.id, "to": "verify"}


# Who is told of a change: every server process LISTENs (app/live.py) and tells its connected
# maps; a notification is sent when the transaction commits, and not at all if it rolls back.
LIVE_CHANNEL = "gridwatch_reports"
ANNOUNCE_SQL = text(f"SELECT pg_notify('{LIVE_CHANNEL}', CAST(:ids AS text))")


def announce(session: Session, report_ids: Sequence[int]) -> None:
    """Tell connected maps these cases changed (at commit); ids comma-separated."""
    if report_ids:
        session.execute(ANNOUNCE_SQL, {"ids": ",".join(str(i) for i in report_ids)})


def traffic_light(report: Report, now: dt.datetime | None = None) -> str | None:
    """green < 80 % of the time limit used, yellow 80-100 %, red overdue; None without a clock."""
    return traffic_light_for(report.status, report.dispatched_at, report.deadline_at, now)


def traffic_light_for(status: str, dispatched_at, deadline_at, now=None) -> str | None:
    if status not in OPEN_STATUSES or not deadline_at or not dispatched_at:
        return None
    now = now or utcnow()
    limit = (deadline_at - dispatched_at).total_seconds()
    used = (now - dispatched_at).total_seconds() / limit if limit > 0 else 1.0
    return "green" if used < 0.8 else "yellow" if used <= 1.0 else "red"


# The row intake inserted, announced to connected maps as it is read (pg_notify is volatile:
# the planner keeps the column though nothing reads it).
ANNOUNCED_REPORT = (
    f"(SELECT report.*, pg_notify('{LIVE_CHANNEL}', CAST(report.id AS text)) AS announced FROM report)"
)


# A volunteer reports within their own community (a building head's beat, not the district's):
# the condition true of a pin that breaks this, for the reporter ``reporter`` and the point ``point``.
OUTSIDE_COMMUNITY = (
    "EXISTS (SELECT 1 FROM users v WHERE v.id = {reporter} AND v.role = 'volunteer'"
    " AND NOT EXISTS (SELECT 1 FROM areas c WHERE c.code = v.area_code AND ST_Covers(c.geom, {point})))"
)


# Intake in one statement and one round trip: the reporter (given, or the active user holding the
# API token whose digest is given: a phone's call needs no lookup of its own), assignment, the
# report row (only for a known sub-category and a known token, a volunteer's in their community;
# nothing on a repeated client_id),
# its first event, and the report's details. No row back means a bad token, a bad category or a
# retry; ``submit_report`` tells which, off the hot path.
INTAKE_SQL = text(f"""
    WITH {ASSIGNMENT_CTES},
    category AS (SELECT code FROM categories WHERE code = :category AND parent_code IS NOT NULL),
    reporter AS (
        SELECT coalesce(:reporter_id, (SELECT id FROM users
                                       WHERE api_token_hash = :token_digest AND active)) AS id),
    report AS (
        INSERT INTO reports (client_id, geom, original_crs, original_lon, original_lat,
            category_code, description, address, channel, reporter_id, reporter_contact,
            grid_id, assignment, assignment_distance_m, building_id, status, response_level,
            resolved_locally, rework_count, created_at, updated_at, version)
        SELECT :client_id, {POINT}, :crs, :original_lon, :original_lat, category.code, :description,
            :address, :channel, reporter.id, :contact, grid.id, grid.kind,
            CASE WHEN grid.kind = 'nearest' THEN grid.distance_m END, (SELECT id FROM building),
            'reported', 'community', false, 0, :now, :now, 1
        FROM grid, category, reporter
        WHERE (reporter.id IS NOT NULL OR :token_digest IS NULL)
          AND NOT {OUTSIDE_COMMUNITY.format(reporter="reporter.id", point=POINT)}
        ON CONFLICT (client_id) DO NOTHING
        RETURNING *),
    event AS (
        INSERT INTO report_events (report_id, action, from_status, to_status, actor_id, data, at)
        SELECT id, 'report', NULL, 'reported', reporter_id,
               jsonb_build_object('assignment', assignment), :now
        FROM report)
    {REPORT_DETAIL.format(source=ANNOUNCED_REPORT)}
""")
# It goes to psycopg as PostgreSQL takes it ($1..$n, compiled once here), on the session's own
# connection: psycopg re-parses a named-parameter statement longer than 4 kB on every call, and
# SQLAlchemy's execution layer costs as much again (README: "Measured design choices").
INTAKE_PG = INTAKE_SQL.compile(dialect=psycopg_dialect(paramstyle="numeric_dollar"))
INTAKE_PARAMETERS: list[str] = list(INTAKE_PG.positiontup or ())
# What intake tries again (INTAKE_ATTEMPTS times in all): a race with a grid layer being replaced
# (its grids deleted under the pin: a foreign key) or a bulk load of buildings (a deadlock).
RACES = (
    psycopg.errors.ForeignKeyViolation,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
)
INTAKE_ATTEMPTS = 3


def record_intake(session: Session, params: dict, alone: bool = False):
    """Intake's first step: ``INTAKE_SQL`` with ``params``, its one row back (attributes by
    column name; None for a bad token or category, or a repeated client_id), run by psycopg
    directly on the session's connection, inside its transaction. ``alone``: the caller
    writes nothing else; if nothing has run in the transaction yet, the statement runs in
    autocommit — atomic by itself, committed before it answers, one round trip instead of three
    (BEGIN, the statement, COMMIT) — and the session's own commit then has nothing left to do."""
    wrapper = session.connection()
    session.info["wrote"] = True  # it may commit by itself: whoever tracks writes is told
    connection: Any = wrapper.connection.driver_connection  # psycopg's
    alone = alone and connection.info.transaction_status == TransactionStatus.IDLE
    values = [params[name] for name in INTAKE_PARAMETERS]
    if alone:
        connection.autocommit = True
    try:
        with RawCursor(connection, row_factory=namedtuple_row) as cursor:
            for attempt in range(INTAKE_ATTEMPTS):
                if not alone:
                    cursor.execute("SAVEPOINT intake")
                try:
                    cursor.execute(INTAKE_PG.string, values)
                    row = cursor.fetchone()
                except RACES:
                    # a grid layer replaced, or buildings bulk-loaded, while this pin was on its way:
                    # once that has committed, the pin goes to the layer as it is now
                    if attempt == INTAKE_ATTEMPTS - 1:
                        raise
                    if not alone:
                        cursor.execute("ROLLBACK TO SAVEPOINT intake")
                    continue
                if not alone:
                    cursor.execute("RELEASE SAVEPOINT intake")
                return row
    except psycopg.OperationalError:
        wrapper.invalidate()  # the server went away: this connection is no use to the pool any more
        raise
    finally:
        if alone and not connection.closed:
            connection.autocommit = False


# Re-assignment after a grid layer changes, by the rule intake follows (gis.assignment.GRID_FOR).
# After a layer is replaced every report is without a grid: those a grid covers are found from the
# grids' side — each grid's polygon prepared once, its reports fetched through their GiST index,
# the lowest code kept where grids share a border, on both cores (point by point, GRID_FOR's plan,
# costs 27 µs a report; this about 1 µs: bench/regrid.py). The reports left without a grid (none
# covers them, or a layer was only added to) are few: GRID_FOR, point by point, for the nearest
# within :max_m. tests/test_assignment.py checks every point gets what gridwatch_grid_for gives it.
GRID_PICKS_SQL = """
    SELECT DISTINCT ON (r.id) r.id AS report_id, a.id AS grid_id
    FROM areas a CROSS JOIN LATERAL (
        SELECT r.id FROM reports r WHERE r.geom && a.geom AND ST_Covers(a.geom, r.geom)) r
    WHERE a.level = 'grid'
    ORDER BY r.id, a.code
"""
# planned for a million rows: sorted in memory, on both cores (UPDATE itself never runs in parallel,
# so the picks are gathered into a temporary table first)
PICKS_SETTINGS = {
    "work_mem": "256MB",
    "parallel_setup_cost": "0",
    "parallel_tuple_cost": "0",
    "min_parallel_table_scan_size": "0",
}
REASSIGN_COVERED_SQL = text("""
    UPDATE reports r SET grid_id = p.grid_id, assignment = 'inside', assignment_distance_m = NULL
    FROM regrid_picks p
    WHERE r.id = p.report_id AND r.grid_id IS DISTINCT FROM p.grid_id
""")
REASSIGN_UNASSIGNED_SQL = text(f"""
    UPDATE reports r
    SET grid_id = pick.grid_id, assignment = pick.kind, assignment_distance_m = pick.distance_m
    FROM (SELECT r2.id AS report_id, f.* FROM reports r2 CROSS JOIN LATERAL {GRID_FOR}(r2.geom, :max_m) f
          WHERE r2.grid_id IS NULL) pick
    WHERE r.id = pick.report_id AND r.grid_id IS DISTINCT FROM pick.grid_id
""")


def _reassign(session: Session, only_unassigned: bool, max_m: float) -> int:
    """Reports without a grid to the grid that holds them now (``only_unassigned=False``: every
    report, after the grid layer was replaced, when none has one)."""
    moved = 0
    if not only_unassigned:
        for name, value in PICKS_SETTINGS.items():
            session.execute(text(f"SET LOCAL {name} = '{value}'"))
        session.execute(text("DROP TABLE IF EXISTS regrid_picks"))
        session.execute(text(f"CREATE TEMPORARY TABLE regrid_picks ON COMMIT DROP AS {GRID_PICKS_SQL}"))
        for name in PICKS_SETTINGS:
            session.execute(text(f"RESET {name}"))
        moved += _rowcount(session.execute(REASSIGN_COVERED_SQL))
        session.execute(text("DROP TABLE regrid_picks"))
    return moved + _rowcount(session.execute(REASSIGN_UNASSIGNED_SQL, {"max_m": max_m}))


# The regrid events of the reports whose grid changed since ``previous`` (report id → grid code).
REGRID_EVENTS_SQL = text("""
    INSERT INTO report_events (report_id, action, from_status, to_status, note, data, at)
    SELECT r.id, 'regrid', r.status, r.status, CAST(:note AS text),
           jsonb_build_object('from_grid', p.code, 'to_grid', a.code), now()
    FROM reports r
    LEFT JOIN unnest(CAST(:ids AS int[]), CAST(:codes AS text[])) AS p (id, code) ON p.id = r.id
    LEFT JOIN areas a ON a.id = r.grid_id
    WHERE p.code IS DISTINCT FROM a.code
""")


def regrid(session: Session, only_unassigned: bool, max_m: float = 50, previous: dict | None = None) -> dict:
    """The system's re-grid after a grid layer changed: the reports without a grid — all of them
    once a layer was replaced (``only_unassigned=False`` plans for that), else the few an added
    layer may take — to the grid that holds them now. With ``previous`` (report id → grid code
    before the layer was replaced) each report whose grid changed gets a ``regrid`` event."""
    counts = {"reports": _reassign(session, only_unassigned, max_m)}
    if previous is not None:
        events = {"ids": list(previous), "codes": list(previous.values()), "note": "grid layer replaced"}
        counts["reports_regridded"] = _rowcount(session.execute(REGRID_EVENTS_SQL, events))
    return counts


# Undoing an import: each report it moved back to the grid, assignment and building it had.
RESTORE_LINKS_SQL = text("""
    UPDATE reports r
    SET grid_id = u.grid_id, assignment = u.assignment, assignment_distance_m = u.assignment_distance_m,
        building_id = u.building_id
    FROM undo_links u
    WHERE u.batch_id = :batch AND u.entity = 'report' AND u.id = r.id
      AND (r.grid_id, r.assignment, r.assignment_distance_m, r.building_id)
          IS DISTINCT FROM (u.grid_id, u.assignment, u.assignment_distance_m, u.building_id)
""")


def restore_links(session: Session, batch_id: int, previous: dict | None = None, max_m: float = 50) -> dict:
    """The system's step when an import is undone: reports back to the grids and buildings they
    had before it (kept in ``undo_links``). With ``previous`` (a grid layer undone: report id →
    grid code before the undo) the reports made since go to the grid that holds them now, and
    each whose grid changed gets a ``regrid`` event."""
    counts = {"reports": _rowcount(session.execute(RESTORE_LINKS_SQL, {"batch": batch_id}))}
    if previous is None:
        return counts
    counts["reports"] += _reassign(session, True, max_m)
    events = {"ids": list(previous), "codes": list(previous.values()), "note": "import undone"}
    counts["reports_regridded"] = _rowcount(session.execute(REGRID_EVENTS_SQL, events))
    return counts


def relink_buildings(session: Session, max_m: float = 20) -> None:
    """After the buildings were replaced: each report to its building, by intake's rule
    (gis.assignment.BUILDING_FOR)."""
    session.execute(
        text(f"UPDATE reports r SET building_id = (SELECT building_id FROM {BUILDING_FOR}(r.geom, :max_m))"),
        {"max_m": max_m},
    )


def _rowcount(result) -> int:
    """Rows an UPDATE or INSERT touched (a CursorResult's count)."""
    return result.rowcount


def status_name(status: str) -> str:
    """A status as the field says it, in the reader's language."""
    return str(STATUS_NAMES.get(status, status))


def event_name(action: str) -> str:
    """An event of the timeline as the field says it (an action's button, or the system's)."""
    if action in ACTIONS:
        return str(ACTIONS[action].label)
    return str(EVENT_NAMES.get(action, action))
