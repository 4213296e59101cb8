"""Geodetic datums of location fixes: GCJ-02 and BD-09 to WGS-84, and back. Pure.

Phones in China commonly report positions in GCJ-02 (国测局坐标, the datum Chinese map
services must use, WGS-84 shifted by a deliberately irregular offset) and Baidu's SDKs in
BD-09 (GCJ-02 shifted once more). Around Shengsi the shift is some 500 m, enough to put a
walker on the shore in the sea or across the county line. ccwatch converts a fix to WGS-84
at the door (:mod:`streams.pipeline`) and holds only WGS-84 from there on.

- **GCJ-02** is the published forward algorithm: an offset in metres from two polynomial
  and sine series of the longitude and latitude (relative to 105° E, 35° N), turned into
  degrees on the Krasovsky 1940 ellipsoid. Outside a rough bounding box of China (longitude
  72.004..137.8347, latitude 0.8293..55.8271) there is no offset.
- **BD-09** is GCJ-02 turned slightly about the origin and moved by (0.0065°, 0.006°).
  Outside the same box ccwatch takes BD-09 like GCJ-02: no offset (a position there is
  WGS-84 whatever it declares, and the shift could otherwise carry a longitude past 180°).
- **The inverses** have no closed form. Each is the forward transform solved by fixed-point
  iteration: start at the given point, move the estimate back by what the forward transform
  of the estimate misses, until it misses by less than ``TOLERANCE_DEG`` (1e-9°, 0.1 mm)
  in each coordinate. The offset changes slowly with position (its slope is about 0.002
  for GCJ-02, 0.02 for BD-09), so each step gains two or more digits: at most five
  evaluations of the forward transform, measured across China. The widely copied one-step
  inverse misses by up to 4.5 m (1.5 m at Caiyuan).

Coordinates are degrees, latitude first, as everywhere in ccwatch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

Datum = Literal["wgs84", "gcj02", "bd09"]
LatLon = tuple[float, float]

# The Krasovsky 1940 ellipsoid, as the GCJ-02 algorithm uses it.
KRASOVSKY_A = 6378245.0  # semi-major axis, metres
KRASOVSKY_EE = 0.00669342162296594323  # first eccentricity squared
# Where GCJ-02 (and so BD-09) has an offset: a rough bounding box of China.
CHINA_LON = (72.004, 137.8347)
CHINA_LAT = (0.8293, 55.8271)
_X_PI = math.pi * 3000.0 / 180.0  # BD-09's angular frequency
BD_SHIFT_LON, BD_SHIFT_LAT = 0.0065, 0.006

TOLERANCE_DEG = 1e-9  # an inverse stops when the forward transform misses by less
MAX_STEPS = 50  # never reached in the box but at its very edges (see _solve)


def in_china(lat: float, lon: float) -> bool:
    """Whether a point lies in the box where GCJ-02 and BD-09 have an offset."""
    return CHINA_LON[0] <= lon <= CHINA_LON[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]


def _offset_m(x: float, y: float) -> LatLon:
    """GCJ-02's offset before scaling, north and east, for ``x`` = lon - 105 and
    ``y`` = lat - 35 (degrees)."""
    pi = math.pi
    waves = (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    root = math.sqrt(abs(x))
    north = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root + waves
    north += (20.0 * math.sin(y * pi) + 40.0 * math.sin(y / 3.0 * pi)) * 2.0 / 3.0
    north += (160.0 * math.sin(y / 12.0 * pi) + 320.0 * math.sin(y * pi / 30.0)) * 2.0 / 3.0
    east = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root + waves
    east += (20.0 * math.sin(x * pi) + 40.0 * math.sin(x / 3.0 * pi)) * 2.0 / 3.0
    east += (150.0 * math.sin(x / 12.0 * pi) + 300.0 * math.sin(x / 30.0 * pi)) * 2.0 / 3.0
    return north, east


def wgs84_to_gcj02(lat: float, lon: float) -> LatLon:
    """GCJ-02 of a WGS-84 point (the same point outside China)."""
    if not in_china(lat, lon):
        return lat, lon
    north, east = _offset_m(lon - 105.0, lat - 35.0)
    phi = math.radians(lat)
    w = 1.0 - KRASOVSKY_EE * math.sin(phi) ** 2
    meridian = KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (w * math.sqrt(w))  # radius, north-south
    normal = KRASOVSKY_A / math.sqrt(w)  # radius of the prime vertical
    dlat = north * 180.0 / (meridian * math.pi)
    dlon = east * 180.0 / (normal * math.cos(phi) * math.pi)
    return lat + dlat, lon + dlon


def gcj02_to_bd09(lat: float, lon: float) -> LatLon:
    """BD-09 of a GCJ-02 point (the same point outside China)."""
    return _baidu(lat, lon) if in_china(lat, lon) else (lat, lon)


def wgs84_to_bd09(lat: float, lon: float) -> LatLon:
    """BD-09 of a WGS-84 point (the same point outside China)."""
    return _baidu(*wgs84_to_gcj02(lat, lon)) if in_china(lat, lon) else (lat, lon)


def _baidu(lat: float, lon: float) -> LatLon:
    """BD-09's turn and shift of a GCJ-02 point."""
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + BD_SHIFT_LAT, z * math.cos(theta) + BD_SHIFT_LON


def gcj02_to_wgs84(lat: float, lon: float) -> LatLon:
    """The WGS-84 point whose GCJ-02 is the given one, to 1e-9° (exact, not one step)."""
    return _solve(wgs84_to_gcj02, lat, lon)


def bd09_to_gcj02(lat: float, lon: float) -> LatLon:
    """The GCJ-02 point whose BD-09 is the given one, to 1e-9°."""
    return _solve(gcj02_to_bd09, lat, lon)


def bd09_to_wgs84(lat: float, lon: float) -> LatLon:
    """The WGS-84 point whose BD-09 is the given one, to 1e-9°."""
    return _solve(wgs84_to_bd09, lat, lon)


_TO_WGS84: dict[str, Callable[[float, float], LatLon]] = {
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}
_FROM_WGS84: dict[str, Callable[[float, float], LatLon]] = {
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}


def to_wgs84(datum: Datum, lat: float, lon: float) -> LatLon:
    """A point given in ``datum``, in WGS-84."""
    return (lat, lon) if datum == "wgs84" else _TO_WGS84[datum](lat, lon)


def from_wgs84(datum: Datum, lat: float, lon: float) -> LatLon:
    """A WGS-84 point, in ``datum`` (what a phone reporting in that datum sends)."""
    return (lat, lon) if datum == "wgs84" else _FROM_WGS84[datum](lat, lon)


def _solve(forward: Callable[[float, float], LatLon], lat: float, lon: float) -> LatLon:
    """The point that ``forward`` takes to (lat, lon): fixed-point iteration from there.

    Where no offset applies the start is its own answer at once. Only within an offset's
    width of the box's edges (no one supervised lives there) may forward's jump at the
    edge leave two answers or none; the step limit then ends the search at the estimate
    that missed by least.
    """
    est_lat, est_lon = lat, lon
    best, best_miss = (lat, lon), math.inf
    for _ in range(MAX_STEPS):
        got_lat, got_lon = forward(est_lat, est_lon)
        miss_lat, miss_lon = got_lat - lat, got_lon - lon
        miss = max(abs(miss_lat), abs(miss_lon))
        if miss < best_miss:
            best, best_miss = (est_lat, est_lon), miss
        if miss < TOLERANCE_DEG:
            break
        est_lat, est_lon = est_lat - miss_lat, est_lon - miss_lon
    return best
