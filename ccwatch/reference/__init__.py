"""Shengsi county reference data: offices, terminals, the county outline, places, demo people.

Geography is approximate (WGS-84) and comes from ``shared/domain.md``; demo subjects are
generated deterministically so the seed, the simulator and the tests agree.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import shapely
from shapely.geometry import mapping

from alerts.geofence import METRES_PER_DEGREE, circle


@dataclass(frozen=True)
class OfficeData:
    id: str
    name_zh: str
    name_en: str
    zone: str
    lat: float
    lon: float
    island: str


@dataclass(frozen=True)
class PersonData:
    id: str
    name: str
    office_id: str
    officer_id: str
    correction_type: str
    level: str
    starts_on: date
    ends_on: date
    home_lat: float
    home_lon: float
    signal_grace_s: float = 0.0
    case_id: str | None = None


@dataclass(frozen=True)
class ZoneData:
    id: str
    name: str
    geometry: dict[str, Any]  # GeoJSON Polygon
    subject_id: str | None = None
    buffer_m: float = 0.0
    hours: tuple[int, int] | None = None


@dataclass(frozen=True)
class Venue:
    """A named place a prohibition order may forbid (网吧, KTV, 学校...), picked in the app."""

    name: str
    kind: str
    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True)
class Port:
    """A pier or port drawn on the map (zh and en name)."""

    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Destination:
    """A place a leave may go to, named in its free-text destination by one of ``match``."""

    name: str
    match: tuple[str, ...]
    lat: float
    lon: float


@dataclass(frozen=True)
class Reference:
    offices: tuple[OfficeData, ...]
    county: dict[str, Any]  # GeoJSON Polygon
    places: dict[str, tuple[float, float]]  # name -> (lat, lon)
    subjects: tuple[PersonData, ...]
    exits: tuple[ZoneData, ...] = ()
    forbidden: tuple[ZoneData, ...] = ()
    islands: tuple[ZoneData, ...] = ()  # approximate outlines, for the map
    venues: tuple[Venue, ...] = ()  # places an order may forbid
    ports: tuple[Port, ...] = ()  # piers and ports, for the map
    destinations: tuple[Destination, ...] = ()  # where leaves go, most specific first

    def destination(self, text: str) -> Destination | None:
        """The first known place a leave's free-text destination names, if any."""
        folded = text.casefold()
        return next((d for d in self.destinations if any(m in folded for m in d.match)), None)

    def office(self, office_id: str) -> OfficeData:
        return next(o for o in self.offices if o.id == office_id)

    @staticmethod
    def terminal_id(office_id: str) -> str:
        return f"T-{office_id}-1"

    @staticmethod
    def device_id(subject_id: str) -> str:
        """The phone a subject carries (its key is enrolled with the subject)."""
        return f"P-{subject_id}"

    @staticmethod
    def officer_ids(office_id: str) -> tuple[str, str]:
        return (f"O-{office_id}-1", f"O-{office_id}-2")


SUBJECTS_PER_OFFICE = {
    "caiyuan": 12,
    "wulong": 5,
    "huanglong": 4,
    "huaniao": 3,
    "shengshan": 5,
    "gouqi": 4,
    "yangshan": 5,
}
ON_REGISTER_UNTIL = date(2027, 1, 1)
ABSCONDER_ID = "SS-0007"  # a Caiyuan subject who takes the ferry to Luchao in the demo day


@cache
def shengsi() -> Reference:
    raw = json.loads(resources.files(__name__).joinpath("shengsi.json").read_text("utf-8"))
    offices = tuple(OfficeData(**o) for o in raw["offices"])
    places = {name: (p[0], p[1]) for name, p in raw["places"].items()}
    cases = {sid: case for case, ids in raw["cases"].items() for sid in ids}
    people = tuple(
        replace(p, case_id=cases.get(p.id), signal_grace_s=raw["fishermen"].get(p.id, 0.0))
        for p in _demo_subjects(offices)
    )
    return Reference(
        offices,
        raw["county"],
        places,
        people,
        tuple(_zone(z) for z in raw["exits"]),
        tuple(_zone(z) for z in raw["forbidden"]),
        tuple(_zone(z) for z in raw["islands"]),
        tuple(Venue(**v) for v in raw.get("venues", ())),
        tuple(Port(**p) for p in raw.get("ports", ())),
        tuple(
            Destination(d["name"], tuple(m.casefold() for m in d["match"]), d["lat"], d["lon"])
            for d in raw.get("destinations", ())
        ),
    )


def _zone(raw: dict[str, Any]) -> ZoneData:
    """A zone from its circle (lat, lon, radius m), its polygon (a closed ring of lon/lat
    points) or its line (lon/lat points) and width."""
    if "circle" in raw:
        geometry = circle(*raw["circle"])
    elif "polygon" in raw:
        geometry = {"type": "Polygon", "coordinates": [raw["polygon"]]}
    else:
        line = shapely.LineString(raw["line"])
        geometry = dict(mapping(line.buffer(raw["width_m"] / 2 / METRES_PER_DEGREE)))
    hours = tuple(raw["hours"]) if "hours" in raw else None
    return ZoneData(
        raw["id"], raw["name"], geometry, raw.get("subject_id"), raw.get("buffer_m", 0.0), hours
    )


def _demo_subjects(offices: tuple[OfficeData, ...]) -> list[PersonData]:
    rng = random.Random(20230512)
    types = ["probation"] * 7 + ["parole"] * 2 + ["control", "medical_parole"]
    levels = ["normal"] * 5 + ["strict"] * 3 + ["lenient"] * 2
    people: list[PersonData] = []
    number = 0
    for office in offices:
        for i in range(SUBJECTS_PER_OFFICE[office.id]):
            number += 1
            starts = date.fromordinal(date(2025, 3, 1).toordinal() + rng.randrange(600))
            kind, level = rng.choice(types), rng.choice(levels)
            ends = date.fromordinal(starts.toordinal() + 365 * rng.randint(1, 3))
            if ends < ON_REGISTER_UNTIL:  # every demo subject is on register in the demo
                ends = date.fromordinal(ends.toordinal() + 365)
            people.append(
                PersonData(
                    id=f"SS-{number:04d}",
                    name=f"对象{number:03d}",
                    office_id=office.id,
                    officer_id=Reference.officer_ids(office.id)[i % 2],
                    correction_type=kind,
                    level=level,
                    starts_on=starts,
                    ends_on=ends,
                    home_lat=round(office.lat + rng.uniform(-0.008, 0.008), 6),
                    home_lon=round(office.lon + rng.uniform(-0.010, 0.010), 6),
                )
            )
    return people
