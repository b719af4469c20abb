"""A building's people as its page shows them, one household, and a person's data exported or
erased on request. Names, phones, rooms and addresses are masked in the query for whoever does
not handle the grid; every read is recorded."""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from gis.accounts import viewer_of
from gis.cases.policy import people_handled_by, people_visible_to, record_reads
from gis.errors import Forbidden, NotFound
from gis.i18n import _
from gis.models import Building, Person, Visit, utcnow
from gis.privacy import MASK_ADDRESS, MASK_NAME, MASK_TEXT


def _building(session: Session, viewer, building_id: int):
    """The building and whether ``viewer`` handles it (NotFound outside what they may list)."""
    handled = people_handled_by(viewer)
    visible = people_visible_to(viewer)
    row = session.execute(
        select(Building, handled.flag("handled")).where(Building.id == building_id, visible.clause())
    ).first()
    if row is None:
        raise NotFound(_("no building %(id)s", id=building_id))
    return row.Building, bool(row.handled)


def _people_sql(handled: bool, where: str) -> str:
    name = "p.name" if handled else f"{MASK_NAME}(p.name)"
    phone = "p.phone" if handled else f"{MASK_TEXT}(p.phone)"
    return f"""SELECT p.id, p.kind, p.household_id, p.unit_id, bu.name AS unit, {name} AS name,
        {phone} AS phone, p.erased_at IS NOT NULL AS erased, p.user_id
        FROM people p LEFT JOIN building_units bu ON bu.id = p.unit_id WHERE {where} ORDER BY p.id"""


def building_people(session: Session, viewer, building_id: int, via: str) -> dict:
    """A building's units, households (with their people) and heads, masked unless ``viewer``
    handles its grid; the read is recorded."""
    viewer = viewer_of(viewer)
    building, handled = _building(session, viewer, building_id)
    room = "h.room" if handled else "'***'"
    address = "h.address" if handled else f"{MASK_ADDRESS}(h.address)"
    households = [
        dict(r)
        for r in session.execute(
            text(
                f"""SELECT h.id, h.unit_id, bu.name AS unit, {room} AS room, {address} AS address, h.size,
                    h.flags, h.notes IS NOT NULL AS has_notes, {"h.notes" if handled else "NULL"} AS notes,
                    h.last_visit_on
                FROM households h LEFT JOIN building_units bu ON bu.id = h.unit_id
                WHERE h.building_id = :b ORDER BY bu.name NULLS FIRST, h.room, h.id"""
            ),
            {"b": building_id},
        ).mappings()
    ]
    people = [
        dict(r)
        for r in session.execute(
            text(_people_sql(handled, "p.building_id = :b")), {"b": building_id}
        ).mappings()
    ]
    by_household: dict[int, list] = {}
    for p in people:
        if p["household_id"] is not None:
            by_household.setdefault(p["household_id"], []).append(p)
    for h in households:
        h["people"] = by_household.get(h["id"], [])
    units = [
        dict(r)
        for r in session.execute(
            text("SELECT id, name FROM building_units WHERE building_id = :b ORDER BY name"),
            {"b": building_id},
        ).mappings()
    ]
    record_reads(session, viewer, "building", [building_id], via)
    return {
        "building": building,
        "handled": handled,
        "units": units,
        "households": households,
        "heads": [p for p in people if p["kind"] != "resident"],
    }


def _person(session: Session, viewer, person_id: int) -> Person:
    """A person whose grid ``viewer`` handles (NotFound otherwise: only handlers export or erase)."""
    handled = people_handled_by(viewer)
    person = session.scalar(
        select(Person)
        .join(Building, Building.id == Person.building_id)
        .where(Person.id == person_id, handled.clause())
    )
    if person is None:
        raise NotFound(_("no person %(id)s", id=person_id))
    return person


def export_person(session: Session, viewer, person_id: int, via: str) -> dict:
    """Everything GridWatch holds on a person: their row, their household, the visits that met
    them or their household (the request's answer, recorded)."""
    viewer = viewer_of(viewer)
    person = _person(session, viewer, person_id)
    household = (
        session.execute(
            text("SELECT id, room, address, size, flags, notes FROM households WHERE id = :h"),
            {"h": person.household_id},
        )
        .mappings()
        .first()
        if person.household_id
        else None
    )
    visits = session.execute(
        text(
            """SELECT v.id, v.visited_on, v.met, v.discussed, v.needs, v.follow_up_on, v.report_id
            FROM visits v WHERE v.met_person_id = :p OR (v.household_id = :h AND :h IS NOT NULL)
            ORDER BY v.visited_on, v.id"""
        ),
        {"p": person.id, "h": person.household_id},
    ).mappings()
    record_reads(session, viewer, "person", [person.id], via)
    building = session.get(Building, person.building_id)
    return {
        "person": {"id": person.id, "kind": person.kind, "name": person.name, "phone": person.phone},
        "building": {"id": building.id, "name": building.name, "address": building.address}
        if building
        else None,
        "household": dict(household) if household else None,
        "visits": [
            {
                **dict(v),
                "visited_on": v["visited_on"].isoformat(),
                "follow_up_on": v["follow_up_on"] and v["follow_up_on"].isoformat(),
            }
            for v in visits
        ],
        "exported_at": utcnow().isoformat(),
    }


def erase_person(session: Session, viewer, person_id: int, via: str) -> int:
    """Erase a person on request: their name and phone, and what the visits that met them say
    (whom, what, needs, photo); the visits stay, so the counts stay. Returns how many visits
    were cleared. A login of theirs (a volunteer's) is left to the admins."""
    viewer = viewer_of(viewer)
    person = _person(session, viewer, person_id)
    if person.erased_at is not None:
        return 0
    if person.user_id is not None and viewer.role != "admin":
        raise Forbidden(_("this person logs in: an admin erases them and their account"))
    person.name = person.phone = None
    person.erased_at = utcnow()
    cleared = session.scalars(
        update(Visit)
        .where(Visit.met_person_id == person.id)
        .values(met=None, discussed=None, needs=None, photo=None)
        .returning(Visit.id)
    ).all()
    record_reads(session, viewer, "person", [person.id], via)
    session.flush()
    return len(cleared)
