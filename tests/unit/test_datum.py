"""Datums of location fixes (models.datum): GCJ-02 and BD-09 to WGS-84 exactly, and back."""

from __future__ import annotations

import math

import pytest
from geopy.distance import geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from models import datum
from models.datum import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

CAIYUAN = (30.712, 122.451)  # Shengsi's county seat (tests/factories.INSIDE)
SHENGSHAN = (30.7225, 122.8165)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two nearby points (locally flat: good to 0.5 % within kilometres)."""
    north = (a[0] - b[0]) * 111_320.0
    east = (a[1] - b[1]) * 111_320.0 * math.cos(math.radians(a[0]))
    return math.hypot(north, east)


# Fixed points ---------------------------------------------------------------------------
# An independent published value: the test data of the MIT-licensed JavaScript library
# coordtransform (github.com/wandergis/coordtransform, test/app.js) gives, for Beijing's
# (lon 116.404, lat 39.915), wgs84togcj02 = [116.41024449916938, 39.91640428150164] and
# gcj02tobd09 = [116.41036949371029, 39.92133699351021].
def test_an_independently_published_point() -> None:
    assert wgs84_to_gcj02(39.915, 116.404) == pytest.approx(
        (39.91640428150164, 116.41024449916938), abs=1e-12
    )
    assert gcj02_to_bd09(39.915, 116.404) == pytest.approx(
        (39.92133699351021, 116.41036949371029), abs=1e-12
    )


# Shengsi's values as this implementation computes them (it agrees with the published
# point above to the last digit or two): a change of the algorithm shows here.
REFERENCE = [
    # (WGS-84, GCJ-02, BD-09)
    (CAIYUAN, (30.709840060099513, 122.45531921204947), (30.71548120447825, 122.4618987479155)),
    (
        SHENGSHAN,
        (30.720145787888914, 122.82072731426537),
        (30.725777629760696, 122.82731955543615),
    ),
]


@pytest.mark.parametrize(("wgs", "gcj", "bd"), REFERENCE)
def test_fixed_points_both_ways(
    wgs: tuple[float, float], gcj: tuple[float, float], bd: tuple[float, float]
) -> None:
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-12)
    assert wgs84_to_bd09(*wgs) == pytest.approx(bd, abs=1e-12)
    assert gcj02_to_bd09(*gcj) == pytest.approx(bd, abs=1e-12)
    assert metres(gcj02_to_wgs84(*gcj), wgs) < 0.001
    assert metres(bd09_to_wgs84(*bd), wgs) < 0.001
    assert metres(bd09_to_gcj02(*bd), gcj) < 0.001


def test_the_offset_around_shengsi_is_hundreds_of_metres() -> None:
    """What a GCJ-02 phone's numbers taken as WGS-84 would be off by: enough to put a walker
    on the shore in the sea, or across the county line."""
    for lat in (30.55, 30.65, 30.75, 30.85):
        for lon in (122.0, 122.3, 122.6, 122.9):
            gcj = geodesic((lat, lon), wgs84_to_gcj02(lat, lon)).m
            assert 300 < gcj < 600, (lat, lon, gcj)
            bd = geodesic((lat, lon), wgs84_to_bd09(lat, lon)).m
            assert 900 < bd < 1300, (lat, lon, bd)
    # GCJ-02 moves a Shengsi point east and a little south.
    lat, lon = wgs84_to_gcj02(*CAIYUAN)
    assert lat < CAIYUAN[0] and lon > CAIYUAN[1]


# No offset outside China ----------------------------------------------------------------
OUTSIDE_CHINA = [
    (35.6812, 139.7671),  # Tokyo
    (51.5007, -0.1246),  # London
    (-33.8568, 151.2153),  # Sydney
    (40.7484, -73.9857),  # New York
    (0.0, 0.0),
    (89.9, 179.99),
    (-89.9, -179.99),
]


@pytest.mark.parametrize("point", OUTSIDE_CHINA)
def test_no_offset_outside_china(point: tuple[float, float]) -> None:
    assert not in_china(*point)
    kinds: tuple[datum.Datum, ...] = ("gcj02", "bd09")
    for kind in kinds:
        assert from_wgs84(kind, *point) == point
        assert to_wgs84(kind, *point) == point
    assert bd09_to_gcj02(*point) == gcj02_to_bd09(*point) == point


def test_wgs84_is_left_as_it_is() -> None:
    assert to_wgs84("wgs84", *CAIYUAN) == from_wgs84("wgs84", *CAIYUAN) == CAIYUAN


# Round trips: the inverses are exact, not the one-step approximation ---------------------
def _round_trips(lat: float, lon: float) -> None:
    wgs = (lat, lon)
    gcj, bd = wgs84_to_gcj02(lat, lon), wgs84_to_bd09(lat, lon)
    assert metres(gcj02_to_wgs84(*gcj), wgs) < 0.01
    assert metres(bd09_to_wgs84(*bd), wgs) < 0.01
    assert metres(to_wgs84("gcj02", *from_wgs84("gcj02", lat, lon)), wgs) < 0.01
    assert metres(to_wgs84("bd09", *from_wgs84("bd09", lat, lon)), wgs) < 0.01
    # The forward transform of the answer hits the given point to the tolerance.
    again = wgs84_to_gcj02(*gcj02_to_wgs84(*gcj))
    assert max(abs(again[0] - gcj[0]), abs(again[1] - gcj[1])) < datum.TOLERANCE_DEG


def test_round_trips_on_a_grid_around_zhoushan() -> None:
    for i in range(41):
        for j in range(41):
            _round_trips(29.5 + i * 0.05, 121.4 + j * 0.06)


def test_round_trips_on_a_grid_across_china() -> None:
    for i in range(36):
        for j in range(31):
            _round_trips(18.0 + i, 74.0 + 2 * j)


# Away from the box's edges (within an offset's width of them the transform jumps).
@settings(deadline=None, max_examples=300)
@given(
    st.floats(min_value=0.9, max_value=55.7),
    st.floats(min_value=72.1, max_value=137.7),
)
def test_round_trips_anywhere_in_china(lat: float, lon: float) -> None:
    _round_trips(lat, lon)


def test_the_one_step_inverse_would_not_do() -> None:
    """The widely copied inverse (subtract the offset at the GCJ-02 point) misses Caiyuan
    by 1.5 m (up to 4.5 m elsewhere in China); the iteration does not."""
    gcj = wgs84_to_gcj02(*CAIYUAN)
    moved = wgs84_to_gcj02(*gcj)
    one_step = (2 * gcj[0] - moved[0], 2 * gcj[1] - moved[1])
    assert metres(one_step, CAIYUAN) > 1.0
    assert metres(gcj02_to_wgs84(*gcj), CAIYUAN) < 0.001
