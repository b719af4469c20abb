"""Finding cases: the filtered, paged list supervisors, dispatchers and workers work from, each
seeing the cases the policy lets them open, with personal data masked where they do not handle
the case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, joinedload

from gis.accounts import Viewer
from gis.cases.policy import handled_by, visible_to
from gis.errors import Invalid
from gis.i18n import _
from gis.models import OPEN_STATUSES, REPORT_STATUSES, Area, Report, User
from gis.privacy import MASK_ADDRESS, MASK_TEXT

MAX_PAGE = 100_000  # past this a list is searched, not paged


@dataclass
class CaseFilter:
    status: str | None = None  # a status, or 'open'
    category: str | None = None  # a code or a group prefix ('23')
    grid: str | None = None  # an area code of any level: its grids' cases
    overdue: bool = False
    unassigned: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass
class Listed:
    """A case as a list shows it: the row, and its text and address as this viewer may see them."""

    report: Report
    description: str
    address: str | None


def find_cases(
    session: Session,
    user: Viewer | User,
    f: CaseFilter,
    page: int = 1,
    page_size: int = 50,
    now: dt.datetime | None = None,
) -> tuple[list[Listed], int]:
    conditions = []
    scope = visible_to(user)
    if not scope.everything:
        conditions.append(scope.clause())
    if f.status == "open":
        conditions.append(Report.status.in_(OPEN_STATUSES))
    elif f.status:
        if f.status not in REPORT_STATUSES:
            raise Invalid(_("unknown status %(status)s", status=repr(f.status)))
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
    handled = handled_by(user)
    description: Any
    address: Any
    if handled.everything:
        description, address = Report.description, Report.address
    else:
        seen = handled.clause()
        description = case((seen, Report.description), else_=getattr(func, MASK_TEXT)(Report.description))
        address = case((seen, Report.address), else_=getattr(func, MASK_ADDRESS)(Report.address))
    rows = session.execute(
        select(Report, description, address)
        .where(*conditions)
        .options(joinedload(Report.category), joinedload(Report.grid), joinedload(Report.department))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(page_size)
        .offset((min(max(page, 1), MAX_PAGE) - 1) * page_size)
    ).all()
    return [Listed(*row) for row in rows], total or 0
