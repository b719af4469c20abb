"""Finding cases: the filtered, paged list supervisors, dispatchers and workers work from, each
seeing the cases the policy lets them open, with personal data masked where they do not handle
the case."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, literal_column, select, text, tuple_
from sqlalchemy.orm import Session, joinedload

from gis.accounts import Viewer
from gis.cases.inbox import need_condition, needs_of
from gis.cases.policy import handled_by, visible_to
from gis.errors import Invalid, NotFound
from gis.i18n import _
from gis.limits import clean_text
from gis.models import (
    LOOP_ORDER,
    OPEN_STATUSES,
    REPORT_STATUSES,
    SEARCHED_GRAMS,
    Area,
    Report,
    SavedFilter,
    User,
    utcnow,
)
from gis.privacy import MASK_ADDRESS, MASK_TEXT

MAX_PAGE = 100_000  # past this a list is searched, not paged
# a list counts this far ("more than 10,000"): counting a million rows took longer than the page
COUNT_LIMIT = 10_000
SEARCH_IN_ORDER = 2_000  # a search matching more: its page read in the list's order, not by the index


MAX_WORDS = 5  # words a search may hold
MAX_WORD = 50  # characters a word may hold
# the orders a list can take: a name → what it sorts by (ties: newest id first)
SORTS = ("created", "deadline", "status", "category", "grid", "department", "assignee", "id")


@dataclass
class CaseFilter:
    status: str | None = None  # a status, or 'open'
    q: str | None = None  # words, each in the case's description, address or notes (as this viewer sees them)
    category: str | None = None  # a code or a group prefix ('23')
    grid: str | None = None  # an area code of any level: its grids' cases
    overdue: bool = False
    unassigned: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    reporter_id: int | None = None  # only what this person reported (/my)
    building_id: int | None = None  # the cases of one building (its page)
    need: str | None = None  # an inbox section (gis.cases.inbox.NEEDS): what needs this viewer now
    seen_at: dt.datetime | None = None  # the section "changed": changed since then
    changed_since: dt.datetime | None = None  # only the cases changed after this
    after: str | None = None  # a cursor (``cursor_of``): the page after this case, in the list's order
    before: str | None = None  # a cursor: the page before this case
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
    """A page of the cases ``user`` may open that match ``f``, and how many match (counted up to
    COUNT_LIMIT + 1: more means "more than COUNT_LIMIT")."""
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
    if f.status and f.sort == "status":  # the loop's places of the statuses asked: where the index starts
        places = [
            REPORT_STATUSES.index(st) + 1 for st in (OPEN_STATUSES if f.status == "open" else [f.status])
        ]
        conditions.append(literal_column(LOOP_ORDER).between(min(places), max(places)))
    if f.category:
        conditions.append(Report.category_code.startswith(f.category))
    if f.building_id is not None:
        conditions.append(Report.building_id == f.building_id)
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
    if f.need:
        conditions.append(need_condition(user, f.need, f.seen_at).clause())
    if f.changed_since:
        conditions.append(Report.updated_at > f.changed_since)
    if f.date_from:
        conditions.append(Report.created_at >= f.date_from)
    if f.date_to:
        conditions.append(Report.created_at < f.date_to + dt.timedelta(days=1))
    handled = handled_by(user)
    description: Any
    address: Any
    notes: Any
    if handled.everything:
        description, address, notes = Report.description, Report.address, Report.notes
    else:
        seen = handled.clause()
        description = case((seen, Report.description), else_=getattr(func, MASK_TEXT)(Report.description))
        address = case((seen, Report.address), else_=getattr(func, MASK_ADDRESS)(Report.address))
        notes = case((seen, Report.notes), else_=getattr(func, MASK_TEXT)(Report.notes))
    indexed, in_text = _words(f.q, description, address, notes) if f.q else ([], [])
    total = session.scalar(
        select(func.count()).select_from(
            select(Report.id).where(*conditions, *indexed, *in_text).limit(COUNT_LIMIT + 1).subquery()
        )
    )
    if (total or 0) > SEARCH_IN_ORDER:
        # many cases hold the words: the page is the first ones met in the list's order (an
        # index's), each checked; the planner, taking the words' characters as independent,
        # would fetch them all through the search index and sort them
        indexed = []
    back = f.before is not None and f.after is None
    segments = _beyond(f, f.before if back else f.after, back)
    offset = 0 if f.after or f.before else (min(max(page, 1), MAX_PAGE) - 1) * page_size
    rows: list = []
    for segment in segments:  # each one index range, read in the list's order until the page is full
        if len(rows) >= page_size:
            break
        # the page's ids first, planned alone (an index's end and a LIMIT), then their rows
        ids = (
            select(Report.id)
            .where(*conditions, *indexed, *in_text, *segment)
            .order_by(*_order(f, reverse=back))
            .limit(page_size - len(rows))
            .offset(offset)
            .scalar_subquery()
        )
        rows += session.execute(
            select(Report, description, address)
            .where(Report.id.in_(ids))
            .options(
                joinedload(Report.category),
                joinedload(Report.grid),
                joinedload(Report.department),
                joinedload(Report.assignee),
            )
            .order_by(*_order(f, reverse=back))
        ).all()
    listed = [Listed(*row) for row in rows]
    return (listed[::-1] if back else listed), total or 0


@dataclass
class InboxSection:
    """One section of an inbox: its first cases, how many it holds (up to COUNT_LIMIT + 1), and
    how many of those changed since the person last looked."""

    key: str
    title: Any
    rows: list[Listed]
    total: int
    new: int


def inbox(
    session: Session, viewer: Viewer | User, seen_at: dt.datetime | None, size: int = 5
) -> list[InboxSection]:
    """``viewer``'s inbox (gis.cases.inbox): each section of their role with its first ``size``
    cases, the most urgent first (the nearest deadline, then the oldest)."""
    sections = []
    for need in needs_of(viewer):
        f = CaseFilter(need=need.key, seen_at=seen_at, sort="deadline", descending=False)
        rows, total = find_cases(session, viewer, f, 1, size)
        new = total
        if seen_at is not None and total:
            f.changed_since = seen_at
            new = find_cases(session, viewer, f, 1, 0)[1]
        sections.append(InboxSection(need.key, need.title, rows, total, new))
    return sections


MAX_SAVED_FILTERS = 20  # per person


def saved_filters(session: Session, viewer: Viewer | User) -> list[SavedFilter]:
    """A person's saved /cases filters, by name."""
    return list(
        session.scalars(
            select(SavedFilter).where(SavedFilter.user_id == viewer.id).order_by(SavedFilter.name)
        ).all()
    )


