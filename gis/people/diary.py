"""The people's diary (民情日记): visits to households and buildings, their follow-ups, the
households nobody visited lately, and the visits per worker per month.

Lists read whole only what the policy's ``people_handled_by`` grants and mask the rest in the
query that reads them (gis/privacy.py's SQL functions); every list read and every single read
is recorded (``record_reads``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gis.accounts import Viewer, viewer_of
from gis.cases.intake import parse_client_id, submit_report
from gis.cases.photos import resize_photo
from gis.cases.policy import people_handled_by, people_visible_to, record_reads
from gis.errors import Invalid, NotFound
from gis.geojson import geojson_text
from gis.i18n import _
from gis.limits import clean_text
from gis.models import VISIT_GRAMS, Building, Household, Person, Visit
from gis.people.households import flag_priority_sql, handled_building
from gis.privacy import MASK_ADDRESS, MASK_NAME, MASK_TEXT

PAGE = 50
ALONE_RED_DAYS = 30  # an elderly person living alone, unvisited this long, is red
DEFAULT_UNVISITED_DAYS = 30
LONGEST_WAIT = dt.timedelta(days=366)  # a follow-up is within a year


@dataclass(frozen=True)
class Recorded:
    visit_id: int
    created: bool
    report_id: int | None


def _place(session: Session, viewer: Viewer, household_id: int | None, building_id: int | None) -> Building:
    """The visited household's building (or the building), if ``viewer`` handles its grid."""
    if household_id is None and building_id is None:
        raise Invalid(_("a visit is to a household or a building"), fields={"household_id": _("is required")})
    if household_id is not None:
        household = session.get(Household, household_id)
        if household is None:
            raise NotFound(_("no household %(id)s", id=household_id))
        building_id = household.building_id
    assert building_id is not None
    return handled_building(session, viewer, building_id)


def record_visit(
    session: Session,
    viewer,
    *,
    visited_on: dt.date,
    today: dt.date,
    household_id: int | None = None,
    building_id: int | None = None,
    met: str | None = None,
    met_person_id: int | None = None,
    discussed: str | None = None,
    needs: str | None = None,
    follow_up_on: dt.date | None = None,
    photo: bytes | None = None,
    client_id=None,
    report_category: str | None = None,
) -> Recorded:
    """A visit (flushed; the caller commits); a repeated ``client_id`` answers with the first.
    With ``report_category`` the visit opens a report at the building, its needs as the
    description, linked both ways (visit.report_id; the case page names the visit)."""
    viewer = viewer_of(viewer)
    client_uuid = parse_client_id(client_id)
    if client_uuid is not None:
        first = session.scalar(select(Visit).where(Visit.client_id == client_uuid))
        if first is not None:
            return Recorded(first.id, False, first.report_id)
    building = _place(session, viewer, household_id, building_id)
    if visited_on > today:
        raise Invalid(_("a visit cannot be in the future"), fields={"visited_on": _("is after today")})
    if follow_up_on is not None and not visited_on <= follow_up_on <= today + LONGEST_WAIT:
        raise Invalid(
            _("a follow-up is between the visit and a year from today"),
            fields={"follow_up_on": _("is out of range")},
        )
    if met_person_id is not None:
        person = session.get(Person, met_person_id)
        if person is None or person.building_id != building.id:
            raise NotFound(_("no person %(id)s in this building", id=met_person_id))
    visit = Visit(
        client_id=client_uuid,
        household_id=household_id,
        building_id=building.id,
        grid_id=building.grid_id,
        user_id=viewer.id,
        visited_on=visited_on,
        met=clean_text(met, "met"),
        met_person_id=met_person_id,
        discussed=clean_text(discussed, "discussed"),
        needs=clean_text(needs, "needs"),
        follow_up_on=follow_up_on,
        photo=resize_photo(photo) if photo else None,
    )
    if not (visit.met or visit.discussed or visit.needs or visit.photo):
        raise Invalid(
            _("say whom you met, what was discussed or what is needed"),
            fields={"discussed": _("is required")},
        )
    try:
        with session.begin_nested():
            session.add(visit)
            session.flush()
    except IntegrityError:  # the same client_id, sent twice at once
        first = session.scalar(select(Visit).where(Visit.client_id == client_uuid))
        if first is None:
            raise
        return Recorded(first.id, False, first.report_id)
    if report_category:
        _open_report(session, viewer, building, visit, report_category)
    return Recorded(visit.id, True, visit.report_id)


