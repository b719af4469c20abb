"""Patrol tracks: GPX files and live pings from the phone, cleaned, then kept as fixes and lines.

Cleaning (``clean``) is the same for both ways in and says what it dropped:
- fixes that are not a position on Earth, or with accuracy worse than ``max_accuracy_m``;
- duplicates (same time as the fix before; same place for a track without times);
- impossible jumps: faster than ``max_speed_mps`` (15 m/s, on foot) from the last kept fix;
- a gap longer than ``max_gap`` splits the track into a new segment;
- segments left with fewer than two fixes (a file's; a live session's grow as pings arrive).
A GPX track without timestamps is kept as a *route*: it draws on the map but cannot count for
time-window coverage, and the result says so.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field

import gpxpy
import gpxpy.gpx
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from gis.errors import Conflict, Invalid, NotFound
from gis.i18n import Words, _
from gis.models import PatrolPoint, PatrolTrack, User
from gis.patrols.coverage import store_reach

HDOP_TO_METRES = 5.0  # GPX carries HDOP, not metres: accuracy ≈ HDOP × a typical 5 m range error
EARTH_RADIUS_M = 6_371_008.8
DROP_REASONS = {
    "position": _("not a position on Earth"),
    "accuracy": _("accuracy worse than the limit"),
    "duplicate": _("duplicate of the fix before"),
    "speed": _("impossible speed (a GPS jump)"),
    "no_time": _("no timestamp in a timed track"),
    "late": _("older than fixes already received"),
    "implausible_time": _("dated before 2000 or after tomorrow"),
    "short_segment": _("in a segment with fewer than two fixes"),
}


@dataclass(frozen=True)
class Fix:
    lon: float
    lat: float
    time: dt.datetime | None = None
    accuracy_m: float | None = None


@dataclass(frozen=True)
class CleaningRules:
    max_accuracy_m: float = 50.0
    max_speed_mps: float = 15.0
    max_gap: dt.timedelta = dt.timedelta(minutes=5)

    def __post_init__(self):
        if self.max_accuracy_m <= 0 or self.max_speed_mps <= 0 or self.max_gap.total_seconds() <= 0:
            raise Invalid(_("the accuracy limit, speed limit and gap must be positive"))


@dataclass
class Cleaned:
    segments: list[list[Fix]]
    has_time: bool
    read: int = 0
    dropped: Counter = field(default_factory=Counter)
    splits: int = 0  # extra segments made by gaps longer than the limit
    warnings: list[Words] = field(default_factory=list)
    continues_previous: bool = False  # live pings: segments[0] carries on the stored segment

    @property
    def kept(self) -> int:
        return sum(len(s) for s in self.segments)

    def summary(self) -> dict:
        """What happened, in words a grid worker or planner can read."""
        return {
            "fixes_read": self.read,
            "fixes_kept": self.kept,
            "segments": len(self.segments),
            "has_time": self.has_time,
            "split_at_gaps": self.splits,
            "dropped": {
                reason: {"count": n, "why": DROP_REASONS[reason]}
                for reason, n in sorted(self.dropped.items())
                if n
            },
            "warnings": list(self.warnings),
        }


EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def plausible(time: dt.datetime | None) -> bool:
    """A fix's time a clock could have given: from 2000 to a day from now (a phone's clock drifts)."""
    return time is None or EARLIEST <= time <= dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


def distance_m(a: Fix, b: Fix) -> float:
    """Great-circle distance (haversine): within 0.5 % of the geodesic, plenty for a speed check."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _on_earth(f: Fix) -> bool:
    return (
        math.isfinite(f.lon)
        and math.isfinite(f.lat)
        and -180 <= f.lon <= 180
        and -90 <= f.lat <= 90
        and not (f.lon == 0 and f.lat == 0)
    )


def clean(
    raw_segments: list[list[Fix]],
    rules: CleaningRules = CleaningRules(),
    *,
    previous: Fix | None = None,
    min_fixes: int = 2,
) -> Cleaned:
    """Clean fixes segment by segment. ``previous`` is the last fix already stored (live pings):
    new fixes are checked against it, and ``continues_previous`` says whether ``segments[0]``
    carries on its segment or a gap started a new one."""
    fixes = [f for seg in raw_segments for f in seg]
    timed = sum(f.time is not None for f in fixes)
    has_time = timed > 0 or previous is not None
    result = Cleaned(segments=[], has_time=has_time, read=len(fixes))
    empty = sum(not seg for seg in raw_segments)
    if empty:
        result.warnings.append(_("%(empty)s empty track segment(s) skipped", empty=empty))
    if fixes and not has_time:
        result.warnings.append(
            _(
                "the track has no timestamps: kept as a route for the map, but it cannot count for "
                "time-window coverage"
            )
        )
    elif timed < len(fixes) and has_time:
        result.dropped["no_time"] = len(fixes) - timed
        result.warnings.append(
            _("%(value)s fixes have no timestamp and were dropped", value=len(fixes) - timed)
        )

    last = previous
    for index, raw in enumerate(raw_segments):
        if index > 0 or previous is None:
            last = None  # a file's segments are separate walks
        if has_time:
            raw = sorted((f for f in raw if f.time is not None), key=lambda f: f.time)  # type: ignore[arg-type,return-value]
        current: list[Fix] = []
        for fix in raw:
            reason = _reject(fix, last, rules, has_time)
            if reason == "gap":
                if current or (index == 0 and not result.segments):
                    result.segments.append(current)
                current, result.splits = [], result.splits + 1
            elif reason:
                result.dropped[reason] += 1
                continue
            current.append(fix)
            last = fix
        result.segments.append(current)

    result.continues_previous = (
        previous is not None and bool(result.segments[0]) if result.segments else False
    )
    kept = []
    for n, seg in enumerate(result.segments):
        if len(seg) >= min_fixes or (n == 0 and result.continues_previous and seg):
            kept.append(seg)
        elif seg:
            result.dropped["short_segment"] += len(seg)
    result.segments = kept
    return result


