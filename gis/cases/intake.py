"""Report intake: validate, convert the phone's coordinates, assign grid and building, record.

Intake is the hot path (every pin from every phone), so assignment, the report row and its first
event are one SQL statement, ``INTAKE_SQL``. Phones on weak networks retry: a ``client_id`` seen
before returns the first report, never a second one, even when two retries race — the unique
index decides (ON CONFLICT DO NOTHING) and we read the winner.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import RawCursor
from psycopg.pq import TransactionStatus
from psycopg.rows import namedtuple_row
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.orm import Session

from gis.accounts import UNAUTHORIZED_MESSAGE, digest_identity
from gis.assignment import ASSIGNMENT_CTES, POINT, check_point
from gis.coords import CRS_NAMES, to_wgs84
from gis.errors import Conflict, Invalid, Unauthorized
from gis.models import CHANNELS, Category, Report, ReportPhoto, utcnow

MAX_PHOTOS = 3
PHOTO_MAX_SIDE = 1600
MAX_DESCRIPTION = 4000


def _json_of(alias: str, *fields: str) -> str:
    """A related row as a JSON object, null when there is none (a LEFT JOIN found nothing)."""
    pairs = ", ".join(f"'{f}', {alias}.{f}" for f in fields)
    return f"CASE WHEN {alias}.id IS NOT NULL THEN json_build_object({pairs}) END"


# One report as the API shows it, as JSON made by PostgreSQL (the grid's parents follow the fixed
# hierarchy), read from ``{source}``: the reports table, or the row intake has just inserted (a
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
               'grid', {_json_of("g", "id", "code", "name")},
               'community', {_json_of("cm", "id", "code", "name")},
               'street', {_json_of("st", "id", "code", "name")},
               'district', {_json_of("d", "id", "code", "name")},
               'building', {_json_of("b", "id", "name")},
               'response_level', r.response_level,
               'department', {_json_of("dep", "id", "code", "name")},
               'resolved_locally', r.resolved_locally, 'rework_count', r.rework_count,
               'deadline_at', r.deadline_at, 'created_at', r.created_at,
               'updated_at', r.updated_at, 'closed_at', r.closed_at, 'version', r.version) AS report,
           r.dispatched_at, r.deadline_at,
           ARRAY(SELECT p.id FROM report_photos p WHERE p.report_id = r.id ORDER BY p.id) AS photo_ids
    FROM {{source}} r
    JOIN categories c ON c.code = r.category_code
    LEFT JOIN areas g ON g.id = r.grid_id
    LEFT JOIN areas cm ON cm.id = g.parent_id
    LEFT JOIN areas st ON st.id = cm.parent_id
    LEFT JOIN areas d ON d.id = st.parent_id
    LEFT JOIN buildings b ON b.id = r.building_id
    LEFT JOIN departments dep ON dep.id = r.department_id
"""
REPORT_SQL = text(REPORT_DETAIL.format(source="reports") + " WHERE r.id = :id")

# Intake in one statement and one round trip: the reporter (given, or the active user holding the
# API token whose digest is given: a phone's call needs no lookup of its own), assignment, the
# report row (only for a known sub-category and a known token; nothing on a repeated client_id),
# its first event, and the report's details. No row back means a bad token, a bad category or a
# retry; ``submit_report`` tells which, off the hot path.
INTAKE_SQL = text(f"""
    WITH {ASSIGNMENT_CTES},
    category AS (SELECT code FROM categories WHERE code = :category AND parent_code IS NOT NULL),
    reporter AS (
        SELECT coalesce(:reporter_id, (SELECT id FROM users
                                       WHERE api_token_hash = :token_digest AND active)) AS id),
    report AS (
        INSERT INTO reports (client_id, geom, original_crs, original_lon, original_lat,
            category_code, description, address, channel, reporter_id, reporter_contact,
            grid_id, assignment, assignment_distance_m, building_id, status, response_level,
            resolved_locally, rework_count, created_at, updated_at, version)
        SELECT :client_id, {POINT}, :crs, :original_lon, :original_lat, category.code, :description,
            :address, :channel, reporter.id, :contact, grid.id, grid.kind,
            CASE WHEN grid.kind = 'nearest' THEN grid.distance_m END, (SELECT id FROM building),
            'reported', 'community', false, 0, :now, :now, 1
        FROM grid, category, reporter
        WHERE reporter.id IS NOT NULL OR :token_digest IS NULL
        ON CONFLICT (client_id) DO NOTHING
        RETURNING *),
    event AS (
        INSERT INTO report_events (report_id, action, from_status, to_status, actor_id, data, at)
        SELECT id, 'report', NULL, 'reported', reporter_id,
               jsonb_build_object('assignment', assignment), :now
        FROM report)
    {REPORT_DETAIL.format(source="report")}
""")
# It goes to psycopg as PostgreSQL takes it ($1..$n, compiled once here), on the session's own
# connection: psycopg re-parses a named-parameter statement longer than 4 kB on every call, and
# SQLAlchemy's execution layer costs as much again — ~0.3 ms of Python per pin.
INTAKE_PG = INTAKE_SQL.compile(dialect=psycopg_dialect(paramstyle="numeric_dollar"))


