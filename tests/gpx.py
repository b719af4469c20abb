"""GPX files the tests write with gpxpy: timed walks, routes without times, bad fixes, in 1.0 or 1.1."""

from __future__ import annotations

import datetime as dt

import gpxpy.gpx

T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def gpx_file(segments, *, version: str = "1.1", name: str | None = "morning patrol", tracks: int = 1) -> str:
    """``segments``: lists of (lon, lat, time or None, hdop or None); spread over ``tracks``."""
    gpx = gpxpy.gpx.GPX()
    gpx.name = name
    made = [gpxpy.gpx.GPXTrack(name=f"track {n + 1}") for n in range(tracks)]
    gpx.tracks.extend(made)
    for n, seg in enumerate(segments):
        segment = gpxpy.gpx.GPXTrackSegment()
        for lon, lat, time, hdop in seg:
            segment.points.append(gpxpy.gpx.GPXTrackPoint(lat, lon, time=time, horizontal_dilution=hdop))
        made[n % tracks].segments.append(segment)
    return gpx.to_xml(version=version)


def walk(start, step, count: int, t0=T0, every_s: float = 10, hdop=None, timed: bool = True):
    """``count`` fixes from ``start`` (lon, lat), moving ``step`` (dlon, dlat) each ``every_s``."""
    return [
        (
            start[0] + i * step[0],
            start[1] + i * step[1],
            t0 + dt.timedelta(seconds=i * every_s) if timed else None,
            hdop,
        )
        for i in range(count)
    ]


def as_fixes(points):
    from gis.patrols.tracks import HDOP_TO_METRES, Fix

    return [Fix(lon, lat, t, hdop * HDOP_TO_METRES if hdop else None) for lon, lat, t, hdop in points]
