"""Patrol coverage per grid for a time window and a radius r, computed in PostGIS in metres.

The fixes in the window are cut into *pieces* of about a minute each (a track's fixes in one
clock minute, joined to the next minute's first fix), so the GiST index on grids finds the few
grids each piece passes, and a long track is never tested against the whole district. Per grid:
- reach: the union of the r-buffers of each pass (a track's consecutive pieces near the grid,
  joined into one line: fewer, longer buffers), each clipped to the grid's box first (one buffer
  of them all together, overlapping as patrols do, is far slower); lines are simplified by
  ``SIMPLIFY_M`` before buffering (see its comment for how far that moves the area);
- area share: area of (reach ∩ grid) / area of grid;
- street share: length of (streets ∩ grid ∩ reach) / length of (streets ∩ grid), streets being the
  imported street line layer (None without one);
- buildings passed: the grid's buildings that touch the reach (are within r of a track);
- minutes: each step's duration (fix to fix), shared by the part of the step inside the grid —
  interpolated between its two fixes; a fix standing still gives its time to the grid it is in;
- last visit: end of the latest piece within r (to the minute); hours visited since ``start``.
Untimed tracks (routes) cannot be placed in a window and do not count; ``Coverage`` says how many.
Everything is measured in a UTM zone picked from the grids' extent, never in degrees.

A finished track's share of this (its reach and minute pieces per grid, at the default radius)
is computed once when it is stored (``store_reach``, table ``patrol_reach``); a window that holds
whole tracks unions those stored shapes — ~16 a grid for a busy day instead of ~40 buffers —
and recomputes only the tracks it cuts, still-open live patrols, and other radii.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.accounts import Viewer
from gis.beside import beside, has_written
from gis.cases.policy import tracks_visible_to
from gis.errors import Invalid
from gis.geojson import ENVELOPE, geojson_text
from gis.i18n import _

DEFAULT_RADIUS_M = 30.0
MAX_RADIUS_M = 500.0
PIECE_SECONDS = 60
# Lines are simplified by SIMPLIFY_M before buffering, and round parts drawn with QUAD_SEGS
# segments a quarter circle: the covered area stays within 0.3 % of the exact one on tracks that
# turn often (bench/coverage_accuracy.py; 5 m and 4 segments moved it by up to 1.6 %).
SIMPLIFY_M = 2.0
QUAD_SEGS = 8
MAX_WINDOW = dt.timedelta(days=31)
HOURS_UP_TO = dt.timedelta(days=7)  # hour-by-hour visits are listed for windows up to this long


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime
    radius_m: float = DEFAULT_RADIUS_M

    def __post_init__(self):
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise Invalid(_("from and to need a time zone (e.g. 2026-11-23T08:00:00+08:00)"))
        if not self.start < self.end:
            raise Invalid(_("from must be before to"))
        if self.end - self.start > MAX_WINDOW:
            raise Invalid(_("a coverage window may be at most %(days)s days long", days=MAX_WINDOW.days))
        if not (0 < self.radius_m <= MAX_RADIUS_M and math.isfinite(self.radius_m)):
            raise Invalid(
                _(
                    "radius must be between 0 and %(max_radius_m)s metres",
                    max_radius_m=format(MAX_RADIUS_M, ".0f"),
                )
            )

    @classmethod
    def last_hours(cls, hours: float, end: dt.datetime | None = None, radius_m: float = DEFAULT_RADIUS_M):
        end = end or dt.datetime.now(dt.UTC)
        return cls(end - dt.timedelta(hours=hours), end, radius_m)

    @property
    def hours(self) -> int | None:
        return (
            math.ceil((self.end - self.start).total_seconds() / 3600)
            if self.end - self.start <= HOURS_UP_TO
            else None
        )


def metric_frame(session: Session, grid_ids=None) -> tuple[int, float]:
    """(UTM SRID, degrees per metre, generous) for the grids: the SRID measures, the factor turns
    a radius into the degree margin of the index search."""
    row = session.execute(
        text("""
        SELECT ST_X(c), ST_Y(c), ymax FROM (
            SELECT ST_Centroid(ST_Extent(geom)::geometry) AS c, max(ST_YMax(geom)) AS ymax,
                   min(ST_YMin(geom)) AS ymin
            FROM areas WHERE level = 'grid' AND (CAST(:ids AS int[]) IS NULL OR id = ANY(:ids))) e
    """),
        {"ids": list(grid_ids) if grid_ids else None},
    ).one()
    lon, lat, ymax = row if row[0] is not None else (0.0, 0.0, 0.0)
    zone = int((lon + 180) // 6) + 1
    srid = (32600 if lat >= 0 else 32700) + zone
    widest = min(89.0, max(abs(lat), abs(ymax or 0)) + 1)
    return srid, 1.1 / (111_320 * math.cos(math.radians(widest)))


# Every fix in the window, with the next one of its track segment.
ALL_FIXES = """
    fix AS (
        SELECT p.track_id, p.segment, p.recorded_at AS t, p.geom,
               floor(extract(epoch FROM p.recorded_at) / {piece}) AS minute,
               lead(p.recorded_at) OVER w AS t_next, lead(p.geom) OVER w AS g_next
        FROM patrol_points p
        WHERE p.recorded_at >= :start AND p.recorded_at < :end AND {live}
        WINDOW w AS (PARTITION BY p.track_id, p.segment ORDER BY p.recorded_at)),"""

# For some grids only (a viewport, the grids one new track passed): only the pieces that can come
# within r of them. A piece's line is within r of the grids' box only if one of its fixes is
# within r + (the track's longest step) of it, so: the minutes holding such a fix (found by the
# fixes' GiST index), the minute before each (its piece ends on that fix), every fix of those
# minutes, and each fix's true successor (one index probe). Exact, and one new track's update
# does not cut the whole district's day into pieces (bench/patrol_coverage.py measures it).
NEAR_FIXES = """
    reach_box AS (
        SELECT ST_Expand(b, :r_deg + :deg_per_m * coalesce(
                   (SELECT max(coalesce(t.max_step_m, 1e7))   -- step unknown: every fix
                    FROM patrol_tracks t WHERE t.geom && ST_Expand(b, :r_deg)), 0)) AS b
        FROM (SELECT ST_Extent(geom)::geometry AS b FROM grid_m) e),
    hit_minute AS (
        SELECT DISTINCT q.track_id, q.segment, floor(extract(epoch FROM q.recorded_at) / {piece}) AS minute
        FROM patrol_points q, reach_box
        WHERE q.geom && reach_box.b AND q.recorded_at >= :start AND q.recorded_at < :end AND {live_q}),
    piece_minute AS (
        SELECT track_id, segment, minute FROM hit_minute
        UNION
        SELECT track_id, segment, minute - 1 FROM hit_minute),
    fix AS (
        SELECT p.track_id, p.segment, p.recorded_at AS t, p.geom, k.minute, n.t_next, n.g_next
        FROM piece_minute k
        CROSS JOIN LATERAL (   -- one index range per minute, never a scan of every fix
            SELECT * FROM patrol_points p
            WHERE p.track_id = k.track_id AND p.segment = k.segment
              AND p.recorded_at >= greatest(to_timestamp(k.minute * {piece}), :start)
              AND p.recorded_at < least(to_timestamp((k.minute + 1) * {piece}), :end)
            OFFSET 0) p   -- OFFSET 0 keeps the planner from flattening it into a merge join
        LEFT JOIN LATERAL (
            SELECT q.recorded_at AS t_next, q.geom AS g_next FROM patrol_points q
            WHERE q.track_id = p.track_id AND q.segment = p.segment
              AND q.recorded_at > p.recorded_at AND q.recorded_at < :end
            ORDER BY q.recorded_at LIMIT 1) n ON true),"""


# Finished tracks wholly inside the window whose reach is stored for this radius: read, not recomputed.
STORED_TRACKS = """SELECT id FROM patrol_tracks
                   WHERE reach_radius_m = :radius AND started_at >= :start AND ended_at < :end"""
NO_TRACKS = "SELECT id FROM patrol_tracks WHERE false"


# What the pipeline reads: (stored tracks, the condition on the fixes of the others).
SOURCES = {
    "stored": (STORED_TRACKS, "{t}.track_id NOT IN (SELECT id FROM stored_track)"),
    "fixes": (NO_TRACKS, "true"),  # every track from its fixes
    "one track": (NO_TRACKS, "{t}.track_id = :track_id"),  # to store that track's reach
}


def _ctes(grid_filter: str, source: str = "stored", every_fix: bool = False) -> str:
    """The shared pipeline: fixes → minute pieces → pieces near each grid → per-grid reach, with
    the stored reach of whole tracks in place of their fixes (see ``SOURCES``). Some grids read
    only the fixes near them, unless ``every_fix`` (half a district: near is most of them)."""
    stored_tracks, live = SOURCES[source]
    fixes = (NEAR_FIXES if grid_filter and not every_fix else ALL_FIXES).format(
        piece=PIECE_SECONDS, live=live.format(t="p"), live_q=live.format(t="q")
    )
    return f"""
    grid_m AS MATERIALIZED (   -- box: the grid's and its buildings' extent, what its reach is kept over
        SELECT a.id, a.code, a.name, a.geom, ST_Transform(a.geom, :srid) AS g,
               ST_Transform(ST_Collect(a.geom, coalesce(
                   (SELECT ST_Collect(b.geom) FROM buildings b WHERE b.grid_id = a.id), a.geom)),
                   :srid)::box2d AS box
        FROM areas a WHERE a.level = 'grid' {grid_filter}),
    stored_track AS MATERIALIZED ({stored_tracks}),
    {fixes}
    piece_fix AS (
        SELECT track_id, segment, minute, t, geom FROM fix
        UNION ALL
        SELECT track_id, segment, minute, t_next, g_next FROM fix
        WHERE t_next IS NOT NULL AND floor(extract(epoch FROM t_next) / {PIECE_SECONDS}) <> minute),
    piece AS (
        SELECT track_id, segment, minute, min(t) AS t0, max(t) AS t1,
               CASE WHEN count(*) > 1 THEN ST_MakeLine(geom ORDER BY t)
                    ELSE (array_agg(geom))[1] END AS line,
               array_agg(t ORDER BY t) AS times   -- each vertex's time
        FROM piece_fix GROUP BY track_id, segment, minute),
    hit AS (   -- projected once a piece, not once for each grid it comes near; a piece away from
               -- the grids asked for (half a district) neither projected nor looked up
        SELECT a.id AS grid_id, p.track_id, p.segment, p.minute, p.t0, p.t1, p.line, p.times, gm.g
        FROM (SELECT track_id, segment, minute, t0, t1, times, line AS lonlat,
                     ST_Transform(line, :srid) AS line FROM piece
              WHERE line && (SELECT ST_Expand(ST_Extent(geom)::geometry, :r_deg) FROM grid_m)) p
        JOIN areas a ON a.level = 'grid' AND ST_DWithin(a.geom, p.lonlat, :r_deg)
        JOIN grid_m gm ON gm.id = a.id),
    near AS (   -- by grid: the grid's prepared geometry serves all its pieces in turn (visit)
        SELECT * FROM hit WHERE ST_DWithin(line, g, :radius) ORDER BY grid_id),
    pass AS (   -- a track's consecutive minutes near a grid, as one line: fewer, longer buffers
        SELECT grid_id, ST_MakeLine(line ORDER BY minute) AS line
        FROM (SELECT *, minute - row_number() OVER (PARTITION BY grid_id, track_id, segment
                                                    ORDER BY minute) AS run FROM near) n
        GROUP BY grid_id, track_id, segment, run),
    stored AS (
        SELECT pr.* FROM patrol_reach pr JOIN stored_track s ON s.id = pr.track_id
        JOIN grid_m gm ON gm.id = pr.grid_id),
    reach AS MATERIALIZED (   -- once: a nested loop would redo the unions per grid
        -- each line cut to the box grown by r before it is buffered (what lies farther cannot
        -- reach the box), each buffer cut to the box: smaller pieces to union
        SELECT grid_id, ST_Union(shape) AS reach FROM (
            SELECT grid_id, ST_ClipByBox2D(ST_Buffer(
                       ST_ClipByBox2D(ST_Simplify(line, {SIMPLIFY_M}), ST_Expand(gm.box, :radius)),
                       :radius, 'quad_segs={QUAD_SEGS}'), gm.box) AS shape
            FROM pass JOIN grid_m gm ON gm.id = pass.grid_id
            UNION ALL
            SELECT grid_id, ST_Transform(reach, :srid) FROM stored) s
        GROUP BY grid_id),
    visit AS (   -- each minute piece near a grid: its start, its end, its seconds inside the grid
        SELECT grid_id, t0, t1, CASE
                   WHEN ST_Length(line) = 0   -- standing still (or one fix): where it stood
                       THEN CASE WHEN ST_Intersects(ST_Centroid(line), g)
                                 THEN extract(epoch FROM t1 - t0) ELSE 0 END
                   WHEN ST_Covers(g, line) THEN extract(epoch FROM t1 - t0)
                   WHEN NOT ST_Intersects(g, line) THEN 0
                   ELSE (   -- across the border: each step's time by the part of it inside the grid
                       SELECT coalesce(sum(extract(epoch FROM times[d.path[1] + 1] - times[d.path[1]]) * CASE
                                  WHEN ST_Covers(g, d.geom) THEN 1   -- most steps: a prepared test
                                  WHEN NOT ST_Intersects(g, d.geom) THEN 0
                                  WHEN ST_Length(d.geom) > 0
                                      THEN ST_Length(ST_Intersection(d.geom, g)) / ST_Length(d.geom)
                                  ELSE 1 END), 0)
                       FROM ST_DumpSegments(line) d)
               END AS seconds
        FROM near
        UNION ALL
        SELECT s.grid_id, v.t0, v.t1, v.seconds
        FROM stored s, unnest(s.piece_starts, s.piece_ends, s.piece_seconds) AS v(t0, t1, seconds)),
    per_grid AS (
        SELECT s.grid_id, r.reach, minutes, last_visit, hours
        FROM (SELECT grid_id, sum(seconds) / 60 AS minutes, max(t1) AS last_visit,
                     array_agg(DISTINCT floor(extract(epoch FROM t0 - :start) / 3600)::int
                               ORDER BY floor(extract(epoch FROM t0 - :start) / 3600)::int) AS hours
              FROM visit GROUP BY grid_id) s JOIN reach r ON r.grid_id = s.grid_id),
    street AS (   -- each street cut to the grid's box before projecting: streets run for km
        SELECT gm.id AS grid_id, ST_Intersection(ST_Union(ST_Transform(
                   ST_ClipByBox2D(sl.geom, ST_Expand(gm.geom::box2d, :r_deg)), :srid)), gm.g) AS line
        FROM grid_m gm JOIN street_lines sl ON ST_Intersects(sl.geom, gm.geom)
        GROUP BY gm.id, gm.g)
    """


COVERAGE_SQL = """
    WITH {ctes}
    SELECT gm.code, gm.name, ST_Area(gm.g) AS area_m2,
           coalesce(ST_Area(ST_Intersection(pg.reach, gm.g)), 0) AS covered_m2,
           ST_Length(st.line) AS street_m,
           coalesce(ST_Length(ST_Intersection(st.line, pg.reach)), 0) AS street_covered_m,
           coalesce(pg.minutes, 0) AS minutes, pg.last_visit, coalesce(pg.hours, '{{}}') AS hours,
           b.total AS buildings, b.passed AS buildings_passed
    FROM grid_m gm
    LEFT JOIN per_grid pg ON pg.grid_id = gm.id
    LEFT JOIN street st ON st.grid_id = gm.id
    CROSS JOIN LATERAL (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE ST_Intersects(pg.reach, ST_Transform(bl.geom, :srid))) AS passed
        FROM buildings bl WHERE bl.grid_id = gm.id) b
    ORDER BY gm.code
