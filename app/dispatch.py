"""The dispatch API (/api/v1): each person's inbox, one step for many cases, reply templates."""

from __future__ import annotations

from flask import Blueprint, jsonify, url_for

from app.auth import current_row, current_viewer
from app.database import db
from app.openapi import Reply, operation
from app.params import department_id, user_id
from app.schemas import REFUSED, BulkIn, BulkOut, InboxOut, TemplateIn, TemplateOut, iso
from gis.cases.bulk import act_on_many
from gis.cases.inbox import new_count
from gis.cases.lifecycle import status_name, traffic_light
from gis.cases.listing import inbox
from gis.cases.replies import add_template, remove_template, templates_for
from gis.models import utcnow

bp = Blueprint("dispatch", __name__, url_prefix="/api/v1")


@bp.get("/inbox")
@operation(
    "What needs me now: my role's sections (to accept, dispatch, handle, verify…), deadlines near and "
    "past, rework, escalations, my cases others changed; each with its first cases",
    responses={200: Reply(InboxOut), "default": REFUSED},
    tags=("dispatch",),
)
def get_inbox():
    seen_at = current_row().inbox_seen_at
    viewer = current_viewer()
    sections = [
        {
            "key": s.key,
            "title": str(s.title),
            "total": s.total,
            "new": s.new,
            "all": url_for("pages.cases", need=s.key),
            "cases": [
                {
                    "id": row.report.id,
                    "status": status_name(row.report.status),
                    "category": row.report.category.name,
                    "grid": row.report.grid.name if row.report.grid else None,
                    "description": row.description,
                    "deadline_at": iso(row.report.deadline_at),
                    "updated_at": iso(row.report.updated_at),
                    "traffic_light": traffic_light(row.report),
                    "url": url_for("pages.case", report_id=row.report.id),
                }
                for row in s.rows
            ],
        }
        for s in inbox(db(), viewer, seen_at)
    ]
    return jsonify({"sections": sections, "new": new_count(db(), viewer, seen_at), "seen_at": iso(seen_at)})


@bp.post("/inbox/seen")
@operation(
    "I have looked: what changes from now on is new",
    responses={204: Reply(description="done"), "default": REFUSED},
    tags=("dispatch",),
)
def inbox_seen():
    current_row().inbox_seen_at = utcnow()
    return "", 204


@bp.post("/cases/bulk")
@operation(
    "One step (accept, open, dispatch, assign, void, close) for many cases, each with the version "
    "its person saw: each done, changed meanwhile, or not allowed, apart",
    body=BulkIn,
    responses={200: Reply(BulkOut), "default": REFUSED},
    tags=("dispatch",),
)
def bulk(body: BulkIn):
    outcomes = act_on_many(
        db(),
        current_viewer(),
        body.action,
        [(item.id, item.version) for item in body.items],
        note=body.note,
        department_id=department_id(body.department),
        assignee_id=user_id(body.assignee),
    )
    results = [
        {
            "id": o.report_id,
            "outcome": o.outcome,
            "message": str(o.message) if o.message else None,
            "version": o.version,
        }
        for o in outcomes
    ]
    return jsonify({"results": results, "done": sum(1 for o in outcomes if o.outcome == "done")})


def _template_json(template) -> dict:
    return {
        "id": template.id,
        "text": template.text,
        "department": template.department_id and str(template.department_id),
    }


@bp.get("/templates")
@operation(
    "Reply templates (常用语) I may use: my department's, then everyone's",
    responses={200: Reply(list[TemplateOut]), "default": REFUSED},
    tags=("dispatch",),
)
def list_templates():
    return jsonify([_template_json(t) for t in templates_for(db(), current_viewer())])


@bp.post("/templates")
@operation(
    "A new reply template: a department lead's for their department, an admin's for everyone",
    body=TemplateIn,
    responses={201: Reply(TemplateOut), "default": REFUSED},
    tags=("dispatch",),
)
def create_template(body: TemplateIn):
    return jsonify(_template_json(add_template(db(), current_viewer(), body.text))), 201


@bp.delete("/templates/<id:template_id>")
@operation(
    "Remove a reply template",
    responses={204: Reply(description="done"), "default": REFUSED},
    tags=("dispatch",),
)
def delete_template(template_id: int):
    remove_template(db(), current_viewer(), template_id)
    return "", 204
