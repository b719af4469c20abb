"""The report as the API shows it, as JSON made by PostgreSQL: one statement for reading a case
(``REPORT_SQL``), shared with intake, which reads the row it has just inserted the same way."""

from __future__ import annotations

from sqlalchemy import text


def _json_of(alias: str, *fields: str) -> str:
    """A related row as a JSON object, null when there is none (a LEFT JOIN found nothing)."""
    pairs = ", ".join(f"'{f}', {alias}.{f}" for f in fields)
    return f"CASE WHEN {alias}.id IS NOT NULL THEN json_build_object({pairs}) END"


def _level(level: str) -> str:
    """One level of the report's grid chain (the view grid_chain) as a JSON object, or null."""
    return (
        f"CASE WHEN gc.{level}_id IS NOT NULL THEN json_build_object('id', gc.{level}_id, "
        f"'code', gc.{level}_code, 'name', gc.{level}_name) END"
    )


# One report as the API shows it, as JSON made by PostgreSQL (the grid's parents from grid_chain),
# read from ``{source}``: the reports table, or the row intake has just inserted (a
# statement cannot see its own inserts in the table, only through RETURNING). Beside it, what
# app/schemas.py needs to add the traffic light and photo URLs: the two times as times, photo ids.
# One JSON value from the database rather than 43 columns for the web worker to describe, convert
# and rebuild on every intake.
REPORT_DETAIL = f"""
    SELECT json_build_object(
               'id', r.id, 'client_id', r.client_id, 'status', r.status,
               'category', json_build_object('code', c.code, 'name', c.name, 'name_en', c.name_en),
               'description', r.description, 'address', r.address, 'channel', r.channel,
               'lon', round(ST_X(r.geom)::numeric, 7), 'lat', round(ST_Y(r.geom)::numeric, 7),
               'original', json_build_object('crs', r.original_crs, 'lon', r.original_lon,
                                             'lat', r.original_lat),
               'assignment', r.assignment, 'assignment_distance_m', r.assignment_distance_m,
               'grid', {_level("grid")}, 'community', {_level("community")},
               'street', {_level("street")}, 'district', {_level("district")},
               'building', {_json_of("b", "id", "name")},
               'response_level', r.response_level,
               'department', {_json_of("dep", "id", "code", "name")},
               'assignee', {_json_of("asg", "id", "username", "display_name")},
               'verifier', {_json_of("ver", "id", "username", "display_name")},
               'resolved_locally', r.resolved_locally, 'rework_count', r.rework_count,
               'confirmations', r.confirmations,
               'deadline_at', r.deadline_at, 'created_at', r.created_at,
               'updated_at', r.updated_at, 'closed_at', r.closed_at, 'version', r.version) AS report,
           r.dispatched_at, r.deadline_at,
           ARRAY(SELECT p.id FROM report_photos p WHERE p.report_id = r.id AND p.kind = 'report'
                 ORDER BY p.id) AS photo_ids
    FROM {{source}} r
    JOIN categories c ON c.code = r.category_code
    LEFT JOIN grid_chain gc ON gc.grid_id = r.grid_id
    LEFT JOIN buildings b ON b.id = r.building_id
    LEFT JOIN departments dep ON dep.id = r.department_id
    LEFT JOIN users asg ON asg.id = r.assignee_id
    LEFT JOIN users ver ON ver.id = r.verifier_id
"""
REPORT_SQL = text(REPORT_DETAIL.format(source="reports") + " WHERE r.id = :id")
