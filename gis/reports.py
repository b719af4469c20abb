"""Report intake: validate, convert the phone's coordinates, assign grid and building, record.

Phones on weak networks retry: a ``client_id`` seen before returns the first report, never a
second one, even when two retries race (the unique index decides, we re-read).
"""
from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gis.assignment import assign_grid, check_point, find_building
from gis.coords import CRS_NAMES, to_wgs84
from gis.errors import Invalid
from gis.models import CHANNELS, Category, Report, ReportEvent, ReportPhoto, User, utcnow

MAX_PHOTOS = 3
PHOTO_MAX_SIDE = 1600
MAX_DESCRIPTION = 4000


@dataclass
class Intake:
    report: Report
    created: bool


def submit_report(session: Session, *, lon, lat, category: str, description: str = "",
                  crs: str = "wgs84", channel: str = "app", reporter: User | None = None,
                  client_id: str | uuid.UUID | None = None, address: str | None = None,
                  contact: str | None = None, photos: list[bytes] = (),
                  nearest_grid_m: float = 50, nearest_building_m: float = 20,
                  now: dt.datetime | None = None) -> Intake:
    """Create a report (flushes, does not commit); returns the first one for a repeated client_id."""
    client_uuid = _parse_client_id(client_id)
    if client_uuid is not None:
        existing = session.scalar(select(Report).where(Report.client_id == client_uuid))
        if existing is not None:
            return Intake(existing, False)
    lon, lat = check_point(lon, lat)
    if crs not in CRS_NAMES:
        raise Invalid(f"crs must be one of {', '.join(CRS_NAMES)}, not {crs!r}")
    if channel not in CHANNELS:
        raise Invalid(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    cat = session.get(Category, category) if category else None
    if cat is None or cat.parent_code is None:
        raise Invalid(f"unknown category {category!r}: choose a sub-category such as 0101")
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(f"the description is {len(description)} characters; at most {MAX_DESCRIPTION}")
    if len(photos) > MAX_PHOTOS:
        raise Invalid(f"at most {MAX_PHOTOS} photos per report")
    jpegs = [resize_photo(p) for p in photos]

    wlon, wlat = to_wgs84(lon, lat, crs)
    assignment = assign_grid(session, wlon, wlat, nearest_grid_m)
    now = now or utcnow()
    report = Report(
        client_id=client_uuid, geom=from_shape(Point(wlon, wlat), srid=4326),
        original_crs=crs, original_lon=lon, original_lat=lat, category_code=cat.code,
        description=description, address=(address or "").strip() or None, channel=channel,
        reporter_id=reporter.id if reporter else None, reporter_contact=contact,
        grid_id=assignment.grid_id, assignment=assignment.kind,
        assignment_distance_m=assignment.distance_m,
        building_id=find_building(session, wlon, wlat, nearest_building_m),
        status="reported", created_at=now, updated_at=now,
    )
    report.events.append(ReportEvent(action="report", from_status=None, to_status="reported",
                                     actor_id=report.reporter_id, at=now,
                                     data={"assignment": assignment.kind}))
    for data in jpegs:
        report.photos.append(ReportPhoto(data=data, content_type="image/jpeg", created_at=now))
    try:
        with session.begin_nested():
            session.add(report)
    except IntegrityError:
        if client_uuid is None:
            raise
        # a racing retry with the same client_id won: answer with its report
        return Intake(session.scalars(select(Report).where(Report.client_id == client_uuid)).one(),
                      False)
    return Intake(report, True)


def _parse_client_id(client_id) -> uuid.UUID | None:
    if client_id in (None, ""):
        return None
    if isinstance(client_id, uuid.UUID):
        return client_id
    try:
        return uuid.UUID(str(client_id))
    except ValueError:
        raise Invalid("client_id must be a UUID (the phone makes one per report, "
                      "and sends the same one when it retries)") from None


def resize_photo(data: bytes) -> bytes:
    """A JPEG no larger than PHOTO_MAX_SIDE, oriented by its EXIF, without its metadata."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
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
