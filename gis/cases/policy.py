"""The access policy: who may open a case, who handles it, who may act on it — one home, in SQL.

Every door that reads a case, photo or track (pages, API, map layers, the grid panel, exports,
Open311) passes through here: a query adds a ``Condition`` from this module to its WHERE, and a
single case is read with ``load_visible`` (NotFound outside the scope, exactly as for a case that
does not exist). The scopes, as SQL on a report row:

- responsible (may act, sees everything unmasked): a grid worker for the reports in their grids
  and those they were asked to verify, a department (each of its members) for the cases
  dispatched to it now, a supervisor or dispatcher for their area (``users.area_code``: a
  district, street or community; NULL: the whole territory), an admin for everything, a planner
  for nothing;
- visible (may open): what one is responsible for, what one reported, and for a department the
  cases once dispatched to it;
- handled (sees personal data unmasked in lists): responsible or the reporter, admins excepted;
  a read of a ``personal`` case by anyone who does not handle it is recorded (``PersonalRead``).
Anonymous readers (Open311) see ``public`` categories only (``public_cases``), masked.

Households, their people and the people's diary are ``personal`` by nature, scoped by the grid
that holds them: whole to the grid's worker, the community's staff (supervisors and dispatchers
whose area holds the grid) and admins (``people_handled_by``); masked to other staff; a
volunteer sees only their own community's (``people_visible_to``). Every read of them is
recorded (``record_reads``). A community's volunteer teams, their points and its mediation figures
are read by its own volunteers, its grid workers and the staff over it (``communities_seen_by``);
the staff over it organise them (``runs_community``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import case, func, insert, select, text
from sqlalchemy.orm import Session, joinedload

from gis.accounts import Viewer, viewer_of
from gis.errors import NotFound
from gis.i18n import Message, _, joined
from gis.models import ROLE_NAMES, STATUS_NAMES, Category, PersonalRead, Report, User

if TYPE_CHECKING:
    from gis.cases.lifecycle import Action


OVERSEERS = frozenset({"supervisor", "dispatcher"})


@dataclass(frozen=True)
class Condition:
    """A SQL condition and its bound parameters (all prefixed ``scope_``)."""

    sql: str
    params: dict = field(default_factory=dict)

    @property
    def everything(self) -> bool:
        return self.sql == "true"

    def clause(self):
        """For SQLAlchemy queries (``select(Report).where(condition.clause())``)."""
        return text(self.sql).bindparams(**self.params) if self.params else text(self.sql)

    def flag(self, name: str):
        """The condition as a selected boolean column ``name``."""
        return case((self.clause(), True), else_=False).label(name)

    def __or__(self, other: Condition) -> Condition:
        if self.everything or other.everything:
            return EVERYTHING
        if other.sql == "false":
            return self
        if self.sql == "false":
            return other
        return Condition(f"({self.sql} OR {other.sql})", {**self.params, **other.params})


EVERYTHING = Condition("true")
NOTHING = Condition("false")


def _area(viewer: Viewer, r: str) -> Condition:
    """The reports of a supervisor's or dispatcher's area: its grids', and those outside every
    grid that lie inside the area itself. The grids' ids and the area's shape are computed once per
    statement (an array and a value), so both sides reach the reports through an index."""
    if viewer.area_code is None:
        return EVERYTHING
    return Condition(
        f"({r}.grid_id = ANY(ARRAY(SELECT id FROM areas"
        f" WHERE level = 'grid' AND code LIKE :scope_area || '%'))"
        f" OR ({r}.grid_id IS NULL"
        f" AND ST_Intersects((SELECT geom FROM areas WHERE code = :scope_area), {r}.geom)))",
        {"scope_area": viewer.area_code},
    )


def responsible_for(viewer: Viewer | User, r: str = "reports") -> Condition:
    """The cases ``viewer`` answers for: may act on them and sees them whole."""
    viewer = viewer_of(viewer)
    if viewer.role == "admin":
        return EVERYTHING
    if viewer.role in OVERSEERS:
        return _area(viewer, r)
    if viewer.role == "grid_worker":
        return Condition(
            f"({r}.grid_id = ANY(CAST(:scope_grids AS int[])) OR {r}.verifier_id = :scope_uid)",
            {"scope_grids": list(viewer.grid_ids), "scope_uid": viewer.id},
        )
    if viewer.role == "department" and viewer.department_id is not None:
        return Condition(f"{r}.department_id = :scope_department", {"scope_department": viewer.department_id})
    return NOTHING


def _reported_by(viewer: Viewer, r: str) -> Condition:
    return Condition(f"{r}.reporter_id = :scope_uid", {"scope_uid": viewer.id})


def visible_to(viewer: Viewer | User, r: str = "reports") -> Condition:
    """The cases ``viewer`` may open: responsible for, reported, or (a department) once had."""
    viewer = viewer_of(viewer)
    visible = responsible_for(viewer, r) | _reported_by(viewer, r)
    if viewer.role == "department" and viewer.department_id is not None:
        visible = visible | Condition(
            f"{r}.id IN (SELECT report_id FROM report_events WHERE department_id = :scope_department)",
            {"scope_department": viewer.department_id},
        )
    return visible


def handled_by(viewer: Viewer | User, r: str = "reports") -> Condition:
    """The cases whose personal data ``viewer`` sees unmasked: responsible for (admins are not:
    they see everything, masked) or reported."""
    viewer = viewer_of(viewer)
    responsible = NOTHING if viewer.role == "admin" else responsible_for(viewer, r)
    return responsible | _reported_by(viewer, r)


def public_cases(r: str = "reports") -> Condition:
    """What anyone may read, masked (Open311 without a key): cases of ``public`` categories."""
    return Condition(f"{r}.category_code IN (SELECT code FROM categories WHERE privacy = 'public')")


def areas_visible_to(viewer: Viewer | User, a: str = "areas") -> Condition:
    """The grids whose panel (worker, figures, last patrol) ``viewer`` may open: a grid worker's
    own, an overseer's area, every grid for the others (the panel holds no case)."""
    viewer = viewer_of(viewer)
    if viewer.role == "grid_worker":
        return Condition(f"{a}.id = ANY(CAST(:scope_grids AS int[]))", {"scope_grids": list(viewer.grid_ids)})
    if viewer.role in OVERSEERS and viewer.area_code is not None:
        return Condition(f"{a}.code LIKE :scope_area || '%'", {"scope_area": viewer.area_code})
    return EVERYTHING