def save_filter(session: Session, viewer: Viewer | User, name: str | None, query: str) -> SavedFilter:
    """Keep ``query`` (the list's query string) under ``name``; the same name again replaces it."""
    name = clean_text(name, "name", required=True)
    kept = {f.name: f for f in saved_filters(session, viewer)}
    if name in kept:
        kept[name].query = query
        session.flush()
        return kept[name]
    if len(kept) >= MAX_SAVED_FILTERS:
        raise Invalid(_("at most %(count)s saved filters: remove one first", count=MAX_SAVED_FILTERS))
    saved = SavedFilter(user_id=viewer.id, name=str(name), query=query)
    session.add(saved)
    session.flush()
    return saved


def delete_filter(session: Session, viewer: Viewer | User, filter_id: int) -> None:
    saved = session.get(SavedFilter, filter_id)
    if saved is None or saved.user_id != viewer.id:
        raise NotFound(_("no saved filter %(id)s", id=filter_id))
    session.delete(saved)
    session.flush()


def search_words(q: str) -> list[str]:
    """The words of a search, as many as it may hold."""
    return [word[:MAX_WORD] for word in q.split()][:MAX_WORDS]


def _words(q: str, description, address, notes) -> tuple[list, list]:
    """The conditions of a search: each word's characters and pairs among the case's (through
    the search index), and each word in its text as this viewer sees it (a masked phone number
    or address is not found by what the mask hid)."""
    seen = func.lower(
        func.coalesce(description, "") + " " + func.coalesce(address, "") + " " + func.coalesce(notes, "")
    )
    indexed: list[Any] = []
    in_text: list[Any] = []
    for word in search_words(q):
        indexed.append(literal_column(SEARCHED_GRAMS).op("@>")(func.gridwatch_grams(word)))
        in_text.append(func.strpos(seen, func.lower(word)) > 0)
    return indexed, in_text