def _open_report(session: Session, viewer: Viewer, building: Building, visit: Visit, category: str) -> int:
    """A report at the building, the visit's needs (or what was discussed) as its description,
    the visit linked to it."""
    lon, lat = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p)"
            " FROM (SELECT ST_PointOnSurface(geom) AS p FROM buildings WHERE id = :b) s"
        ),
        {"b": building.id},
    ).one()
    intake = submit_report(
        session,
        lon=lon,
        lat=lat,
        category=category,
        description=visit.needs or visit.discussed or "",
        address=building.address or building.name,
        reporter_id=viewer.id,
        channel="app",
    )
    visit.report_id = intake.report_id
    session.flush()
    return intake.report_id


def open_report_from(session: Session, viewer, visit_id: int, category: str) -> int:
    """A report opened from a visit already in the diary (one tap on its row)."""
    viewer = viewer_of(viewer)
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(_("no visit %(id)s", id=visit_id))
    building = _place(session, viewer, visit.household_id, visit.building_id)
    if visit.report_id is not None:
        return visit.report_id
    return _open_report(session, viewer, building, visit, category)


def visit_of_report(session: Session, report_id: int):
    """The visit a report was opened from (its id, day and building: no person), or None."""
    return session.execute(
        select(Visit.id, Visit.visited_on, Visit.building_id).where(Visit.report_id == report_id).limit(1)
    ).first()


# -- reading the diary --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiaryFilter:
    grid_id: int | None = None
    user_id: int | None = None
    household_id: int | None = None
    building_id: int | None = None
    q: str | None = None
    before: tuple[dt.date, int] | None = None  # keyset: the last row's (visited_on, id)


def _masked(handled: str, column: str, function: str) -> str:
    return f"CASE WHEN {handled} THEN {column} ELSE {function}({column}) END"


VISIT_COLUMNS = """v.id, v.visited_on, v.household_id, v.building_id, v.grid_id, v.user_id,
    v.follow_up_on, v.follow_up_done, v.report_id, v.photo IS NOT NULL AS has_photo,
    b.name AS building_name, h.room, u.display_name AS worker, g.name AS grid_name"""


def find_visits(session: Session, viewer, f: DiaryFilter, via: str, size: int = PAGE) -> list[dict]:
    """A page of visits, newest first, whole where ``viewer`` handles their grid and masked
    elsewhere; the read is recorded (one row: the grid or household asked for, else 0)."""
    viewer = viewer_of(viewer)
    handled = people_handled_by(viewer, "v.grid_id")
    visible = people_visible_to(viewer, "v.grid_id")
    where, params = [visible.sql], {**handled.params, **visible.params}
    for column, value in (
        ("v.grid_id", f.grid_id),
        ("v.user_id", f.user_id),
        ("v.household_id", f.household_id),
        ("v.building_id", f.building_id),
    ):
        if value is not None:
            where.append(f"{column} = :{column[2:]}")
            params[column[2:]] = value
    if f.q:
        q = clean_text(f.q, "description") or ""
        # whole words only for those who handle the visits: a masked reader cannot search the text
        where.append(f"{VISIT_GRAMS} @> gridwatch_grams(:q) AND ({handled.sql})")
        params["q"] = q
    if f.before is not None:
        where.append("(v.visited_on, v.id) < (:before_on, :before_id)")
        params["before_on"], params["before_id"] = f.before
    h = f"({handled.sql})"
    rows = session.execute(
        text(
            f"""SELECT {VISIT_COLUMNS}, {h} AS handled,
                {_masked(h, "v.met", MASK_NAME)} AS met,
                {_masked(h, "v.discussed", MASK_TEXT)} AS discussed,
                {_masked(h, "v.needs", MASK_TEXT)} AS needs
            FROM visits v JOIN buildings b ON b.id = v.building_id
            LEFT JOIN households h ON h.id = v.household_id
            LEFT JOIN users u ON u.id = v.user_id LEFT JOIN areas g ON g.id = v.grid_id
            WHERE {" AND ".join(where)}
            ORDER BY v.visited_on DESC, v.id DESC LIMIT :size"""
        ),
        {**params, "size": size},
    ).mappings()
    out = [dict(r) for r in rows]
    subject = ("household", f.household_id) if f.household_id else ("visits", f.grid_id or f.building_id or 0)
    record_reads(session, viewer, subject[0], [subject[1]], via)
    for r in out:
        if not r["handled"]:
            r["room"] = "***" if r["room"] else r["room"]
    return out