"""

UNCOVERED_SQL = """
    WITH {ctes}
    SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
        json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(ST_Transform(gap, 4326), 6)::json,
                          'properties', json_build_object('grid', code, 'length_m', round(ST_Length(gap)))))
        , '[]'::json))
    FROM (SELECT gm.code, CASE WHEN pg.reach IS NULL THEN st.line
                               ELSE ST_Difference(st.line, pg.reach) END AS gap
          FROM street st JOIN grid_m gm ON gm.id = st.grid_id
          LEFT JOIN per_grid pg ON pg.grid_id = st.grid_id) s
    WHERE NOT ST_IsEmpty(gap) AND ST_Length(gap) > 0.5
"""


@dataclass
class Coverage:
    window: Window
    grids: list[dict]
    untimed_tracks: int

    def as_json(self) -> dict:
        visited = sum(1 for g in self.grids if g["minutes"] > 0 or g["last_visit"])
        return {
            "from": self.window.start.isoformat(),
            "to": self.window.end.isoformat(),
            "radius_m": self.window.radius_m,
            "hours": self.window.hours,
            "grids_total": len(self.grids),
            "grids_visited": visited,
            "untimed_tracks": self.untimed_tracks,
            "warnings": (
                [
                    _(
                        "%(count)s track(s) without timestamps in this window are drawn as routes "
                        "but not counted",
                        count=self.untimed_tracks,
                    )
                ]
                if self.untimed_tracks
                else []
            ),
            "grids": [
                {**g, "last_visit": g["last_visit"].isoformat() if g["last_visit"] else None}
                for g in self.grids
            ],
        }


def _grid_filter(grid_ids=None, bbox=None) -> tuple[str, dict]:
    if grid_ids is not None:
        return "AND a.id = ANY(:grid_ids)", {"grid_ids": list(grid_ids)}
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        return (
            "AND a.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)",
            dict(minx=minx, miny=miny, maxx=maxx, maxy=maxy),
        )
    return "", {}


def _params(session, window: Window, grid_ids, extra) -> dict:
    srid, deg_per_m = metric_frame(session, grid_ids)
    return {
        "srid": srid,
        "r_deg": window.radius_m * deg_per_m,
        "deg_per_m": deg_per_m,
        "radius": window.radius_m,
        "start": window.start,
        "end": window.end,
        **extra,
    }


def grid_coverage(
    session: Session, window: Window, grid_ids=None, bbox=None, *, use_stored: bool = True
) -> Coverage:
    """Coverage of every grid (or of ``grid_ids`` / the grids in ``bbox``) in ``window``.
    ``use_stored=False`` recomputes every track from its fixes (the figures are the same)."""
    source = "stored" if use_stored else "fixes"
    if grid_ids is None and bbox is None:
        rows = _whole_district(session, window, source)
    else:
        grid_filter, extra = _grid_filter(grid_ids, bbox)
        params = _params(session, window, grid_ids, extra)
        rows = _coverage_rows(session, _ctes(grid_filter, source), params)
    untimed = session.scalar(
        text("""
        SELECT count(*) FROM patrol_tracks WHERE NOT has_time AND created_at >= :start
        AND created_at < :end"""),
        {"start": window.start, "end": window.end},
    )
    return Coverage(window, [_grid_row(r, window) for r in rows], untimed)


def _no_jit(session: Session) -> None:
    """For every statement of the pipeline: JIT compiled its expressions for 1.4 s before the first
    row of a district's day, and its time is in PostGIS, which JIT cannot compile."""
    session.execute(text("SET LOCAL jit = off"))