def _reject(fix: Fix, last: Fix | None, rules: CleaningRules, has_time: bool) -> str | None:
    """Why ``fix`` is dropped (or "gap" when it starts a new segment), None when it is kept."""
    if not _on_earth(fix):
        return "position"
    if not plausible(fix.time):
        return "implausible_time"
    if fix.accuracy_m is not None and fix.accuracy_m > rules.max_accuracy_m:
        return "accuracy"
    if last is None:
        return None
    if not has_time:
        return "duplicate" if (fix.lon, fix.lat) == (last.lon, last.lat) else None
    seconds = (fix.time - last.time).total_seconds()  # type: ignore[operator]  # timed: both have one
    if seconds < 0:
        return "late"
    if seconds == 0:
        return "duplicate"
    if seconds > rules.max_gap.total_seconds():
        return "gap"
    if distance_m(last, fix) / seconds > rules.max_speed_mps:
        return "speed"
    return None


# -- GPX ----------------------------------------------------------------------------------------
def read_gpx(data: bytes | str) -> tuple[str | None, list[list[Fix]]]:
    """(name, segments) of a GPX 1.0/1.1 file: every track's segments, then routes as segments."""
    try:
        gpx = gpxpy.parse(data.decode("utf-8-sig") if isinstance(data, bytes) else data)
    except (gpxpy.gpx.GPXException, UnicodeDecodeError, ValueError) as exc:
        raise Invalid(
            _("this is not a readable GPX file: %(value)s", value=str(exc).splitlines()[0][:200])
        ) from None
    segments = []
    for track in gpx.tracks:
        for segment in track.segments:
            segments.append([_fix(p) for p in segment.points])
    for route in gpx.routes:
        segments.append([_fix(p) for p in route.points])
    if not any(segments):
        raise Invalid(_("the GPX file holds no track or route points (waypoints alone are not a patrol)"))
    name = gpx.name or next((t.name for t in gpx.tracks if t.name), None)
    return name, segments


def _fix(point) -> Fix:
    time = point.time
    if time is not None:  # GPX times are UTC when they say no zone
        time = time.replace(tzinfo=dt.UTC) if time.tzinfo is None else time.astimezone(dt.UTC)
    hdop = getattr(point, "horizontal_dilution", None)
    return Fix(
        float(point.longitude),
        float(point.latitude),
        time,
        float(hdop) * HDOP_TO_METRES if hdop is not None else None,
    )


# -- storing ------------------------------------------------------------------------------------
TRACK_GEOMETRY_SQL = text("""
    UPDATE patrol_tracks t SET
        geom = (SELECT ST_Multi(ST_Collect(line ORDER BY segment)) FROM (
                    SELECT segment, ST_MakeLine(geom ORDER BY recorded_at NULLS LAST, id) AS line
                    FROM patrol_points WHERE track_id = t.id GROUP BY segment HAVING count(*) > 1) s),
        started_at = coalesce(t.started_at,
                              (SELECT min(recorded_at) FROM patrol_points WHERE track_id = t.id)),
        max_step_m = (SELECT coalesce(max(ST_Distance(geom::geography, previous::geography)), 0) FROM (
                          SELECT geom, lag(geom) OVER (PARTITION BY segment
                                                       ORDER BY recorded_at NULLS LAST, id) AS previous
                          FROM patrol_points WHERE track_id = t.id) s)
    WHERE t.id = :id
""")


def _insert_fixes(session: Session, track_id: int, segments: list[list[Fix]], first_segment: int) -> None:
    rows = [
        {
            "track_id": track_id,
            "segment": first_segment + n,
            "recorded_at": f.time,
            "accuracy_m": f.accuracy_m,
            "geom": f"SRID=4326;POINT({f.lon!r} {f.lat!r})",
        }
        for n, seg in enumerate(segments)
        for f in seg
    ]
    if rows:
        session.execute(insert(PatrolPoint), rows)


