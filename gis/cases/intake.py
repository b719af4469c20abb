"""Report intake: validate, convert the phone's coordinates, assign grid and building, record.

Intake is the hot path (every pin from every phone), so assignment, the report row and its first
event are one SQL statement (``lifecycle.INTAKE_SQL``, run by ``lifecycle.record_intake``).
Phones on weak networks retry: a ``client_id`` seen before returns the first report, never a
second one, even when two retries race — the unique index decides (ON CONFLICT DO NOTHING) and we
read the winner.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.accounts import UNAUTHORIZED_MESSAGE, digest_viewer
from gis.assignment import AT_POINT, check_point
from gis.cases.lifecycle import OUTSIDE_COMMUNITY, record_intake
from gis.cases.photos import resize_photo
from gis.coords import CRS_NAMES, to_wgs84
from gis.errors import Conflict, Invalid, Unauthorized
from gis.i18n import _
from gis.limits import clean_text
from gis.models import CHANNELS, Category, Report, ReportPhoto, utcnow

MAX_PHOTOS = 3


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
    own statement (a phone's pin: see ``lifecycle.record_intake``)."""
    client_uuid = parse_client_id(client_id)
    lon, lat = check_point(lon, lat)
    if crs not in CRS_NAMES:
        raise Invalid(
            _("crs must be one of %(items)s, not %(crs)s", items=", ".join(CRS_NAMES), crs=repr(crs))
        )
    if channel not in CHANNELS:
        raise Invalid(
            _(
                "channel must be one of %(items)s, not %(channel)s",
                items=", ".join(CHANNELS),
                channel=repr(channel),
            )
        )
    category = clean_text(category, "category") or ""
    description = clean_text(description, "description") or ""
    address = clean_text(address, "address")
    contact = clean_text(contact, "contact")
    if len(photos) > MAX_PHOTOS:
        raise Invalid(_("at most %(max_photos)s photos per report", max_photos=MAX_PHOTOS))
    jpegs = [resize_photo(p) for p in photos]

    wlon, wlat = to_wgs84(lon, lat, crs)
    now = now or utcnow()
    session.flush()  # the statement below goes past SQLAlchemy: nothing pending is flushed for it
    detail = record_intake(
        session,
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
            "address": address,
            "channel": channel,
            "reporter_id": reporter_id,
            "token_digest": token_digest,
            "contact": contact,
            "now": now,
        },
        alone=commit_alone and not jpegs,
    )
    if detail is None:
        if reporter_id is None and token_digest is not None and digest_viewer(session, token_digest) is None:
            raise Unauthorized(UNAUTHORIZED_MESSAGE)
        cat = session.get(Category, category) if category else None
        if cat is None or cat.parent_code is None:
            raise Invalid(
                _(
                    "unknown category %(category)s: choose a sub-category such as 0101",
                    category=repr(category),
                )
            )
        # a retry (or a racing one) with the same client_id: answer with the first
        report_id = (
            session.scalar(select(Report.id).where(Report.client_id == client_uuid)) if client_uuid else None
        )
        if report_id is None and _outside_community(session, reporter_id, token_digest, wlon, wlat):
            raise Invalid(
                _("a volunteer reports within their own community: this point lies outside it"),
                fields={"lon": _("outside your community")},
            )
        if report_id is None:  # nothing else keeps a valid report out
            raise Conflict(_("the report was not recorded: send it again"))
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


def _outside_community(session: Session, reporter_id, token_digest, lon: float, lat: float) -> bool:
    """Whether intake refused the pin for a volunteer's community (the rule intake's statement ran)."""
    reporter = (
        "CAST(:reporter_id AS int)"
        if reporter_id is not None
        else "(SELECT id FROM users WHERE api_token_hash = :token_digest AND active)"
    )
    condition = OUTSIDE_COMMUNITY.format(reporter=reporter, point=AT_POINT)
    return bool(
        session.scalar(
            text(f"SELECT {condition}"),
            {"reporter_id": reporter_id, "token_digest": token_digest, "lon": lon, "lat": lat},
        )
    )


def parse_client_id(client_id) -> uuid.UUID | None:
    """A phone's id of what it sends (a report, a visit): the same one on every retry."""
    if client_id in (None, ""):
        return None
    if isinstance(client_id, uuid.UUID):
        return client_id
    try:
        return uuid.UUID(str(client_id))
    except ValueError:
        raise Invalid(
            _(
                "client_id must be a UUID (the phone makes one per report or visit, and sends the same one "
                "when it retries)"
            ),
            fields={"client_id": _("is not a UUID")},
        ) from None