def visit_photo(session: Session, viewer, visit_id: int, via: str) -> bytes:
    """A visit's photo, for those who handle its grid (recorded)."""
    viewer = viewer_of(viewer)
    handled = people_handled_by(viewer, "visits.grid_id")
    photo = session.scalar(select(Visit.photo).where(Visit.id == visit_id, handled.clause()))
    if photo is None:
        raise NotFound(_("no photo of visit %(id)s", id=visit_id))
    record_reads(session, viewer, "visit", [visit_id], via)
    return photo


def follow_ups_due(
    session: Session, viewer, today: dt.date, within_days: int = 7, size: int = 20
) -> list[dict]:
    """The asker's own follow-ups due by ``within_days`` from today (overdue first)."""
    viewer = viewer_of(viewer)
    rows = session.execute(
        text(
            f"""SELECT {VISIT_COLUMNS}, v.met, v.needs, v.follow_up_on < :today AS overdue
            FROM visits v JOIN buildings b ON b.id = v.building_id
            LEFT JOIN households h ON h.id = v.household_id
            LEFT JOIN users u ON u.id = v.user_id LEFT JOIN areas g ON g.id = v.grid_id
            WHERE v.user_id = :uid AND v.follow_up_on IS NOT NULL AND NOT v.follow_up_done
              AND v.follow_up_on <= :until
            ORDER BY v.follow_up_on, v.id LIMIT :size"""
        ),
        {"uid": viewer.id, "today": today, "until": today + dt.timedelta(days=within_days), "size": size},
    ).mappings()
    return [dict(r) for r in rows]


def close_follow_up(session: Session, viewer, visit_id: int) -> None:
    """A follow-up done (its worker's, or anyone handling the grid)."""
    viewer = viewer_of(viewer)
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(_("no visit %(id)s", id=visit_id))
    if visit.user_id != viewer.id:
        _place(session, viewer, visit.household_id, visit.building_id)
    visit.follow_up_done = True
    session.flush()


def not_visited(
    session: Session,
    viewer,
    grid_id: int,
    days: int,
    today: dt.date,
    via: str,
    size: int = PAGE,
    page: int = 1,
) -> tuple[list[dict], int]:
    """The grid's households not visited in ``days`` (never visited included), flags first, then
    the longest unvisited; ``red``: an elderly person living alone unvisited ALONE_RED_DAYS. And
    how many there are. Masked outside the handlers; the read is recorded."""
    viewer = viewer_of(viewer)
    handled = people_handled_by(viewer, "b.grid_id")
    visible = people_visible_to(viewer, "b.grid_id")
    h = f"({handled.sql})"
    since = today - dt.timedelta(days=days)
    params = {
        **handled.params,
        **visible.params,
        "grid": grid_id,
        "since": since,
        "red_since": today - dt.timedelta(days=ALONE_RED_DAYS),
        "size": size,
        "offset": (max(page, 1) - 1) * size,
    }
    base = f"""FROM households h JOIN buildings b ON b.id = h.building_id
        WHERE b.grid_id = :grid AND {visible.sql} AND (h.last_visit_on IS NULL OR h.last_visit_on < :since)"""
    total = session.scalar(text(f"SELECT count(*) {base}"), params) or 0
    rows = session.execute(
        text(
            f"""SELECT h.id, h.building_id, b.name AS building_name, h.flags, h.size, h.last_visit_on,
                CASE WHEN {h} THEN h.room ELSE '***' END AS room,
                {_masked(h, "h.address", MASK_ADDRESS)} AS address,
                (SELECT {_masked(h, "p.name", MASK_NAME)} FROM people p
                 WHERE p.household_id = h.id AND p.kind = 'resident' ORDER BY p.id LIMIT 1) AS contact,
                (SELECT {_masked(h, "p.phone", MASK_TEXT)} FROM people p
                 WHERE p.household_id = h.id AND p.kind = 'resident' ORDER BY p.id LIMIT 1) AS phone,
                'elderly_alone' = ANY(h.flags) AND (h.last_visit_on IS NULL OR h.last_visit_on < :red_since)
                    AS red,
                :today_ - h.last_visit_on AS days_since
            {base}
            ORDER BY {flag_priority_sql("h")}, h.last_visit_on NULLS FIRST, h.id
            LIMIT :size OFFSET :offset"""
        ),
        {**params, "today_": today},
    ).mappings()
    record_reads(session, viewer, "households", [grid_id], via)
    return [dict(r) for r in rows], total


