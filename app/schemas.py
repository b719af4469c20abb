"""Reports and areas as JSON for the API (one shape, used by pages' scripts too)."""
from __future__ import annotations

from flask import url_for
from geoalchemy2.shape import to_shape
from sqlalchemy.orm import Session

from gis.assignment import hierarchy
from gis.models import Building, Report
from gis.workflow import available_actions, traffic_light


def _iso(value):
    return value.isoformat() if value else None


def area_chain(session: Session, grid_id: int | None) -> dict:
    if grid_id is None:
        return {"grid": None, "community": None, "street": None, "district": None}
    chain = hierarchy(session, grid_id)
    return {level: chain.get(level) for level in ("grid", "community", "street", "district")}


def report_json(session: Session, report: Report, user=None) -> dict:
    point = to_shape(report.geom)
    building = session.get(Building, report.building_id) if report.building_id else None
    out = {
        "id": report.id,
        "client_id": str(report.client_id) if report.client_id else None,
        "status": report.status,
        "category": {"code": report.category.code, "name": report.category.name,
                     "name_en": report.category.name_en},
        "description": report.description,
        "address": report.address,
        "channel": report.channel,
        "lon": round(point.x, 7), "lat": round(point.y, 7),
        "original": {"crs": report.original_crs, "lon": report.original_lon,
                     "lat": report.original_lat},
        "assignment": report.assignment,
        "assignment_distance_m": report.assignment_distance_m,
        **area_chain(session, report.grid_id),
        "building": {"id": building.id, "name": building.name} if building else None,
        "response_level": report.response_level,
        "department": ({"id": report.department.id, "code": report.department.code,
                        "name": report.department.name} if report.department else None),
        "resolved_locally": report.resolved_locally,
        "rework_count": report.rework_count,
        "deadline_at": _iso(report.deadline_at),
        "traffic_light": traffic_light(report),
        "created_at": _iso(report.created_at),
        "updated_at": _iso(report.updated_at),
        "closed_at": _iso(report.closed_at),
        "version": report.version,
        "photos": [url_for("api.photo", photo_id=p.id) for p in report.photos],
    }
    if user is not None:
        out["actions"] = [a.name for a in available_actions(user, report)]
    return out


def event_json(event) -> dict:
    return {"id": event.id, "action": event.action, "from": event.from_status,
            "to": event.to_status, "at": _iso(event.at), "note": event.note, "data": event.data,
            "actor": event.actor.display_name if event.actor else None}
