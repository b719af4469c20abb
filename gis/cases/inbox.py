"""What needs me now: each person's inbox, in sections the loop gives their role (to accept, to
dispatch, to handle, to verify…), the deadlines at 80 % and past, cases sent back for rework,
cases escalated to their level, and the cases of theirs that others changed.

A section is a condition on ``reports`` (written with the policy's own conditions, so an inbox
never holds a case its owner may not open) that /cases also filters by (``CaseFilter.need``):
the inbox shows each section's first cases, the list all of them, sorted and paged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.accounts import Viewer, viewer_of
from gis.cases.policy import OVERSEERS, Condition, responsible_for, visible_to
from gis.errors import Invalid
from gis.i18n import _
from gis.models import CODE_LENGTH, OPEN_CASE_SQL, ROLES, User, utcnow

NEW_LIMIT = 99  # the nav's badge counts this far ("99+")
FIRST_LOOK = dt.timedelta(days=7)  # someone who never looked: what changed in the last week


@dataclass(frozen=True)
class Need:
    key: str
    title: Any  # a Message
    roles: frozenset[str]  # whose inbox holds it (admins: the dispatchers' and supervisors' sections)
    sql: str  # on reports ({r}), beside the viewer's responsible scope


DUE_SOON = (
    "{r}.deadline_at >= now() AND {r}.dispatched_at IS NOT NULL"
    " AND now() >= {r}.dispatched_at + ({r}.deadline_at - {r}.dispatched_at) * 0.8"
)
NEEDS: dict[str, Need] = {
    n.key: n
    for n in (
        Need(
            "to_accept",
            _("To accept"),
            frozenset({"dispatcher", "supervisor", "admin"}),
            "{r}.status = 'reported'",
        ),
        Need(
            "to_open", _("To open as a case"), frozenset({"dispatcher", "admin"}), "{r}.status = 'accepted'"
        ),
        Need("to_dispatch", _("To dispatch"), frozenset({"dispatcher", "admin"}), "{r}.status = 'opened'"),
        Need(
            "to_assign",
            _("To give to someone"),
            frozenset({"department_lead"}),
            "{r}.status = 'dispatched' AND {r}.assignee_id IS NULL",
        ),
        Need(
            "to_handle",
            _("To handle"),
            frozenset({"department"}),
            "{r}.status = 'dispatched' AND ({r}.assignee_id = :need_uid OR {r}.assignee_id IS NULL)",
        ),
        Need(
            "to_verify",
            _("To verify on site"),
            frozenset({"supervisor", "grid_worker"}),
            "{r}.status = 'handled' AND ({r}.verifier_id = :need_uid OR :need_role = 'supervisor')",
        ),
        Need("to_close", _("To close"), frozenset({"dispatcher", "admin"}), "{r}.status = 'verified'"),
        Need(
            "rework",
            _("Sent back for rework"),
            frozenset({"department", "dispatcher", "supervisor"}),
            "{r}.status = 'dispatched' AND {r}.rework_count > 0",
        ),
        Need(
            "due_soon",
            _("Deadline near (80 per cent of the time used)"),
            frozenset({"department", "dispatcher", "supervisor", "admin"}),
            f"{{r}}.{OPEN_CASE_SQL} AND {DUE_SOON}",
        ),
        Need(
            "overdue",
            _("Past the deadline"),
            frozenset({"department", "dispatcher", "supervisor", "admin"}),
            f"{{r}}.{OPEN_CASE_SQL} AND {{r}}.deadline_at < now()",
        ),
        Need(
            "escalated",
            _("Escalated to my level"),
            frozenset({"dispatcher", "supervisor"}),
            f"{{r}}.{OPEN_CASE_SQL} AND {{r}}.response_level = :need_level",
        ),
        Need(
            "changed",
            _("Mine, changed by others"),
            frozenset(ROLES),
            "({r}.reporter_id = :need_uid OR {r}.assignee_id = :need_uid OR {r}.verifier_id = :need_uid"
            " OR {r}.id IN (SELECT report_id FROM report_events WHERE actor_id = :need_uid))"
            " AND EXISTS (SELECT 1 FROM report_events e WHERE e.report_id = {r}.id AND e.at > :need_seen"
            " AND e.actor_id IS DISTINCT FROM :need_uid)",
        ),
    )
}


def _level(viewer: Viewer) -> str | None:
    """The response level an overseer answers at: their area's (the whole territory: district)."""
    if viewer.area_code is None:
        return "district"
    return {CODE_LENGTH["district"]: "district", CODE_LENGTH["street"]: "street"}.get(len(viewer.area_code))


def needs_of(viewer: Viewer | User) -> list[Need]:
    """The sections of ``viewer``'s inbox, in the loop's order."""
    viewer = viewer_of(viewer)
    roles = {viewer.role} | ({"department_lead"} if viewer.department_lead else set())
    found = [n for n in NEEDS.values() if roles & n.roles]
    if viewer.role in OVERSEERS and _level(viewer) is None:  # a community's: nothing climbs to it
        found = [n for n in found if n.key != "escalated"]
    return found


def need_condition(viewer: Viewer | User, key: str, seen_at: dt.datetime | None = None) -> Condition:
    """The cases of inbox section ``key`` for ``viewer``, as a condition on ``reports``."""
    viewer = viewer_of(viewer)
    need = NEEDS.get(key)
    if need is None:
        raise Invalid(_("no inbox section %(key)s: one of %(items)s", key=repr(key), items=", ".join(NEEDS)))
    scope = visible_to(viewer, "reports") if key == "changed" else responsible_for(viewer, "reports")
    params = {
        "need_uid": viewer.id,
        "need_role": viewer.role,
        "need_level": _level(viewer) or "",
        "need_seen": seen_at or utcnow() - FIRST_LOOK,
    }
    sql = need.sql.format(r="reports")
    own = Condition(f"({sql})", {k: v for k, v in params.items() if f":{k}" in sql})
    if scope.everything:
        return own
    if scope.sql == "false":
        return Condition("false")
    return Condition(f"({scope.sql} AND {own.sql})", {**scope.params, **own.params})


# what is new since the person last looked: the cases of their sections changed after it
NEW_SQL = (
    "SELECT count(*) FROM (SELECT 1 FROM reports WHERE ({any}) AND reports.updated_at > :seen LIMIT :cap) s"
)


def new_count(session: Session, viewer: Viewer | User, seen_at: dt.datetime | None) -> int:
    """How many cases in ``viewer``'s inbox changed since ``seen_at`` (the nav's badge), up to
    NEW_LIMIT + 1."""
    viewer = viewer_of(viewer)
    conditions = [need_condition(viewer, n.key, seen_at) for n in needs_of(viewer)]
    if not conditions:
        return 0
    params: dict = {}
    for c in conditions:
        params.update(c.params)
    sql = NEW_SQL.format(any=" OR ".join(c.sql for c in conditions))
    since = seen_at or utcnow() - FIRST_LOOK
    return session.scalar(text(sql), {**params, "seen": since, "cap": NEW_LIMIT + 1}) or 0