def not_visited_geojson(session: Session, viewer, bbox, days: int, today: dt.date, limit: int = 5000) -> str:
    """The buildings in ``bbox`` with households not visited in ``days``: how many, how many
    flagged, whether one is red — counts only, no person (the list is the door to names)."""
    viewer = viewer_of(viewer)
    visible = people_visible_to(viewer, "b.grid_id")
    minx, miny, maxx, maxy = bbox
    return geojson_text(
        session,
        f"""SELECT json_build_object('type', 'FeatureCollection', 'features',
                COALESCE(json_agg(json_build_object('type', 'Feature', 'id', s.id,
                    'geometry', ST_AsGeoJSON(s.p, 6)::json,
                    'properties', json_build_object('name', s.name, 'grid_id', s.grid_id,
                        'households', s.households, 'flagged', s.flagged, 'red', s.red)) ), '[]'::json))
            FROM (SELECT b.id, b.name, b.grid_id, ST_PointOnSurface(b.geom) AS p, count(*) AS households,
                    count(*) FILTER (WHERE cardinality(h.flags) > 0) AS flagged,
                    bool_or('elderly_alone' = ANY(h.flags)
                        AND (h.last_visit_on IS NULL OR h.last_visit_on < :red_since)) AS red
                  FROM buildings b JOIN households h ON h.building_id = b.id
                  WHERE b.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AND {visible.sql}
                    AND (h.last_visit_on IS NULL OR h.last_visit_on < :since)
                  GROUP BY b.id LIMIT :limit) s""",
        {
            **visible.params,
            "minx": minx,
            "miny": miny,
            "maxx": maxx,
            "maxy": maxy,
            "since": today - dt.timedelta(days=days),
            "red_since": today - dt.timedelta(days=ALONE_RED_DAYS),
            "limit": limit,
        },
    )


def visits_per_worker(session: Session, viewer, month: dt.date, area_code: str | None = None) -> list[dict]:
    """Visits per worker in the month starting ``month``: visits, households visited, follow-ups
    open — for the grids ``viewer`` handles (within ``area_code``)."""
    viewer = viewer_of(viewer)
    handled = people_handled_by(viewer, "v.grid_id")
    start = month.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    area = "AND g.code LIKE :area || '%'" if area_code else ""
    rows = session.execute(
        text(
            f"""SELECT u.id AS user_id, u.display_name AS worker, count(*) AS visits,
                count(DISTINCT v.household_id) AS households,
                count(*) FILTER (WHERE v.follow_up_on IS NOT NULL AND NOT v.follow_up_done)
                    AS follow_ups_open,
                count(*) FILTER (WHERE v.report_id IS NOT NULL) AS reports
            FROM visits v JOIN users u ON u.id = v.user_id LEFT JOIN areas g ON g.id = v.grid_id
            WHERE v.visited_on >= :start AND v.visited_on < :end AND {handled.sql} {area}
            GROUP BY u.id, u.display_name ORDER BY count(*) DESC, u.display_name"""
        ),
        {**handled.params, "start": start, "end": end, "area": area_code},
    ).mappings()
    return [dict(r) for r in rows]
