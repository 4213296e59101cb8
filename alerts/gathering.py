"""Gathering (聚集): co-offenders within a distance of each other for a time.

Scales by space, not by subject: every fix is repartitioned to its grid cell (and to the
neighbouring cells it lies near, so any close pair shares a cell); a cell's detector sees
only who is in it. What it finds goes back to each subject's partition as a sighting.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import msgspec
from geopy.distance import great_circle

from alerts.geofence import METRES_PER_DEGREE
from models.events import LocationFix, Sighting
from models.ids import derive_id

PRESENCE = timedelta(minutes=15)  # a fix says where someone is for this long
CELL_FACTOR = 10  # cells are this many gathering distances wide
LON_SCALE = math.cos(math.radians(30.7))  # metres per degree of longitude / of latitude


def cells(lat: float, lon: float, distance_m: float) -> list[str]:
    """The cell holding the point, plus each neighbour whose edge is within the distance."""
    size = distance_m * CELL_FACTOR / METRES_PER_DEGREE
    x, y = lon * LON_SCALE / size, lat / size
    cx, cy = math.floor(x), math.floor(y)
    near = distance_m / METRES_PER_DEGREE / size  # the distance in cell widths
    xs = [cx] + ([cx - 1] if x - cx < near else []) + ([cx + 1] if cx + 1 - x < near else [])
    ys = [cy] + ([cy - 1] if y - cy < near else []) + ([cy + 1] if cy + 1 - y < near else [])
    return [f"{int(distance_m)}:{i}:{j}" for i in xs for j in ys]


class Presence(msgspec.Struct, frozen=True):
    at: datetime
    lat: float
    lon: float
    case: str


class CellState(msgspec.Struct, frozen=True, omit_defaults=True):
    present: dict[str, Presence] = {}
    together: dict[str, datetime] = {}  # "a|b" -> since when


def observe(
    state: CellState,
    cell: str,
    fix: LocationFix,
    case: str,
    distance_m: float,
    dwell: timedelta,
) -> tuple[CellState, list[Sighting]]:
    """Note a co-offender's fix in a cell; sightings for pairs together for the dwell time."""
    now = fix.occurred_at
    present = {s: p for s, p in state.present.items() if now - p.at <= PRESENCE}
    present[fix.subject_id] = Presence(now, fix.lat, fix.lon, case)
    together, sightings = {}, []
    for key, since in state.together.items():
        if fix.subject_id not in key.split("|"):
            together[key] = since  # other pairs: unchanged by this fix
    for other, p in present.items():
        if other == fix.subject_id or p.case != case:
            continue
        if great_circle((fix.lat, fix.lon), (p.lat, p.lon)).meters > distance_m:
            continue
        key = "|".join(sorted((fix.subject_id, other)))
        since = state.together.get(key, now)
        together[key] = since
        if now - since >= dwell:
            for who, mate in ((fix.subject_id, other), (other, fix.subject_id)):
                sightings.append(
                    Sighting(
                        event_id=derive_id("sighting", cell, key, since.isoformat(), who),
                        subject_id=who,
                        others=[mate],
                        since=since,
                        occurred_at=now,
                        lat=fix.lat,
                        lon=fix.lon,
                    )
                )
    return CellState(present, together), sightings