def _fetch_one(session: Session, compiled, params: dict, alone: bool = False):
    """The first row (attributes by column name) of a compiled ``numeric_dollar`` statement, run
    by psycopg directly on the session's connection, inside its transaction. ``alone``: the caller
    writes nothing else; if nothing has run in the transaction yet, the statement runs in
    autocommit — atomic by itself, committed before it answers, one round trip instead of three
    (BEGIN, the statement, COMMIT) — and the session's own commit then has nothing left to do."""
    connection: Any = session.connection().connection.driver_connection  # psycopg's
    alone = alone and connection.info.transaction_status == TransactionStatus.IDLE
    if alone:
        connection.autocommit = True
    try:
        with RawCursor(connection, row_factory=namedtuple_row) as cursor:
            cursor.execute(compiled.string, [params[name] for name in compiled.positiontup])
            return cursor.fetchone()
    finally:
        if alone:
            connection.autocommit = False


@dataclass
class Intake:
    report_id: int
    created: bool
    detail: tuple | None = None  # REPORT_SQL's columns, when intake could read it in the same statement

    def report(self, session: Session) -> Report:
        return session.get_one(Report, self.report_id)


def submit_report(
    session: Session,
    *,
    lon,
    lat,
    category: str,
    description: str = "",
    crs: str = "wgs84",
    channel: str = "app",
    reporter_id: int | None = None,
    token_digest: str | None = None,
    client_id: str | uuid.UUID | None = None,
    address: str | None = None,
    contact: str | None = None,
    photos: Sequence[bytes] = (),
    nearest_grid_m: float = 50,
    nearest_building_m: float = 20,
    now: dt.datetime | None = None,
    commit_alone: bool = False,
) -> Intake:
    """Create a report (flushed, not committed unless ``commit_alone``); returns the first one for a
    repeated client_id.
    The reporter is ``reporter_id``, or the active user whose API token has ``token_digest``
    (checked by the statement itself; ``Unauthorized`` when there is none). ``commit_alone``: the
    caller writes nothing else in this transaction, so a report without photos may commit in its
    own statement (a phone's pin: see ``_fetch_one``)."""
    client_uuid = _parse_client_id(client_id)
    lon, lat = check_point(lon, lat)
    if crs not in CRS_NAMES:
        raise Invalid(f"crs must be one of {', '.join(CRS_NAMES)}, not {crs!r}")
    if channel not in CHANNELS:
        raise Invalid(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(f"the description is {len(description)} characters; at most {MAX_DESCRIPTION}")
    if len(photos) > MAX_PHOTOS:
        raise Invalid(f"at most {MAX_PHOTOS} photos per report")
    jpegs = [resize_photo(p) for p in photos]

    wlon, wlat = to_wgs84(lon, lat, crs)
    now = now or utcnow()
    session.flush()  # the statement below goes past SQLAlchemy: nothing pending is flushed for it
    detail = _fetch_one(
        session,
        INTAKE_PG,
        {
            "lon": wlon,
            "lat": wlat,
            "grid_m": nearest_grid_m,
            "building_m": nearest_building_m,
            "client_id": client_uuid,
            "crs": crs,
            "original_lon": lon,
            "original_lat": lat,
            "category": category or "",
            "description": description,
            "address": (address or "").strip() or None,
            "channel": channel,
            "reporter_id": reporter_id,
            "token_digest": token_digest,
            "contact": contact,
            "now": now,
        },
        alone=commit_alone and not jpegs,
    )
    if detail is None:
        if (
            reporter_id is None
            and token_digest is not None
            and digest_identity(session, token_digest) is None
        ):
            raise Unauthorized(UNAUTHORIZED_MESSAGE)
        cat = session.get(Category, category) if category else None
        if cat is None or cat.parent_code is None:
            raise Invalid(f"unknown category {category!r}: choose a sub-category such as 0101")
        # a retry (or a racing one) with the same client_id: answer with the first
        report_id = session.scalar(select(Report.id).where(Report.client_id == client_uuid))
        if report_id is None:  # nothing else keeps a valid report out
            raise Conflict("the report was not recorded: send it again")
        return Intake(report_id, created=False)
    report_id = detail.report["id"]
    if jpegs:
        session.add_all(
            ReportPhoto(report_id=report_id, data=data, content_type="image/jpeg", created_at=now)
            for data in jpegs
        )
        session.flush()
        return Intake(report_id, created=True)  # photo ids are read with the report
    return Intake(report_id, created=True, detail=detail)


def _parse_client_id(client_id) -> uuid.UUID | None:
    if client_id in (None, ""):
        return None
    if isinstance(client_id, uuid.UUID):
        return client_id
    try:
        return uuid.UUID(str(client_id))
    except ValueError:
        raise Invalid(
            "client_id must be a UUID (the phone makes one per report, "
            "and sends the same one when it retries)"
        ) from None


def resize_photo(data: bytes) -> bytes:
    """A JPEG no larger than PHOTO_MAX_SIDE, oriented by its EXIF, without its metadata."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        image: Image.Image = Image.open(io.BytesIO(data))
        image = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError):
        raise Invalid("a photo is not an image we can read (JPEG, PNG or WebP)") from None
    image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=82, optimize=True)
    return out.getvalue()


def photo_gps(data: bytes) -> tuple[float, float] | None:
    """(lon, lat) from a photo's EXIF GPS tags, when the camera recorded them."""
    from PIL import Image, UnidentifiedImageError

    try:
        exif = Image.open(io.BytesIO(data)).getexif()
    except (UnidentifiedImageError, OSError):
        return None
    gps = exif.get_ifd(0x8825)
    try:
        lat = _dms(gps[2]) * (-1 if gps.get(1) == "S" else 1)
        lon = _dms(gps[4]) * (-1 if gps.get(3) == "W" else 1)
    except (KeyError, TypeError, ZeroDivisionError):
        return None
    return lon, lat


def _dms(value) -> float:
    d, m, s = (float(v) for v in value)
    return d + m / 60 + s / 3600