NULLABLE_SORTS = frozenset({"deadline", "grid", "department", "assignee"})


def _sort_key(f: CaseFilter) -> Any:
    if f.sort not in SORTS:
        raise Invalid(_("a list sorts by one of %(items)s", items=", ".join(SORTS)))
    return {
        "created": Report.created_at,
        "deadline": Report.deadline_at,
        "status": literal_column(LOOP_ORDER),  # the loop's order
        "category": Report.category_code,
        "grid": Report.grid_id,  # grouped by grid
        "department": Report.department_id,
        "assignee": Report.assignee_id,  # grouped by person
        "id": Report.id,
    }[f.sort]


def _order(f: CaseFilter, reverse: bool = False) -> list:
    """ORDER BY for the filter's sort, then the newest id: each an index's order (models'
    Report indexes), so a page is read from an index's end, not sorted out of a million rows.
    Empty values (no deadline, no department) come last going up, first going down.
    ``reverse``: the other way (the page before a cursor, read backwards)."""
    key = _sort_key(f)
    descending = f.descending != reverse
    if f.sort == "id":
        return [Report.id.desc() if descending else Report.id.asc()]
    if descending:
        return [key.desc(), Report.id.desc()]
    return [key.asc(), Report.id.asc()]


def cursor_of(f: CaseFilter, report: Report) -> str:
    """Where ``report`` stands in the list's order, for the next page to start after it (keyset
    paging: a page deep in the list costs what the first one does, not the rows before it)."""
    value: Any = {
        "created": report.created_at.isoformat(),
        "deadline": report.deadline_at.isoformat() if report.deadline_at else "",
        "status": REPORT_STATUSES.index(report.status) + 1,
        "category": report.category_code,
        "grid": report.grid_id or "",
        "department": report.department_id or "",
        "assignee": report.assignee_id or "",
        "id": "",
    }[f.sort]
    return f"{value}~{report.id}"


def _beyond(f: CaseFilter, cursor: str | None, back: bool) -> list[list]:
    """The rows past ``cursor`` in the list's order (``back``: before it), as segments read one
    after the other, each a single index range: the cases with a value, and those without one
    (no deadline, no department), which come last going up and first going down."""
    if not cursor:
        return [[]]
    raw, _sep, rid = cursor.rpartition("~")
    try:
        last_id = int(rid)
        value: Any = None
        if raw:
            if f.sort in ("created", "deadline"):
                value = dt.datetime.fromisoformat(raw)
            elif f.sort in ("status", "grid", "department", "assignee"):
                value = int(raw)
            else:
                value = raw
    except ValueError:
        raise Invalid(
            _("this page link is broken: start from the first page"), fields={"after": _("broken")}
        ) from None
    key = _sort_key(f)
    forward = f.descending != back  # reading the index downwards
    next_id = Report.id < last_id if forward else Report.id > last_id
    if f.sort == "id":
        return [[next_id]]
    nullable = f.sort in NULLABLE_SORTS
    if value is None:  # among the empty values: first going down, last going up
        if not nullable:
            raise Invalid(
                _("this page link is broken: start from the first page"), fields={"after": _("broken")}
            )
        rest = [key.is_(None), next_id]
        return [rest, [key.is_not(None)]] if forward else [rest]
    row, at = tuple_(key, Report.id), tuple_(value, last_id)
    past = row < at if forward else row > at
    return [[past], [key.is_(None)]] if nullable and not forward else [[past]]


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