def _coverage_rows(session: Session, ctes: str, params: dict) -> list:
    _no_jit(session)
    return list(session.execute(text(COVERAGE_SQL.format(ctes=ctes)), params).mappings().all())


def _whole_district(session: Session, window: Window, source: str) -> list:
    """Every grid's coverage, the grids in two halves by code (each a band of streets), the first
    on a second connection beside this one: the unions and steps per grid are most of the work
    (bench/patrol_coverage.py), and each half reads every fix itself. One metric frame for both."""
    params = _params(session, window, None, {})
    if has_written(session):  # both halves would run here, one after the other, each reading every fix
        return _coverage_rows(session, _ctes("", source), params)
    ids = list(session.scalars(text("SELECT id FROM areas WHERE level = 'grid' ORDER BY code")))
    grid_filter, _ = _grid_filter([])
    ctes = _ctes(grid_filter, source, every_fix=True)

    def half(on: Session, part: list[int]) -> list:
        return _coverage_rows(on, ctes, {**params, "grid_ids": part})

    with beside(session, lambda other: half(other, ids[: len(ids) // 2])) as first:
        second = half(session, ids[len(ids) // 2 :])
        return [*first(), *second]


def _grid_row(r, window: Window) -> dict:
    street_m = r["street_m"]
    since = (window.end - r["last_visit"]).total_seconds() / 3600 if r["last_visit"] else None
    return {
        "code": r["code"],
        "name": r["name"],
        "area_m2": round(r["area_m2"], 1),
        "area_covered_m2": round(r["covered_m2"], 1),
        "area_share": round(r["covered_m2"] / r["area_m2"], 4) if r["area_m2"] else 0.0,
        "street_m": round(street_m, 1) if street_m is not None else None,
        "street_covered_m": round(r["street_covered_m"], 1) if street_m is not None else None,
        "street_share": (round(r["street_covered_m"] / street_m, 4) if street_m else None),
        "buildings": r["buildings"],
        "buildings_passed": r["buildings_passed"],
        "minutes": round(float(r["minutes"]), 1),
        "last_visit": r["last_visit"],
        "hours_since_visit": round(since, 2) if since is not None else None,
        "hours_visited": list(r["hours"]) if window.hours else None,
    }


def uncovered_streets_geojson(session: Session, window: Window, bbox=None, grid_ids=None) -> str:
    """Street pieces farther than r from every track in the window: what nobody walked."""
    grid_filter, extra = _grid_filter(grid_ids, bbox)
    _no_jit(session)
    return geojson_text(
        session, UNCOVERED_SQL.format(ctes=_ctes(grid_filter)), _params(session, window, grid_ids, extra)
    )


STORE_REACH_SQL = """
    WITH {ctes}
    INSERT INTO patrol_reach (track_id, grid_id, reach, piece_starts, piece_ends, piece_seconds)
    SELECT :track_id, r.grid_id, r.reach, v.starts, v.ends, v.seconds
    FROM reach r JOIN (
        SELECT grid_id, array_agg(t0 ORDER BY t0) AS starts, array_agg(t1 ORDER BY t0) AS ends,
               array_agg(seconds ORDER BY t0) AS seconds
        FROM visit GROUP BY grid_id) v ON v.grid_id = r.grid_id
"""


def store_reach(session: Session, track_id: int, radius_m: float = DEFAULT_RADIUS_M) -> bool:
    """Compute and keep what a finished, timed track covered in each grid it passed, so windows
    that hold the whole track read it instead of recomputing it. False when the track is not
    stored: no times, or fixes outside its recorded start and end (a phone's clock)."""
    session.flush()
    track = session.execute(
        text("""
        SELECT t.started_at, t.ended_at, min(p.recorded_at) AS first, max(p.recorded_at) AS last
        FROM patrol_tracks t JOIN patrol_points p ON p.track_id = t.id
        WHERE t.id = :id AND t.has_time GROUP BY t.id"""),
        {"id": track_id},
    ).one_or_none()
    storable = not (
        track is None
        or track.started_at is None
        or track.ended_at is None
        or track.first < track.started_at
        or track.last > track.ended_at
        or track.last - track.first >= MAX_WINDOW
    )
    session.execute(text("DELETE FROM patrol_reach WHERE track_id = :id"), {"id": track_id})
    grid_ids = grids_near_track(session, track_id, radius_m) if storable else []
    if grid_ids and track is not None:
        window = Window(track.first, track.last + dt.timedelta(microseconds=1), radius_m)
        grid_filter, extra = _grid_filter(grid_ids)
        _no_jit(session)
        session.execute(
            text(STORE_REACH_SQL.format(ctes=_ctes(grid_filter, "one track"))),
            _params(session, window, grid_ids, {**extra, "track_id": track_id}),
        )
    session.execute(
        text("UPDATE patrol_tracks SET reach_radius_m = :r WHERE id = :id"),
        {"r": radius_m if storable else None, "id": track_id},
    )
    return storable


def store_missing_reach(session: Session, radius_m: float = DEFAULT_RADIUS_M) -> tuple[int, int]:
    """Store the reach of every finished, timed track that has none (or was stored for another
    radius). Returns (stored, left to live computation)."""
    ids = session.scalars(
        text("""
        SELECT id FROM patrol_tracks
        WHERE has_time AND ended_at IS NOT NULL AND reach_radius_m IS DISTINCT FROM :r ORDER BY id"""),
        {"r": radius_m},
    ).all()
    stored = sum(store_reach(session, track_id, radius_m) for track_id in ids)
    return stored, len(ids) - stored


def forget_stored_reach(session: Session) -> None:
    """The grids changed: every track's stored reach is stale; coverage recomputes from fixes
    until ``store_reach`` runs again (``gridwatch patrols store-reach``)."""
    session.execute(text("DELETE FROM patrol_reach"))
    session.execute(text("UPDATE patrol_tracks SET reach_radius_m = NULL WHERE reach_radius_m IS NOT NULL"))


def grids_near_track(session: Session, track_id: int, radius_m: float = DEFAULT_RADIUS_M) -> list[int]:
    """Ids of the grids a track passes within r of: the only ones whose coverage it changes."""
    _srid, deg_per_m = metric_frame(session)
    return list(
        session.scalars(
            text("""
        SELECT a.id FROM areas a JOIN patrol_tracks t ON t.id = :id
        WHERE a.level = 'grid' AND ST_DWithin(a.geom, t.geom, :r_deg) ORDER BY a.code
    """),
            {"id": track_id, "r_deg": radius_m * deg_per_m},
        )
    )


TRACKS_SQL = f"""
    WITH {ENVELOPE},
    shown AS (SELECT t.id FROM patrol_tracks t, env WHERE t.geom && env.g AND {{scope}}),
    timed AS (
        SELECT p.track_id, ST_MakeLine(p.geom ORDER BY p.recorded_at) AS line,
               min(p.recorded_at) AS t0, max(p.recorded_at) AS t1
        FROM patrol_points p
        WHERE p.recorded_at >= :start AND p.recorded_at < :end
          AND p.track_id IN (SELECT id FROM shown)
        GROUP BY p.track_id, p.segment HAVING count(*) > 1),
    lines AS (
        SELECT track_id, ST_Multi(ST_Collect(line)) AS line, min(t0) AS t0, max(t1) AS t1, true AS timed
        FROM timed GROUP BY track_id
        UNION ALL
        SELECT t.id, t.geom, NULL, NULL, false FROM patrol_tracks t CROSS JOIN env
        WHERE NOT t.has_time AND t.created_at >= :start AND t.created_at < :end AND t.geom && env.g
          AND t.id IN (SELECT id FROM shown))
    SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
        json_build_object('type', 'Feature', 'id', l.track_id,
            'geometry', ST_AsGeoJSON(ST_Simplify(l.line, :tolerance), 6)::json,
            'properties', json_build_object('track', l.track_id, 'name', t.name, 'source', t.source,
                'worker', u.display_name, 'from', l.t0, 'to', l.t1, 'timed', l.timed,
                'live', t.source = 'live' AND t.ended_at IS NULL))), '[]'::json))
    FROM lines l JOIN patrol_tracks t ON t.id = l.track_id LEFT JOIN users u ON u.id = t.user_id
"""


def tracks_geojson(session: Session, viewer: Viewer, window: Window, bbox, tolerance: float = 0.0) -> str:
    """The tracks ``viewer`` may see in the window and viewport (the part of them inside the
    window)."""
    minx, miny, maxx, maxy = bbox
    scope = tracks_visible_to(viewer, "t")
    return geojson_text(
        session,
        TRACKS_SQL.format(scope=scope.sql),
        dict(
            **scope.params,
            minx=minx,
            miny=miny,
            maxx=maxx,
            maxy=maxy,
            start=window.start,
            end=window.end,
            tolerance=tolerance,
        ),
    )