def _grids_of_area(viewer: Viewer, g: str) -> Condition:
    return Condition(
        f"{g} = ANY(ARRAY(SELECT id FROM areas WHERE level = 'grid' AND code LIKE :scope_area || '%'))",
        {"scope_area": viewer.area_code},
    )


def people_handled_by(viewer: Viewer | User, g: str = "buildings.grid_id") -> Condition:
    """The households, people and visits ``viewer`` sees whole, as a condition on their grid's id
    ``g``: the grid's worker's, the staff's of an area holding it, an admin's."""
    viewer = viewer_of(viewer)
    if viewer.role == "admin" or (viewer.role in OVERSEERS and viewer.area_code is None):
        return EVERYTHING
    if viewer.role in OVERSEERS:
        return _grids_of_area(viewer, g)
    if viewer.role == "grid_worker":
        return Condition(f"{g} = ANY(CAST(:scope_grids AS int[]))", {"scope_grids": list(viewer.grid_ids)})
    return NOTHING


def people_visible_to(viewer: Viewer | User, g: str = "buildings.grid_id") -> Condition:
    """The households, people and visits ``viewer`` may list (masked where not handled): a
    volunteer's community's (a building or unit head), every one for staff."""
    viewer = viewer_of(viewer)
    if viewer.role == "volunteer":
        return _grids_of_area(viewer, g) if viewer.area_code else NOTHING
    return EVERYTHING


def communities_seen_by(viewer: Viewer | User, c: str = "teams.community_code") -> Condition:
    """The communities whose teams, points and mediation ``viewer`` may read, as a condition on a
    community code ``c``: a volunteer's own, an overseer's area's, a grid worker's grids',
    every one for admins; none for departments and planners."""
    viewer = viewer_of(viewer)
    if viewer.role == "admin" or (viewer.role in OVERSEERS and viewer.area_code is None):
        return EVERYTHING
    if viewer.role == "volunteer":
        return (
            Condition(f"{c} = :scope_area", {"scope_area": viewer.area_code}) if viewer.area_code else NOTHING
        )
    if viewer.role in OVERSEERS:
        return Condition(f"{c} LIKE :scope_area || '%'", {"scope_area": viewer.area_code})
    if viewer.role == "grid_worker":
        return Condition(
            f"{c} = ANY(ARRAY(SELECT substr(code, 1, 12) FROM areas"
            " WHERE id = ANY(CAST(:scope_grids AS int[]))))",
            {"scope_grids": list(viewer.grid_ids)},
        )
    return NOTHING


def runs_community(viewer: Viewer | User, community_code: str) -> bool:
    """Whether ``viewer`` organises this community's teams: an admin, an overseer whose area
    holds it."""
    viewer = viewer_of(viewer)
    if viewer.role == "admin":
        return True
    return viewer.role in OVERSEERS and (
        viewer.area_code is None or community_code.startswith(viewer.area_code)
    )


def record_reads(session: Session, viewer: Viewer | User, subject: str, ids, via: str) -> None:
    """Record that ``viewer`` read personal data: ``subject`` (household, building, person,
    visits) rows ``ids`` (a list's grid or 0 for a list across grids), through ``via``."""
    viewer = viewer_of(viewer)
    rows = [{"user_id": viewer.id, "subject": subject, "subject_id": int(i), "via": via[:500]} for i in ids]
    if rows:
        session.execute(insert(PersonalRead), rows)


