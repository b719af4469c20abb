"""Coordinates from Chinese map apps: GCJ-02 (AMap, Tencent) and BD-09 (Baidu) to WGS 84.

GCJ-02 is a deliberate, non-public-parameter obfuscation, so no CRS library (pyproj included)
knows it; these are the widely used published approximations (error ≈ 1-2 m after inversion).
Outside China the offsets are not applied, as the apps themselves do.
"""

from __future__ import annotations

import math

_A = 6378245.0  # Krasovsky 1940 semi-major axis, used by GCJ-02
_EE = 0.00669342162296594323  # its eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0
CRS_NAMES = ("wgs84", "gcj02", "bd09")
DEGREE_DIGITS = 9  # 1e-9° is a tenth of a millimetre: finer is noise, and 1e-310 breaks PostGIS' arithmetic


def rounded(degrees: float) -> float:
    """A coordinate to DEGREE_DIGITS decimals (no position needs more; a subnormal float becomes 0)."""
    return round(degrees, DEGREE_DIGITS)


# Where the apps apply the offset: the box of the reference conversions (eviltransform,
# coordtransform: 72.004-137.8347°E, 0.8293-55.8271°N), wider than China itself, so that the
# westernmost part of Xinjiang (from 73.5°E) is converted too.
CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)


def out_of_china(lon: float, lat: float) -> bool:
    west, south, east, north = CHINA_BOX
    return not (west <= lon <= east and south <= lat <= north)


def _delta(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * math.sqrt(abs(x))
        + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
        + (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * math.sqrt(abs(x))
        + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
        + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Inverse by fixed-point iteration (converges to < 1e-9° in a few steps)."""
    if out_of_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(30):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        wlon, wlat = wlon - dlon, wlat - dlat
        if abs(dlon) < 1e-10 and abs(dlat) < 1e-10:
            break
    return wlon, wlat


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A point as sent by a phone in ``crs`` ('wgs84', 'gcj02' or 'bd09'), in WGS 84."""
    if crs == "wgs84":
        return lon, lat
    if crs == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if crs == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
    raise ValueError(f"unknown coordinate system {crs!r}: use one of {', '.join(CRS_NAMES)}")
