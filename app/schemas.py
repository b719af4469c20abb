"""Reports and areas as JSON for the API (one shape, used by pages' scripts too)."""
from __future__ import annotations

from flask import url_for
from sqlalchemy.orm import Session

from gis.assignment import hierarchy
from gis.models import Report
from gis.reports import REPORT_SQL
from gis.workflow import available_actions, traffic_light_for


def _iso(value):
    return value.isoformat() if value else None


def area_chain(session: Session, grid_id: int | None) -> dict:
    if grid_id is None:
        return {"grid": None, "community": None, "street": None, "district": None}
    chain = hierarchy(session, grid_id)
    return {level: chain.get(level) for level in ("grid", "community", "street", "district")}


def report_json(session: Session, report_id: int, user=None, detail=None) -> dict:
    """The API's shape of a report, from one query (``REPORT_SQL``) unless its ``detail`` row is
    at hand already (intake reads it in its own statement); with ``user``, the actions they may
    take now."""
    r = detail or session.execute(REPORT_SQL, {"id": report_id}).mappings().one()

    def ref(prefix: str, *fields: str) -> dict | None:
        return {f: r[f"{prefix}_{f}"] for f in fields} if r[f"{prefix}_id"] is not None else None

    out = {
        "id": r["id"],
        "client_id": str(r["client_id"]) if r["client_id"] else None,
        "status": r["status"],
        "category": {"code": r["category_code"], "name": r["category_name"],
                     "name_en": r["category_name_en"]},
        "description": r["description"],
        "address": r["address"],
        "channel": r["channel"],
        "lon": round(r["lon"], 7), "lat": round(r["lat"], 7),
        "original": {"crs": r["original_crs"], "lon": r["original_lon"], "lat": r["original_lat"]},
        "assignment": r["assignment"],
        "assignment_distance_m": r["assignment_distance_m"],
        **{level: ref(level, "id", "code", "name") for level in ("grid", "community", "street", "district")},
        "building": ref("building", "id", "name"),
        "response_level": r["response_level"],
        "department": ref("department", "id", "code", "name"),
        "resolved_locally": r["resolved_locally"],
        "rework_count": r["rework_count"],
        "deadline_at": _iso(r["deadline_at"]),
        "traffic_light": traffic_light_for(r["status"], r["dispatched_at"], r["deadline_at"]),
        "created_at": _iso(r["created_at"]),
        "updated_at": _iso(r["updated_at"]),
        "closed_at": _iso(r["closed_at"]),
        "version": r["version"],
        "photos": [url_for("api.photo", photo_id=p) for p in r["photo_ids"]],
    }
    if user is not None:
        out["actions"] = [a.name for a in available_actions(user, session.get(Report, report_id))]
    return out


def event_json(event) -> dict:
    return {"id": event.id, "action": event.action, "from": event.from_status,
            "to": event.to_status, "at": _iso(event.at), "note": event.note, "data": event.data,
            "actor": event.actor.display_name if event.actor else None}
