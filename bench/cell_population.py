"""Cell-positioned subjects living near the county line, for bench/detection.py.

Their phones report cell-tower positions (``source="cell"``) with an accuracy of 1-5 km.
Accuracy is taken as Android reports it, the radius of 68% confidence: each fix's error is
a 2-D Gaussian whose per-axis standard deviation is ``accuracy / 1.51``, so 68% of the fixes
fall within their stated accuracy of the true position, independently of one another.
Homes are inside the county, 0.5-3 km north of its straight south line (lat 30.52,
lon 122.1-122.6). A few subjects really leave: they cross the line southward at boat speed
to a place 8-20 km outside and stay there.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from models.events import LocationFix
from models.values import SubjectRef

METRES = 111_320.0  # per degree of latitude
LINE_LAT = 30.52  # the county's south line between lon 122.1 and 122.6
R68 = math.sqrt(-2 * math.log(1 - 0.68))  # 68% radius of a 2-D Gaussian, in sigmas (1.51)
ACCURACY_M = (1000.0, 5000.0)
HOME_INSIDE_M = (500.0, 3000.0)
AWAY_OUTSIDE_M = (8000.0, 20000.0)
BOAT_KMH = 25.0
EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class CellPopulation:
    people: dict[str, SubjectRef]
    fixes: list[LocationFix]  # in event-time order
    truth: dict[str, tuple[float, float]]  # fix id -> the true (lat, lon)
    leaving: set[str]  # who really leaves


def _noisy(rng: random.Random, lat: float, lon: float, acc: float) -> tuple[float, float]:
    sigma = acc / R68
    north, east = rng.gauss(0, sigma), rng.gauss(0, sigma)
    return lat + north / METRES, lon + east / (METRES * math.cos(math.radians(lat)))


def cell_population(
    rng: random.Random, start: datetime, subjects: int, days: int, departures: int
) -> CellPopulation:
    """``subjects`` who stay home for ``days`` days, and ``departures`` who leave once."""
    people: dict[str, SubjectRef] = {}
    fixes: list[LocationFix] = []
    truth: dict[str, tuple[float, float]] = {}
    end = start + timedelta(days=days)

    def report(who: str, at: datetime, lat: float, lon: float) -> None:
        acc = rng.uniform(*ACCURACY_M)
        seen = _noisy(rng, lat, lon, acc)
        fix = LocationFix(
            event_id=f"{who}-{len(fixes)}",
            subject_id=who,
            device_id=f"P-{who}",
            occurred_at=at,
            lat=seen[0],
            lon=seen[1],
            accuracy_m=round(acc, 1),
            source="cell",
        )
        fixes.append(fix)
        truth[fix.event_id] = (lat, lon)

    for i in range(subjects + departures):
        leaves = i >= subjects
        who = f"CD-{i - subjects:04d}" if leaves else f"C-{i:04d}"
        people[who] = SubjectRef(
            who, "caiyuan", "central", "normal", date(2025, 1, 1), date(2028, 1, 1)
        )
        home = (
            LINE_LAT + rng.uniform(*HOME_INSIDE_M) / METRES,
            rng.uniform(122.15, 122.55),
        )
        away = (LINE_LAT - rng.uniform(*AWAY_OUTSIDE_M) / METRES, home[1])
        leave_at = start + timedelta(days=rng.randrange(days), hours=rng.uniform(7, 15))
        ride = timedelta(hours=(home[0] - away[0]) * METRES / 1000 / BOAT_KMH)
        at = start + timedelta(seconds=rng.randrange(300))
        while at < end:
            f = (at - leave_at) / ride if leaves else 0.0
            f = min(max(f, 0.0), 1.0)
            report(who, at, home[0] + (away[0] - home[0]) * f, home[1])
            at += EVERY
    fixes.sort(key=lambda f: (f.occurred_at, f.subject_id))
    return CellPopulation(people, fixes, truth, {w for w in people if w.startswith("CD-")})
