"""A seeded, reproducible day in Shengsi: check-ins at office kiosks and phone fixes.

Same seed, date and keys, same events, byte for byte. Subjects keep to what their level
requires as a county's mostly do (domain.md): each plans a local month of study and
community service to cover the level's hours and reports on its days, with a rare slip; a
few (``LAX_SHARE``) are lax. One subject (``ABSCONDER_ID``) walks to Lizhushan pier after
lunch and takes the ferry to Shanghai's Luchao port; a few records are faulty on purpose,
as real terminals sometimes send. Kiosks and phones sign their records with their keys
(:func:`models.signing.signing_keys`, by device id). Every fifth subject's phone reports in
GCJ-02, as phones using China's map SDKs do (:func:`phone_datum`), so the worker's
conversion at the door is exercised; the others report WGS-84.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Literal

import msgspec

from alerts.geofence import Area
from ccwatch.reference import ABSCONDER_ID, PersonData, Reference, shengsi
from models.datum import Datum, from_wgs84, to_wgs84
from models.events import Activity, CheckIn, LocationFix, Tick, batch_of, encode
from models.ids import derive_id
from models.localtime import LOCAL_TZ, month_span
from models.signing import sign
from models.values import DeviceKey
from scoring.rules import load_ruleset

Keys = Mapping[str, DeviceKey]  # the key each terminal and phone signs with, by device id

Kind = Literal["checkin", "location", "activity", "tick"]
FIX_EVERY = timedelta(minutes=15)
LAX_SHARE = 0.1  # subjects who keep to their requirements loosely; the rest keep to them
SLIP = {False: 0.02, True: 0.3}  # chance of missing a due check-in: kept, lax
GCJ02_EVERY = 5  # every fifth subject's phone (SS-0005, SS-0010...) reports GCJ-02


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


def batched(events: list[SimEvent], every: timedelta, keys: Keys) -> list[SimEvent]:
    """The events with each phone's fixes uploaded together (contract v1.1), one record per
    ``every`` of event time, sent at its last fix's time, as trackers do; faulty fixes
    (those with a note) stay single records."""
    step = every.total_seconds()
    uploads: dict[tuple[bytes | None, int], list[LocationFix]] = {}
    out: list[SimEvent] = []
    for event in events:
        if event.kind != "location" or event.note:
            out.append(event)
            continue
        fix = msgspec.json.decode(event.value, type=LocationFix)
        window = int(event.occurred_at.timestamp() // step)
        uploads.setdefault((event.key, window), []).append(msgspec.structs.replace(fix, sig=None))
    for (key, _), fixes in uploads.items():
        upload = sign(batch_of(fixes), keys[fixes[0].device_id])
        out.append(SimEvent("location", fixes[-1].occurred_at, key, encode(upload)))
    return sorted(out, key=lambda e: e.occurred_at)  # stable: same-time order kept


def simulate_days(
    last: date, days: int, seed: int = 7, faults: bool = True, *, keys: Keys, ferry: bool = True
) -> list[SimEvent]:
    """``days`` consecutive days ending on ``last``; the ferry and the faults on the last
    (unless told not to: history before the demo's day has neither)."""
    out: list[SimEvent] = []
    for n in range(days - 1, -1, -1):
        day = last - timedelta(days=n)
        out += simulate_day(day, seed, faults=faults and n == 0, ferry=ferry and n == 0, keys=keys)
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
        plan = month_plan(seed, person, day.year, day.month)
        reported = None
        if (_due(person, day) and day not in plan.skipped) or (person.id == ABSCONDER_ID and ferry):
            checkin = _checkin(rng, ref, person, day, ids, keys)
            events += checkin
            reported = checkin[0].occurred_at
            if rng.random() < plan.thought_reports:
                later = reported + timedelta(minutes=10)
                events += _session(ref, person, later, "thought_report", 0.0, ids, keys)
        for activity, hours in plan.sessions.get(day, ()):
            # Study after reporting at the kiosk, else in the afternoon; service from 9:00.
            when = _at(day, 9) if activity == "community_service" else _at(day, 14)
            if reported is not None and activity == "study":
                when = reported + timedelta(minutes=10)
            events += _session(ref, person, when, activity, hours, ids, keys)
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


def phone_datum(subject_id: str) -> Datum:
    """The datum a subject's phone reports in: GCJ-02 for every ``GCJ02_EVERY``-th subject
    by number, WGS-84 for the others."""
    number = subject_id.rpartition("-")[2]
    return "gcj02" if number.isdigit() and int(number) % GCJ02_EVERY == 0 else "wgs84"


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
    datum = phone_datum(person.id)
    lat, lon = from_wgs84(datum, lat, lon)  # (lat, lon) is where the phone is, in WGS-84
    fix = LocationFix(
        event_id=event_id,
        subject_id=person.id,
        device_id=Reference.device_id(person.id),
        occurred_at=when,
        lat=round(lat, 6),
        lon=round(lon, 6),
        datum=datum,
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
    """Where a simulated fix puts the phone, in WGS-84."""
    fix = msgspec.json.decode(event.value, type=LocationFix)
    return to_wgs84(fix.datum, fix.lat, fix.lon)


def _due(person: PersonData, day: date) -> bool:
    """The subject's reporting day: a fixed weekday, weekly (strict), every other week
    (normal) or in the first week of the month (lenient)."""
    h = int(derive_id("schedule", person.id)[:8], 16)
    if day.weekday() != h % 5:
        return False
    return {"strict": True, "normal": day.isocalendar().week % 2 == h % 2, "lenient": day.day <= 7}[
        person.level
    ]


@dataclass(frozen=True, slots=True)
class MonthPlan:
    """What a subject does in a local month: the due check-ins it skips, its study and
    community-service sessions by day (activity, hours), and its chance of handing in a
    thought report when it reports."""

    skipped: frozenset[date]
    sessions: Mapping[date, tuple[tuple[str, float], ...]]
    thought_reports: float


@cache
def month_plan(seed: int, person: PersonData, year: int, month: int) -> MonthPlan:
    """The subject's plan for a local month. One that keeps to its level (most) covers the
    level's hours (the default rule set's, as its office tells it) with a few to spare and
    slips on a due check-in rarely; a lax one (``LAX_SHARE``) slips often and covers 50 to
    110 % of the hours. Study follows reporting at the kiosk, then other weekdays; service
    is at weekends. Only days under supervision are planned."""
    rng = random.Random(f"{seed}/{person.id}/{year}-{month:02d}")
    lax = random.Random(f"{seed}/{person.id}").random() < LAX_SHARE
    span = month_span(f"{year:04d}-{month:02d}")
    days = [
        d
        for d in (span.first + timedelta(days=n) for n in range(span.days()))
        if person.starts_on <= d <= person.ends_on
    ]
    due = [d for d in days if _due(person, d)]
    skipped = frozenset(d for d in due if rng.random() < SLIP[lax])
    reported = [d for d in due if d not in skipped]
    weekdays = [d for d in days if d.weekday() < 5 and d not in reported]
    weekends = [d for d in days if d.weekday() >= 5]
    sessions: dict[date, list[tuple[str, float]]] = defaultdict(list)
    for activity, first, then in (
        ("study", reported, rng.sample(weekdays, len(weekdays))),
        ("community_service", [], rng.sample(weekends, len(weekends))),
    ):
        need = _required_hours(person.level).get(activity, 0.0)
        target = need * rng.uniform(0.5, 1.1) if lax else need + rng.randint(0, 3)
        done = 0.0
        for day in [*first, *then]:
            if done >= target:
                break
            hours = float(rng.randint(2, 4))
            sessions[day].append((activity, hours))
            done += hours
    return MonthPlan(
        skipped,
        {day: tuple(planned) for day, planned in sessions.items()},
        0.15 if lax else 0.3,
    )


@cache
def _required_hours(level: str) -> dict[str, float]:
    hours = load_ruleset().levels[level].min_hours  # type: ignore[index]
    return {str(activity): need for activity, need in hours.items()}


def _checkin(
    rng: random.Random,
    ref: Reference,
    person: PersonData,
    day: date,
    ids: Iterator[str],
    keys: Keys,
) -> list[SimEvent]:
    """A check-in at the own office's kiosk (twice when the kiosk retried the upload)."""
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
    return out


def _session(
    ref: Reference,
    person: PersonData,
    when: datetime,
    kind: str,
    hours: float,
    ids: Iterator[str],
    keys: Keys,
) -> list[SimEvent]:
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
