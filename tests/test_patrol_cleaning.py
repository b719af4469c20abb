"""Cleaning patrol fixes and reading GPX: pure functions, on files the tests write."""

from __future__ import annotations

import datetime as dt

import pytest

from gis.errors import Invalid
from gis.patrols.tracks import CleaningRules, Fix, clean, distance_m, read_gpx
from tests.gpx import T0, as_fixes, gpx_file, walk

# 0.0001° of latitude ≈ 11.1 m: a brisk walk at one fix every 10 s
NORTH = (0.0, 0.0001)


def test_haversine_matches_a_known_distance():
    # one degree of latitude on the mean sphere
    assert distance_m(Fix(85.0, 44.0), Fix(85.0, 45.0)) == pytest.approx(111_195, rel=1e-4)


def test_gpx_11_with_times_several_tracks_and_an_empty_segment():
    text = gpx_file([walk((84.9, 44.3), NORTH, 5), [], walk((84.91, 44.3), NORTH, 4)], tracks=2)
    name, segments = read_gpx(text)
    assert name == "morning patrol"
    assert [len(s) for s in segments] == [5, 4, 0]  # track 1: seg 1 and the empty one; track 2
    cleaned = clean(segments)
    assert [len(s) for s in cleaned.segments] == [5, 4]
    assert cleaned.has_time and cleaned.kept == 9 and not cleaned.dropped
    assert cleaned.warnings == ["1 empty track segment(s) skipped"]
    assert segments[0][0].time == T0 and segments[0][0].time.tzinfo is not None


def test_gpx_10_without_times_is_a_route_with_a_warning():
    _name, segments = read_gpx(gpx_file([walk((84.9, 44.3), NORTH, 6, timed=False)], version="1.0"))
    cleaned = clean(segments)
    assert not cleaned.has_time and cleaned.kept == 6
    assert "no timestamps" in cleaned.warnings[0] and "coverage" in cleaned.warnings[0]


def test_bad_fixes_are_dropped_and_counted():
    fixes = walk((84.9, 44.3), NORTH, 10)
    fixes[3] = (fixes[3][0], fixes[3][1], fixes[3][2], 20.0)  # HDOP 20 ≈ 100 m: too vague
    fixes[5] = (fixes[5][0] + 0.01, fixes[5][1], fixes[5][2], None)  # 800 m off in 10 s: a jump
    fixes.insert(7, fixes[6])  # the same fix twice
    fixes.append((0.0, 0.0, T0 + dt.timedelta(seconds=100), None))  # (0, 0): no position
    cleaned = clean(read_gpx(gpx_file([fixes]))[1])
    assert dict(cleaned.dropped) == {"accuracy": 1, "speed": 1, "duplicate": 1, "position": 1}
    assert cleaned.kept == 8
    summary = cleaned.summary()
    assert summary["dropped"]["speed"]["why"] == "impossible speed (a GPS jump)"
    assert summary["fixes_read"] == 12 and summary["fixes_kept"] == 8


def test_a_gap_longer_than_five_minutes_splits_the_track():
    before = walk((84.9, 44.3), NORTH, 4)
    after = walk((84.9, 44.3004), NORTH, 4, t0=T0 + dt.timedelta(minutes=9))
    cleaned = clean([as_fixes(before + after)])
    assert [len(s) for s in cleaned.segments] == [4, 4] and cleaned.splits == 1
    # with a longer allowed gap it stays one walk (the 9 minutes are slow enough: 0.1 m/s)
    loose = clean([as_fixes(before + after)], CleaningRules(max_gap=dt.timedelta(minutes=10)))
    assert [len(s) for s in loose.segments] == [8]


def test_a_lone_fix_is_not_a_segment():
    cleaned = clean([as_fixes(walk((84.9, 44.3), NORTH, 1)), as_fixes(walk((84.91, 44.3), NORTH, 3))])
    assert [len(s) for s in cleaned.segments] == [3]
    assert cleaned.dropped["short_segment"] == 1


def test_fixes_out_of_order_are_sorted_by_time():
    fixes = walk((84.9, 44.3), NORTH, 5)
    cleaned = clean([as_fixes(reversed(fixes))])
    assert [f.time for f in cleaned.segments[0]] == sorted(f[2] for f in fixes)


def test_live_pings_continue_or_start_a_segment():
    last = Fix(84.9, 44.3, T0)
    soon = [Fix(84.9, 44.3001, T0 + dt.timedelta(seconds=10))]
    later = [Fix(84.9, 44.3002, T0 + dt.timedelta(minutes=20))]
    assert clean([soon], previous=last, min_fixes=1).continues_previous
    after_gap = clean([later], previous=last, min_fixes=1)
    assert not after_gap.continues_previous and after_gap.kept == 1
    retry = clean([[last]], previous=last, min_fixes=1)
    assert retry.kept == 0 and retry.dropped["duplicate"] == 1


@pytest.mark.parametrize(
    "data, message",
    [
        ("this is not xml", "not a readable GPX file"),
        (
            '<?xml version="1.0"?><gpx version="1.1" creator="t"><wpt lat="44.3" lon="84.9"/></gpx>',
            "no track or route points",
        ),
    ],
)
def test_unreadable_gpx_is_refused_clearly(data, message):
    with pytest.raises(Invalid, match=message):
        read_gpx(data)


def test_rules_must_be_positive():
    with pytest.raises(Invalid, match="positive"):
        CleaningRules(max_speed_mps=0)