def store_track(
    session: Session, user: User, cleaned: Cleaned, *, name: str | None, source: str = "gpx"
) -> PatrolTrack:
    """Write a cleaned file as one track (its fixes and its line), in the caller's transaction."""
    if not cleaned.segments:
        raise Invalid(_("no usable fix is left after cleaning"), cleaning=cleaned.summary())
    times = [f.time for seg in cleaned.segments for f in seg if f.time is not None]
    track = PatrolTrack(
        user_id=user.id,
        name=name,
        source=source,
        has_time=cleaned.has_time,
        started_at=min(times, default=None),
        ended_at=max(times, default=None),
        cleaning=cleaned.summary(),
    )
    session.add(track)
    session.flush()
    _insert_fixes(session, track.id, cleaned.segments, 0)
    session.execute(TRACK_GEOMETRY_SQL, {"id": track.id})
    store_reach(session, track.id)
    session.expire(track, ["reach_radius_m"])
    return track


def import_gpx(
    session: Session,
    data: bytes | str,
    user: User,
    *,
    name: str | None = None,
    rules: CleaningRules = CleaningRules(),
) -> PatrolTrack:
    file_name, segments = read_gpx(data)
    return store_track(session, user, clean(segments, rules), name=name or file_name)


def track_span(session: Session, track_id: int) -> tuple[dt.datetime, dt.datetime] | None:
    """First and last fix time of a track (None for a route without times)."""
    row = session.execute(
        select(func.min(PatrolPoint.recorded_at), func.max(PatrolPoint.recorded_at)).where(
            PatrolPoint.track_id == track_id
        )
    ).one()
    first, last = row
    return None if first is None else (first, last or first)


# -- live patrols from the phone ---------------------------------------------------------------
def start_patrol(session: Session, user: User, name: str | None = None) -> PatrolTrack:
    track = PatrolTrack(
        user_id=user.id,
        name=name or f"{user.display_name} patrol",
        source="live",
        has_time=True,
        started_at=dt.datetime.now(dt.UTC),
        cleaning={},
    )
    session.add(track)
    session.flush()
    return track


def live_track(session: Session, track_id: int, user: User) -> PatrolTrack:
    track = session.get(PatrolTrack, track_id)
    if track is None or track.source != "live" or track.user_id != user.id:
        raise NotFound(
            _("no live patrol %(track_id)s of yours", track_id=track_id)
        )  # another's is none of yours
    return track


def add_pings(
    session: Session, track: PatrolTrack, fixes: list[Fix], rules: CleaningRules = CleaningRules()
) -> Cleaned:
    """Clean and store pings from the phone. Safe to retry: fixes already stored are duplicates."""
    if track.ended_at is not None:
        raise Conflict(_("this patrol has ended: start a new one"))
    last = session.execute(
        select(PatrolPoint.segment, PatrolPoint.recorded_at, PatrolPoint.geom.ST_X(), PatrolPoint.geom.ST_Y())
        .where(PatrolPoint.track_id == track.id)
        .order_by(PatrolPoint.recorded_at.desc())
        .limit(1)
    ).first()
    previous = Fix(last[2], last[3], last[1]) if last else None
    missing = sum(f.time is None for f in fixes)
    if missing:
        raise Invalid(_("%(missing)s of the pings have no time: every live ping needs one", missing=missing))
    implausible = [f.time for f in fixes if f.time is not None and not plausible(f.time)]
    if implausible:
        raise Invalid(
            _(
                "%(count)s ping(s) are dated %(isoformat)s: a fix lies between %(year)s and tomorrow (is "
                "the phone's clock right?)",
                count=len(implausible),
                isoformat=implausible[0].isoformat(),
                year=EARLIEST.year,
            ),
            fields={"points.time": _("must lie between 2000 and tomorrow")},
        )
    cleaned = clean([fixes], rules, previous=previous, min_fixes=1)
    segment = last[0] if last else 0
    if last and not cleaned.continues_previous:
        segment += 1  # the first kept fixes came after a gap: a new segment
    _insert_fixes(session, track.id, cleaned.segments, segment)
    totals = Counter(track.cleaning.get("dropped_counts", {}))
    totals.update(cleaned.dropped)
    track.cleaning = {
        **track.cleaning,
        "dropped_counts": dict(totals),
        "fixes_kept": track.cleaning.get("fixes_kept", 0) + cleaned.kept,
    }
    session.flush()
    session.execute(TRACK_GEOMETRY_SQL, {"id": track.id})  # the map shows a live patrol as it goes
    return cleaned


def end_patrol(session: Session, track: PatrolTrack) -> PatrolTrack:
    """Close a live patrol and draw its line; ending twice is harmless (the phone may retry)."""
    if track.ended_at is None:
        last = session.scalar(
            select(PatrolPoint.recorded_at)
            .where(PatrolPoint.track_id == track.id)
            .order_by(PatrolPoint.recorded_at.desc())
            .limit(1)
        )
        track.ended_at = last or dt.datetime.now(dt.UTC)
        session.flush()
        session.execute(TRACK_GEOMETRY_SQL, {"id": track.id})
        store_reach(session, track.id)
        session.refresh(track)
    return track
