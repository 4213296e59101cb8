"""A seeded, reproducible day in Shengsi: check-ins at office kiosks and phone fixes.

Same seed, date and keys, same events, byte for byte. One subject (``ABSCONDER_ID``) walks
to Lizhushan pier after lunch and takes the ferry to Shanghai's Luchao port; a few records
are faulty on purpose, as real terminals sometimes send. Kiosks and phones sign their
records with their keys (:func:`models.signing.signing_keys`, by device id).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

import msgspec

from alerts.geofence import Area
from ccwatch.reference import ABSCONDER_ID, PersonData, Reference, shengsi
from models.events import Activity, CheckIn, LocationFix, Tick, encode
from models.ids import derive_id
from models.localtime import LOCAL_TZ
from models.signing import sign
from models.values import DeviceKey

Keys = Mapping[str, DeviceKey]  # the key each terminal and phone signs with, by device id

Kind = Literal["checkin", "location", "activity", "tick"]
FIX_EVERY = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class SimEvent:
    kind: Kind
    occurred_at: datetime
    key: bytes | None
    value: bytes
    note: str = ""  # what is special about it, for the console
    partition: int | None = None  # control records (ticks) go to each partition


def with_ticks(events: list[SimEvent], every: timedelta, partitions: int) -> list[SimEvent]:
    """The events with a tick to every control partition at each multiple of ``every`` of
    event time: the time-driven detectors then run on simulated time, as in a replay."""
    if not events:
        return events
    out: list[SimEvent] = []
    step = every.total_seconds()
    due = datetime.fromtimestamp((events[0].occurred_at.timestamp() // step + 1) * step, UTC)
    for event in events:
        while event.occurred_at >= due:
            tick = encode(Tick(event_id=derive_id("sim-tick", due.isoformat()), at=due))
            out += [SimEvent("tick", due, None, tick, partition=p) for p in range(partitions)]
            due += every
        out.append(event)
    return out


def simulate_days(
    last: date, days: int, seed: int = 7, faults: bool = True, *, keys: Keys
) -> list[SimEvent]:
    """``days`` consecutive days ending on ``last``; the ferry and the faults on the last."""
    out: list[SimEvent] = []
    for n in range(days - 1, -1, -1):
        day = last - timedelta(days=n)
        out += simulate_day(day, seed, faults=faults and n == 0, ferry=n == 0, keys=keys)
    return out


def simulate_day(
    day: date,
    seed: int = 7,
    ref: Reference | None = None,
    faults: bool = True,
    ferry: bool = True,
    *,
    keys: Keys,
) -> list[SimEvent]:
    """Every event of the day in event-time order, signed with ``keys``."""
    ref = ref or shengsi()
    rng = random.Random(f"{seed}/{day.isoformat()}")
    events: list[SimEvent] = []
    for person in ref.subjects:
        if not person.starts_on <= day <= person.ends_on:
            continue  # not under supervision: nothing tracked
        ids = _ids(seed, day, person.id)
        if person.id == ABSCONDER_ID and ferry:
            events += _ferry_day(rng, ref, person, day, ids, keys)
        else:
            events += _home_day(rng, person, day, ids, keys)
        diligence = random.Random(f"{seed}/{person.id}").uniform(0.55, 1.0)
        if (_due(person, day) and rng.random() < diligence) or (
            person.id == ABSCONDER_ID and ferry
        ):
            events += _checkins(rng, ref, person, day, ids, diligence, keys)
        if day.weekday() == 5 and rng.random() < diligence * 0.6:  # Saturday service
            events += _session(rng, ref, person, _at(day, 9), "community_service", ids, keys)
    if faults:
        events += _faults(day, seed, ref, keys)
    events.sort(key=lambda e: (e.occurred_at, e.kind, e.key or b""))
    return events


def _ids(seed: int, day: date, subject_id: str) -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield derive_id("sim", str(seed), day.isoformat(), subject_id, str(n))


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TZ)


def _fix(
    rng: random.Random,
    person: PersonData,
    event_id: str,
    when: datetime,
    lat: float,
    lon: float,
    keys: Keys,
    note: str = "",
) -> SimEvent:
    source = rng.choices(["gps", "wifi", "cell"], weights=[80, 15, 5])[0]
    accuracy = {
        "gps": rng.uniform(5, 40),
        "wifi": rng.uniform(20, 80),
        "cell": rng.uniform(300, 900),
    }[source]
    fix = LocationFix(
        event_id=event_id,
        subject_id=person.id,
        device_id=Reference.device_id(person.id),
        occurred_at=when,
        lat=round(lat, 6),
        lon=round(lon, 6),
        accuracy_m=round(accuracy, 1),
        source=source,  # type: ignore[arg-type]
        battery_pct=max(5, 100 - when.hour * 3 - rng.randrange(5)),
    )
    signed = sign(fix, keys[fix.device_id])
    return SimEvent("location", when, person.id.encode(), encode(signed), note)


def _home_day(
    rng: random.Random, person: PersonData, day: date, ids: Iterator[str], keys: Keys
) -> list[SimEvent]:
    out = []
    when = _at(day, 0) + timedelta(minutes=rng.randrange(15))
    while when.date() == day:
        lat = person.home_lat + rng.gauss(0, 0.002)
        lon = person.home_lon + rng.gauss(0, 0.002)
        out.append(_fix(rng, person, next(ids), when, lat, lon, keys))
        when += FIX_EVERY
    return out


def _ferry_day(
    rng: random.Random,
    ref: Reference,
    person: PersonData,
    day: date,
    ids: Iterator[str],
    keys: Keys,
) -> list[SimEvent]:
    """Home until noon, then the pier, the 13:10 ferry, Luchao at 14:10, on into Shanghai."""
    county = Area(ref.county)
    out = [e for e in _home_day(rng, person, day, ids, keys) if e.occurred_at < _at(day, 12, 30)]
    pier, port = ref.places["Lizhushan pier"], ref.places["Luchao port"]
    legs = [  # (start, end, from, to, step minutes, note)
        (_at(day, 12, 30), _at(day, 13, 10), (person.home_lat, person.home_lon), pier, 5, ""),
        (_at(day, 13, 10), _at(day, 14, 10), pier, port, 2, "boards the ferry to Luchao"),
        (_at(day, 14, 10), _at(day, 23, 59), port, (31.05, 121.60), 15, "lands at Luchao"),
    ]
    for start, end, a, b, step, note in legs:
        n = int((end - start) / timedelta(minutes=step))
        for i in range(n):
            f = i / n
            lat = a[0] + (b[0] - a[0]) * f + rng.gauss(0, 0.0003)
            lon = a[1] + (b[1] - a[1]) * f + rng.gauss(0, 0.0003)
            out.append(
                _fix(
                    rng,
                    person,
                    next(ids),
                    start + i * timedelta(minutes=step),
                    lat,
                    lon,
                    keys,
                    note if i == 0 else "",
                )
            )
    first_out = next(i for i, e in enumerate(out) if not county.contains(*_latlon(e)))
    out[first_out] = replace(out[first_out], note="first fix outside the county")
    return out


def _latlon(event: SimEvent) -> tuple[float, float]:
    fix = msgspec.json.decode(event.value, type=LocationFix)
    return fix.lat, fix.lon


def _due(person: PersonData, day: date) -> bool:
    """The subject's reporting day: a fixed weekday, weekly (strict), every other week
    (normal) or in the first week of the month (lenient)."""
    h = int(derive_id("schedule", person.id)[:8], 16)
    if day.weekday() != h % 5:
        return False
    return {"strict": True, "normal": day.isocalendar().week % 2 == h % 2, "lenient": day.day <= 7}[
        person.level
    ]


def _checkins(
    rng: random.Random,
    ref: Reference,
    person: PersonData,
    day: date,
    ids: Iterator[str],
    diligence: float,
    keys: Keys,
) -> list[SimEvent]:
    office = ref.office(person.office_id)
    when = _at(day, 8, 30) + timedelta(minutes=rng.randrange(0, 8 * 60))
    if person.id == ABSCONDER_ID:
        when = _at(day, 9, 5)
    checkin = CheckIn(
        event_id=next(ids),
        subject_id=person.id,
        terminal_id=ref.terminal_id(office.id),
        occurred_at=when,
        method=rng.choice(["face", "face", "fingerprint"]),
        match_score=round(rng.uniform(0.86, 0.99), 3),
        lat=office.lat,
        lon=office.lon,
    )
    checkin = sign(checkin, keys[checkin.terminal_id])
    event = SimEvent("checkin", when, person.id.encode(), encode(checkin))
    out = [event]
    if rng.random() < 0.2:  # the kiosk retried the upload: same event id, sent twice
        out.append(replace(event, occurred_at=when + timedelta(seconds=30), note="kiosk retry"))
    later = when + timedelta(minutes=10)
    if rng.random() < diligence:  # after reporting, a study session at the kiosk
        out += _session(rng, ref, person, later, "study", ids, keys)
    if rng.random() < diligence * 0.3:
        out += _session(rng, ref, person, later, "thought_report", ids, keys)
    return out


def _session(
    rng: random.Random,
    ref: Reference,
    person: PersonData,
    when: datetime,
    kind: str,
    ids: Iterator[str],
    keys: Keys,
) -> list[SimEvent]:
    hours = 0.0 if kind == "thought_report" else float(rng.randint(2, 5))
    session = Activity(
        event_id=next(ids),
        subject_id=person.id,
        terminal_id=ref.terminal_id(person.office_id),
        occurred_at=when,
        activity=kind,  # type: ignore[arg-type]
        hours=hours,
    )
    session = sign(session, keys[session.terminal_id])
    return [SimEvent("activity", when, person.id.encode(), encode(session))]


def _faults(day: date, seed: int, ref: Reference, keys: Keys) -> list[SimEvent]:
    """Records a worker must dead-letter without stopping."""
    base = _at(day, 10, 0)
    eid = derive_id("sim-fault", str(seed), day.isoformat())
    person = next(p for p in ref.subjects if p.id == ABSCONDER_ID)
    real = LocationFix(
        event_id=f"{eid}-5",
        subject_id=person.id,
        device_id=Reference.device_id(person.id),
        occurred_at=base,
        lat=person.home_lat,
        lon=person.home_lon,
        accuracy_m=12.0,
        source="gps",
    )
    # A position at home that the phone did not sign; one whose signature does not match.
    unsigned = encode(real)
    forged = encode(msgspec.structs.replace(sign(real, keys[real.device_id]), event_id=f"{eid}-6"))
    fix = (
        b'{"event_id":"%s-%d","subject_id":"SS-0001","device_id":"P-SS-0001",'
        b'"occurred_at":"%s","lat":%s,"lon":%s,"accuracy_m":12,"source":"gps"}'
    )
    stamp = base.isoformat().encode()
    naive = base.replace(tzinfo=None).isoformat().encode()
    return [
        SimEvent("location", base, b"SS-0001", b"\x00\x9fnot json", "undecodable"),
        SimEvent(
            "location",
            base,
            b"SS-0001",
            fix % (eid.encode(), 1, naive, b"30.7", b"122.4"),
            "timestamp without offset",
        ),
        SimEvent(
            "location",
            base,
            b"SS-0001",
            fix % (eid.encode(), 2, stamp, b"122.4", b"30.7"),
            "lat and lon swapped",
        ),
        SimEvent(
            "location",
            base,
            b"SS-9999",
            (fix % (eid.encode(), 3, stamp, b"30.7", b"122.4")).replace(b"SS-0001", b"SS-9999"),
            "unknown subject",
        ),
        SimEvent("location", base, person.id.encode(), unsigned, "unsigned position"),
        SimEvent("location", base, person.id.encode(), forged, "forged position"),
    ]
