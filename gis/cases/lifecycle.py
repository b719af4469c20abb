"""The closed loop (数字城管 7 steps) as data: which action moves a report from which state to which,
and who may take it. ``act`` is the one place a report's status changes after intake.

    reported → accepted (or voided) → opened → dispatched → handled → verified → closed
                                                    ↑            │ fail on-site check (rework)
                                                    └────────────┘
Plus: escalate (community → street → district) before dispatch, resolve_locally for small matters
solved on the spot, return (department sends it back to the centre), extend (more time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gis.errors import Conflict, Forbidden, Invalid, NotFound
from gis.models import RESPONSE_LEVELS, Department, Report, ReportEvent, User, utcnow

BEFORE_DISPATCH = frozenset({"reported", "accepted", "opened"})
OPEN_STATUSES = frozenset({"reported", "accepted", "opened", "dispatched", "handled", "verified"})


@dataclass(frozen=True)
class Action:
    name: str
    label: str  # the button a person sees
    sources: frozenset[str]
    target: str | None  # None: the status does not change
    roles: frozenset[str]  # admin may always act
    note_required: bool = False


def _a(name, label, sources, target, roles, note_required=False):
    return Action(name, label, frozenset(sources), target, frozenset(roles), note_required)


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _a("accept", "Accept", {"reported"}, "accepted", {"dispatcher", "supervisor"}),
        _a("void", "Void", {"reported", "accepted"}, "voided", {"dispatcher"}, note_required=True),
        _a("open", "Open case", {"accepted"}, "opened", {"dispatcher"}),
        _a("dispatch", "Dispatch", {"opened"}, "dispatched", {"dispatcher"}),
        _a("handle", "Report handled", {"dispatched"}, "handled", {"department"}),
        _a("return", "Send back", {"dispatched"}, "opened", {"department"}, note_required=True),
        _a("extend", "Extend deadline", {"dispatched"}, None, {"dispatcher"}, note_required=True),
        _a("verify", "Verified on site", {"handled"}, "verified", {"supervisor"}),
        _a("reject", "Failed check: rework", {"handled"}, "dispatched", {"supervisor"}, note_required=True),
        _a("close", "Close", {"verified"}, "closed", {"dispatcher"}),
        _a(
            "escalate",
            "Escalate",
            BEFORE_DISPATCH,
            None,
            {"grid_worker", "supervisor", "dispatcher"},
            note_required=True,
        ),
        _a(
            "resolve_locally",
            "Solved on the spot",
            BEFORE_DISPATCH,
            "closed",
            {"grid_worker", "supervisor"},
            note_required=True,
        ),
    )
}


def may_act(user: User, report: Report, action: Action) -> str | None:
    """Why ``user`` may not take ``action`` on ``report`` — or None when they may."""
    if report.status not in action.sources:
        return f"a report that is {report.status} cannot be given '{action.name}'"
    if user.role == "admin":
        return None
    if user.role not in action.roles:
        return f"'{action.name}' belongs to {' or '.join(sorted(action.roles))}, not {user.role}"
    if user.role == "grid_worker" and report.grid_id not in {g.id for g in user.grids}:
        return "grid workers act only on reports in their own grids"
    if user.role == "department" and report.department_id != user.department_id:
        return "this report was dispatched to another department"
    if action.name == "escalate" and report.response_level == RESPONSE_LEVELS[-1]:
        return "the report is already at district level"
    return None


def available_actions(user: User, report: Report) -> list[Action]:
    return [a for a in ACTIONS.values() if may_act(user, report, a) is None]


def act(
    session: Session,
    report: Report,
    user: User,
    action_name: str,
    *,
    version: int | None,
    note: str | None = None,
    department_id: int | None = None,
    hours: float | None = None,
    now: dt.datetime | None = None,
) -> ReportEvent:
    """Take one step of the loop; flushes, never commits (the caller owns the transaction).

    ``version`` is the one the person saw: if the report changed since, nothing happens (409).
    """
    action = ACTIONS.get(action_name)
    if action is None:
        raise Invalid(f"unknown action {action_name!r}: one of {', '.join(ACTIONS)}")
    if version is None:
        raise Invalid("send the report's version with every action, so two people never both win")
    if int(version) != report.version:
        raise Conflict(
            f"report {report.id} changed since you loaded it (version {report.version}, "
            f"yours {version}): reload it and try again",
            current_version=report.version,
        )
    refusal = may_act(user, report, action)
    if refusal:
        raise Conflict(refusal) if report.status not in action.sources else Forbidden(refusal)
    note = (note or "").strip() or None
    if action.note_required and not note:
        raise Invalid(f"'{action.name}' needs a note saying why")
    now = now or utcnow()
    data: dict = {}
    before = report.status

    if action.name == "open":
        report.opened_at = now
    elif action.name == "dispatch":
        department = session.get(Department, department_id) if department_id else None
        if department is None:
            raise Invalid("choose the department to dispatch to")
        report.department_id = department.id
        report.dispatched_at = now
        limit = report.category.time_limit_hours or 72
        report.deadline_at = now + dt.timedelta(hours=limit)
        data = {"department": department.name, "deadline_at": report.deadline_at.isoformat()}
    elif action.name == "extend":
        if not hours or hours <= 0:
            raise Invalid("say how many hours to extend by")
        assert report.deadline_at is not None  # a dispatched case has its deadline
        deadline = report.deadline_at + dt.timedelta(hours=hours)
        report.deadline_at = deadline
        data = {"hours": hours, "deadline_at": deadline.isoformat()}
    elif action.name == "reject":
        report.rework_count += 1
    elif action.name == "return":
        data = {"department": report.department.name if report.department else None}
        report.department_id = None
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
    report.updated_at = now  # bumps the version even when the status stays
    event = ReportEvent(
        report=report,
        action=action.name,
        from_status=before,
        to_status=report.status,
        actor_id=user.id,
        note=note,
        data=data,
        at=now,
    )
    session.add(event)
    session.flush()
    return event


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


def get_report(session: Session, report_id: int) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(f"no report {report_id}")
    return report