def tracks_visible_to(viewer: Viewer | User, t: str = "patrol_tracks") -> Condition:
    """The patrol tracks ``viewer`` may see: their own, and an overseer's those in their area."""
    viewer = viewer_of(viewer)
    if viewer.role == "admin" or (viewer.role in OVERSEERS and viewer.area_code is None):
        return EVERYTHING
    own = Condition(f"{t}.user_id = :scope_uid", {"scope_uid": viewer.id})
    if viewer.role in OVERSEERS:
        return own | Condition(
            f"EXISTS (SELECT 1 FROM areas scope_a WHERE scope_a.code = :scope_area"
            f" AND ST_Intersects(scope_a.geom, {t}.geom))",
            {"scope_area": viewer.area_code},
        )
    return own


def stats_area(viewer: Viewer | User, within: str | None) -> str | None:
    """The area whose indicators ``viewer`` may read: ``within`` inside their own (NotFound
    outside it), their own when none is asked for (None: the whole territory)."""
    viewer = viewer_of(viewer)
    mine = viewer.area_code if viewer.role in OVERSEERS else None
    if mine is None:
        return within
    if within is None:
        return mine
    if not within.startswith(mine):
        raise NotFound(_("no area %(within)s in your area %(mine)s", within=within, mine=mine))
    return within


def load_visible(session: Session, viewer: Viewer | User, report_id: int, via: str = "") -> Report:
    """The case, if ``viewer`` may open it (NotFound otherwise, as for one that does not exist).
    A ``personal`` case read by someone who does not handle it is recorded, with ``via``."""
    viewer = viewer_of(viewer)
    handled = handled_by(viewer)
    row = session.execute(
        select(Report, handled.flag("handled"), Category.privacy)
        .join(Category, Category.code == Report.category_code)
        .where(Report.id == report_id, visible_to(viewer).clause())
    ).first()
    if row is None:
        raise NotFound(_("no report %(report_id)s", report_id=report_id))
    report, is_handled, privacy = row
    if privacy == "personal" and not is_handled:
        session.add(PersonalRead(user_id=viewer.id, subject="report", subject_id=report.id, via=via))
        session.flush()
    return report


def is_responsible(session: Session, viewer: Viewer | User, report_id: int) -> bool:
    """Whether ``viewer`` answers for this case (one indexed lookup)."""
    condition = responsible_for(viewer)
    if condition.everything or condition.sql == "false":
        return condition.everything
    found = session.scalar(select(Report.id).where(Report.id == report_id, condition.clause()))
    return found is not None


def _role_refuses(viewer: Viewer, action: Action) -> Message | None:
    """Why ``viewer``'s role never takes ``action``, whatever the case (admins take every one)."""
    if viewer.role == "admin":
        return None
    if viewer.role not in action.roles:
        return _(
            "'%(action)s' belongs to %(roles)s, not to %(role)s",
            action=action.label,
            roles=joined(" / ", [ROLE_NAMES[r] for r in sorted(action.roles)]),
            role=ROLE_NAMES[viewer.role],
        )
    if action.name == "assign" and viewer.role == "department" and not viewer.department_lead:
        return _("only the department's lead assigns its cases")
    return None


def takes(viewer: Viewer | User, action: Action) -> bool:
    """Whether ``viewer``'s role takes ``action`` at all (what a list of many cases offers)."""
    return _role_refuses(viewer_of(viewer), action) is None


def may_act(viewer: Viewer | User, report: Report, action: Action, responsible: bool) -> Message | None:
    """Why ``viewer`` may not take ``action`` on ``report`` — or None when they may.
    ``responsible``: ``is_responsible`` for this viewer and case."""
    viewer = viewer_of(viewer)
    if report.status not in action.sources:
        return _(
            "a case that is %(status)s cannot be given '%(action)s'",
            status=STATUS_NAMES[report.status],
            action=action.label,
        )
    if viewer.role == "admin":
        return None
    why = _role_refuses(viewer, action)
    if why is not None:
        return why
    if not responsible:
        if viewer.role == "grid_worker":
            return _("grid workers act only on cases in their own grids")
        if viewer.role == "department":
            return _("this case was dispatched to another department")
        return _("this case is outside your area")
    return None


def personal_reads(session: Session, page: int = 1, size: int = 50) -> tuple[list[PersonalRead], int]:
    """The recorded reads of personal data, newest first (for admins), and how many there are."""
    total = session.scalar(select(func.count()).select_from(PersonalRead)) or 0
    rows = session.scalars(
        select(PersonalRead)
        .options(joinedload(PersonalRead.user))
        .order_by(PersonalRead.at.desc(), PersonalRead.id.desc())
        .limit(size)
        .offset((max(page, 1) - 1) * size)
    ).all()
    return list(rows), total
