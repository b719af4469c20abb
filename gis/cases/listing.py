"""Finding cases: the filtered, paged list supervisors, dispatchers and workers work from, each
seeing the cases the policy lets them open, with personal data masked where they do not handle
the case."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, literal_column, select, text
from sqlalchemy.orm import Session, joinedload

from gis.accounts import Viewer
from gis.cases.policy import handled_by, visible_to
from gis.errors import Invalid
from gis.i18n import _
from gis.models import OPEN_STATUSES, REPORT_STATUSES, SEARCHED_GRAMS, Area, Department, Report, User, utcnow
from gis.privacy import MASK_ADDRESS, MASK_TEXT

MAX_PAGE = 100_000  # past this a list is searched, not paged


MAX_WORDS = 5  # words a search may hold
MAX_WORD = 50  # characters a word may hold
# the orders a list can take: a name → what it sorts by (ties: newest id first)
SORTS = ("created", "deadline", "status", "category", "grid", "department", "id")


@dataclass
class CaseFilter:
    status: str | None = None  # a status, or 'open'
    q: str | None = None  # words, each in the case's description or address (as this viewer sees them)
    category: str | None = None  # a code or a group prefix ('23')
    grid: str | None = None  # an area code of any level: its grids' cases
    overdue: bool = False
    unassigned: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    reporter_id: int | None = None  # only what this person reported (/my)
    sort: str = "created"  # one of SORTS
    descending: bool = True


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
    if f.reporter_id is not None:
        conditions.append(Report.reporter_id == f.reporter_id)
    if f.date_from:
        conditions.append(Report.created_at >= f.date_from)
    if f.date_to:
        conditions.append(Report.created_at < f.date_to + dt.timedelta(days=1))
    handled = handled_by(user)
    description: Any
    address: Any
    if handled.everything:
        description, address = Report.description, Report.address
    else:
        seen = handled.clause()
        description = case((seen, Report.description), else_=getattr(func, MASK_TEXT)(Report.description))
        address = case((seen, Report.address), else_=getattr(func, MASK_ADDRESS)(Report.address))
    if f.q:
        conditions += _words(f.q, description, address)
    total = session.scalar(select(func.count()).select_from(Report).where(*conditions))
    rows = session.execute(
        select(Report, description, address)
        .where(*conditions)
        .options(joinedload(Report.category), joinedload(Report.grid), joinedload(Report.department))
        .order_by(*_order(f))
        .limit(page_size)
        .offset((min(max(page, 1), MAX_PAGE) - 1) * page_size)
    ).all()
    return [Listed(*row) for row in rows], total or 0


def search_words(q: str) -> list[str]:
    """The words of a search, as many as it may hold."""
    return [word[:MAX_WORD] for word in q.split()][:MAX_WORDS]


def _words(q: str, description, address) -> list:
    """Each word among the case's characters and pairs (the index), then in its text as this
    viewer sees it: a masked phone number or address is not found by what the mask hid."""
    seen = func.lower(func.coalesce(description, "") + " " + func.coalesce(address, ""))
    conditions: list[Any] = []
    for word in search_words(q):
        conditions.append(literal_column(SEARCHED_GRAMS).op("@>")(func.gridwatch_grams(word)))
        conditions.append(func.strpos(seen, func.lower(word)) > 0)
    return conditions


def _order(f: CaseFilter) -> list:
    """ORDER BY for the filter's sort: empty values last, then the newest id."""
    if f.sort not in SORTS:
        raise Invalid(_("a list sorts by one of %(items)s", items=", ".join(SORTS)))
    key: Any = {
        "created": Report.created_at,
        "deadline": Report.deadline_at,
        "status": case(
            {status: n for n, status in enumerate(REPORT_STATUSES)}, value=Report.status
        ),  # the loop's order
        "category": Report.category_code,
        "grid": select(Area.code).where(Area.id == Report.grid_id).scalar_subquery(),
        "department": select(Department.code).where(Department.id == Report.department_id).scalar_subquery(),
        "id": Report.id,
    }[f.sort]
    ordered = (key.desc() if f.descending else key.asc()).nulls_last()
    return [ordered, Report.id.desc()] if f.sort != "id" else [ordered]


# "Is it one of these?": the open cases of the same group near a new pin, from the last days.
NEARBY_RADIUS_M = 50.0
NEARBY_DAYS = 7
NEARBY_LIMIT = 5
NEARBY_SQL = """
    SELECT reports.id, reports.version, reports.status, reports.category_code, reports.created_at,
           reports.confirmations,
           ST_Distance(reports.geom::geography, p.point::geography) AS distance_m,
           (SELECT min(ph.id) FROM report_photos ph
            WHERE ph.report_id = reports.id AND ph.kind = 'report') AS photo_id
    FROM reports, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS point) p
    WHERE reports.status IN ({open})
      AND reports.category_code LIKE :group || '%'
      AND reports.created_at >= :since
      AND ST_DWithin(reports.geom, p.point, :radius_deg)
      AND ST_DWithin(reports.geom::geography, p.point::geography, :radius_m)
      AND ({scope})
    ORDER BY distance_m, reports.id
    LIMIT :limit"""


@dataclass
class Nearby:
    id: int
    version: int
    status: str
    category_code: str
    created_at: dt.datetime
    confirmations: int
    distance_m: float
    photo_id: int | None


def nearby_cases(
    session: Session,
    viewer: Viewer | User,
    lon: float,
    lat: float,
    category: str,
    now: dt.datetime | None = None,
    radius_m: float = NEARBY_RADIUS_M,
) -> list[Nearby]:
    """The open cases ``viewer`` may open within ``radius_m`` of (lon, lat), of ``category``'s
    group (its first two digits), reported in the last NEARBY_DAYS days: nearest first."""
    scope = visible_to(viewer)
    sql = NEARBY_SQL.format(open=", ".join(f"'{s}'" for s in sorted(OPEN_STATUSES)), scope=scope.sql)
    rows = session.execute(
        text(sql),
        {
            "lon": lon,
            "lat": lat,
            "group": category[:2],
            "since": (now or utcnow()) - dt.timedelta(days=NEARBY_DAYS),
            "radius_deg": radius_m / (110_000 * max(math.cos(math.radians(lat)), 1e-6)),
            "radius_m": radius_m,
            "limit": NEARBY_LIMIT,
            **scope.params,
        },
    )
    return [Nearby(**row._mapping) for row in rows]
