"""GCJ-02 / BD-09 points from AMap, Tencent and Baidu become WGS 84."""

import math

import pytest

from gis.coords import bd09_to_gcj02, gcj02_to_bd09, gcj02_to_wgs84, to_wgs84, wgs84_to_gcj02


def test_published_reference_values():
    # the values every GCJ-02 implementation is checked against (Beijing, 116.404, 39.915)
    assert wgs84_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.41024449916938, 39.91640428150164), abs=1e-12
    )
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-12)
    assert bd09_to_gcj02(116.404, 39.915) == pytest.approx((116.39762729119315, 39.90865673957631), abs=1e-12)


def test_gcj02_inverse_round_trips_to_a_millimetre():
    for lon, lat in [(84.88, 44.33), (121.55, 29.95), (118.5, 37.45), (109.84, 40.65)]:
        back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
        assert back == pytest.approx((lon, lat), abs=1e-8)


def test_offset_is_hundreds_of_metres_in_china():
    lon, lat = 121.55, 29.95  # Ningbo
    glon, glat = wgs84_to_gcj02(lon, lat)
    metres = math.hypot((glon - lon) * 111320 * math.cos(math.radians(lat)), (glat - lat) * 110574)
    assert 100 < metres < 1000


def test_no_offset_outside_china():
    assert to_wgs84(2.35, 48.85, "gcj02") == (2.35, 48.85)


def test_bd09_goes_through_gcj02():
    wgs = (121.55, 29.95)
    bd = gcj02_to_bd09(*wgs84_to_gcj02(*wgs))
    assert to_wgs84(*bd, "bd09") == pytest.approx(wgs, abs=1e-5)  # BD-09 inverse: ≈ 7 cm


def test_the_offset_box_is_the_reference_conversions_one():
    from gis.coords import gcj02_to_wgs84, out_of_china, wgs84_to_gcj02

    # Kashgar's west (Ulugqat, ~73.9°E) and the Pamirs near 73.6°E are inside: converted
    for lon, lat in ((73.6, 39.2), (73.95, 39.7), (84.9, 44.3)):
        assert not out_of_china(lon, lat)
        glon, glat = wgs84_to_gcj02(lon, lat)
        assert (glon, glat) != (lon, lat)
        back = gcj02_to_wgs84(glon, glat)
        assert abs(back[0] - lon) < 1e-7 and abs(back[1] - lat) < 1e-7
    for lon, lat in ((71.9, 39.0), (139.0, 35.7), (100.0, 56.0)):
        assert out_of_china(lon, lat) and wgs84_to_gcj02(lon, lat) == (lon, lat)
