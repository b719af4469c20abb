"""Reports and areas as JSON for the API (one shape, used by pages' scripts too)."""

from __future__ import annotations

from flask import url_for
from sqlalchemy.orm import Session

from gis.assignment import hierarchy
from gis.cases.lifecycle import available_actions, traffic_light_for
from gis.cases.sql import REPORT_SQL
from gis.models import Report


def _iso(value):
    return value.isoformat() if value else None


def area_chain(session: Session, grid_id: int | None) -> dict:
    if grid_id is None:
        return {"grid": None, "community": None, "street": None, "district": None}
    chain = hierarchy(session, grid_id)
    return {level: chain.get(level) for level in ("grid", "community", "street", "district")}


def report_json(session: Session, report_id: int, user=None, detail=None) -> dict:
    """The API's shape of a report the caller may read (intake's own, or one ``load_visible``
    gave): the JSON PostgreSQL makes (``REPORT_SQL``; intake reads it in its own statement and
    hands it in as ``detail``), with the traffic light now, the photos' URLs and, with ``user``
    (a Viewer), the actions they may take now."""
    row = detail or session.execute(REPORT_SQL, {"id": report_id}).one()
    out = row.report
    out["traffic_light"] = traffic_light_for(out["status"], row.dispatched_at, row.deadline_at)
    out["photos"] = [url_for("api.photo", photo_id=p) for p in row.photo_ids]
    if user is not None:
        out["actions"] = [
            a.name for a in available_actions(session, user, session.get_one(Report, report_id))
        ]
    return out


def event_json(event) -> dict:
    return {
        "id": event.id,
        "action": event.action,
        "from": event.from_status,
        "to": event.to_status,
        "at": _iso(event.at),
        "note": event.note,
        "data": event.data,
        "actor": event.actor.display_name if event.actor else None,
    }
