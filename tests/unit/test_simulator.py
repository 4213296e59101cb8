"""The simulated day is reproducible and follows the contract."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from statistics import fmean
from typing import Any

from geopy.distance import geodesic

from alerts.clock import ManualClock
from alerts.geofence import Area
from ccwatch.reference import ABSCONDER_ID, shengsi
from models.datum import to_wgs84
from models.events import Activity, CheckIn, LocationFix, Rejection, decode
from scoring.rules import load_ruleset
from streams.pipeline import Pipeline
from terminals.simulator import phone_datum, simulate_day, simulate_days
from tests.factories import SOME_DAY, T0, keyring, registry

KEYS = keyring()


def test_same_seed_and_day_same_bytes() -> None:
    a, b = simulate_day(SOME_DAY, seed=3, keys=KEYS), simulate_day(SOME_DAY, seed=3, keys=KEYS)
    assert [(e.key, e.value) for e in a] == [(e.key, e.value) for e in b]
    assert [e.value for e in a] != [e.value for e in simulate_day(SOME_DAY, seed=4, keys=KEYS)]


def test_a_few_dozen_subjects_check_in_and_report_positions() -> None:
    events = simulate_days(SOME_DAY, 7, faults=False, keys=KEYS)
    kinds = Counter(e.kind for e in events)
    assert kinds["checkin"] >= 10 and kinds["location"] > 7000 and kinds["activity"] >= 5
    assert len({e.key for e in events}) == len(shengsi().subjects) >= 24
    assert events == sorted(events, key=lambda e: e.occurred_at)
    for e in events:
        kind: type[Any] = {"checkin": CheckIn, "location": LocationFix, "activity": Activity}[
            e.kind
        ]
        record = decode(e.value, kind)
        assert isinstance(record, kind)
        assert e.key == record.subject_id.encode()


def test_the_absconder_takes_the_ferry_out_of_the_county() -> None:
    county = Area(shengsi().county)
    fixes = [
        decode(e.value, LocationFix)
        for e in simulate_day(SOME_DAY, keys=KEYS)
        if e.key == ABSCONDER_ID.encode() and e.kind == "location"
    ]
    outside = [f for f in fixes if isinstance(f, LocationFix) and not county.contains(f.lat, f.lon)]
    assert outside and all(f.occurred_at.hour >= 13 for f in outside)
    others = [
        decode(e.value, LocationFix)
        for e in simulate_day(SOME_DAY, faults=False, keys=KEYS)
        if e.key != ABSCONDER_ID.encode() and e.kind == "location"
    ]
    assert all(
        isinstance(f, LocationFix) and county.contains(*to_wgs84(f.datum, f.lat, f.lon))
        for f in others
    )


def test_every_fifth_phone_reports_gcj02_and_the_door_converts_it() -> None:
    """Phones of subjects SS-0005, SS-0010... declare GCJ-02 and send their positions in
    it, some 480 m east-south-east of where they are; converted at the door, each subject's
    fixes centre on home like the WGS-84 phones' do."""
    homes = {p.id: (p.home_lat, p.home_lon) for p in shengsi().subjects}
    pipeline = Pipeline(registry(), load_ruleset(), ManualClock(T0 + timedelta(days=1)), 300)
    sent: dict[str, list[tuple[float, float]]] = defaultdict(list)
    kept: dict[str, list[tuple[float, float]]] = defaultdict(list)
    datums: Counter[str] = Counter()
    for e in simulate_day(SOME_DAY, faults=False, ferry=False, keys=KEYS):
        if e.kind != "location":
            continue
        fix = decode(e.value, LocationFix)
        valid = pipeline.validate_location(e.value, e.key)
        assert isinstance(fix, LocationFix) and isinstance(valid, LocationFix)
        assert fix.datum == phone_datum(fix.subject_id) and valid.datum == "wgs84"
        datums[fix.datum] += 1
        sent[fix.subject_id].append((fix.lat, fix.lon))
        kept[fix.subject_id].append((valid.lat, valid.lon))
    gcj = {s for s in homes if phone_datum(s) == "gcj02"}
    assert gcj == {s for s in homes if int(s[3:]) % 5 == 0} and len(gcj) >= 5
    assert datums["gcj02"] > 300 and datums["wgs84"] > 1000

    def centre(points: list[tuple[float, float]]) -> tuple[float, float]:
        return (fmean(p[0] for p in points), fmean(p[1] for p in points))

    for subject, home in homes.items():
        assert geodesic(centre(kept[subject]), home).m < 100, subject
        off = geodesic(centre(sent[subject]), home).m
        assert (300 < off < 700) if subject in gcj else (off < 100), (subject, off)


def test_faults_are_included_on_request() -> None:
    notes = [e.note for e in simulate_day(SOME_DAY, keys=KEYS) if e.note]
    assert {"undecodable", "timestamp without offset", "unknown subject"} <= set(notes)
    assert {"unsigned position", "forged position"} <= set(notes)


def test_terminals_and_phones_sign_what_they_send() -> None:
    pipeline = Pipeline(registry(), load_ruleset(), ManualClock(T0 + timedelta(days=1)), 300)
    steps = {"checkin": "checkins", "location": "locations", "activity": "activities"}
    reasons: Counter[str] = Counter()
    for e in simulate_day(SOME_DAY, keys=KEYS):
        result = pipeline.steps()[steps[e.kind]][0](e.value, e.key)
        reasons[result.reason if isinstance(result, Rejection) else "ok"] += 1
    assert reasons["unsigned"] == reasons["forged"] == 1
    assert reasons["ok"] > 2000 and sum(reasons.values()) - reasons["ok"] == 6
