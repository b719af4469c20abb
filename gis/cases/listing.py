"""Finding cases: the filtered, paged list supervisors, dispatchers and workers work from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from gis.cases.lifecycle import OPEN_STATUSES
from gis.errors import Invalid
from gis.models import REPORT_STATUSES, Area, Report, User, user_grids


@dataclass
class CaseFilter:
    status: str | None = None  # a status, or 'open'
    category: str | None = None  # a code or a group prefix ('23')
    grid: str | None = None  # an area code of any level: its grids' cases
    overdue: bool = False
    unassigned: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def visible_to(user: User):
    """Grid workers see their grids, departments their dispatched cases, the others everything."""
    if user.role == "grid_worker":
        return Report.grid_id.in_(select(user_grids.c.area_id).where(user_grids.c.user_id == user.id))
    if user.role == "department":
        return Report.department_id == user.department_id
    return None


def find_cases(
    session: Session,
    user: User,
    f: CaseFilter,
    page: int = 1,
    page_size: int = 50,
    now: dt.datetime | None = None,
) -> tuple[list[Report], int]:
    conditions = []
    scope = visible_to(user)
    if scope is not None:
        conditions.append(scope)
    if f.status == "open":
        conditions.append(Report.status.in_(OPEN_STATUSES))
    elif f.status:
        if f.status not in REPORT_STATUSES:
            raise Invalid(f"unknown status {f.status!r}")
        conditions.append(Report.status == f.status)
    if f.category:
        conditions.append(Report.category_code.startswith(f.category))
    if f.grid:
        conditions.append(
            Report.grid_id.in_(select(Area.id).where(Area.level == "grid", Area.code.startswith(f.grid)))
        )
    if f.overdue:
        conditions.append(Report.status.in_(OPEN_STATUSES))
        conditions.append(Report.deadline_at < (now or func.now()))
    if f.unassigned:
        conditions.append(Report.grid_id.is_(None))
    if f.date_from:
        conditions.append(Report.created_at >= f.date_from)
    if f.date_to:
        conditions.append(Report.created_at < f.date_to + dt.timedelta(days=1))
    total = session.scalar(select(func.count()).select_from(Report).where(*conditions))
    rows = session.scalars(
        select(Report)
        .where(*conditions)
        .options(joinedload(Report.category), joinedload(Report.grid), joinedload(Report.department))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(page_size)
        .offset((max(page, 1) - 1) * page_size)
    ).all()
    return list(rows), total or 0
