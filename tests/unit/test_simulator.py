"""The simulated day is reproducible and follows the contract."""

from __future__ import annotations

from collections import Counter
from typing import Any

from alerts.geofence import Area
from ccwatch.reference import ABSCONDER_ID, shengsi
from models.events import Activity, CheckIn, LocationFix, decode
from terminals.simulator import simulate_day, simulate_days
from tests.factories import SOME_DAY


def test_same_seed_and_day_same_bytes() -> None:
    a, b = simulate_day(SOME_DAY, seed=3), simulate_day(SOME_DAY, seed=3)
    assert [(e.key, e.value) for e in a] == [(e.key, e.value) for e in b]
    assert [e.value for e in a] != [e.value for e in simulate_day(SOME_DAY, seed=4)]


def test_a_few_dozen_subjects_check_in_and_report_positions() -> None:
    events = simulate_days(SOME_DAY, 7, faults=False)
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
        for e in simulate_day(SOME_DAY)
        if e.key == ABSCONDER_ID.encode() and e.kind == "location"
    ]
    outside = [f for f in fixes if isinstance(f, LocationFix) and not county.contains(f.lat, f.lon)]
    assert outside and all(f.occurred_at.hour >= 13 for f in outside)
    others = [
        decode(e.value, LocationFix)
        for e in simulate_day(SOME_DAY, faults=False)
        if e.key != ABSCONDER_ID.encode() and e.kind == "location"
    ]
    assert all(isinstance(f, LocationFix) and county.contains(f.lat, f.lon) for f in others)


def test_faults_are_included_on_request() -> None:
    notes = [e.note for e in simulate_day(SOME_DAY) if e.note]
    assert {"undecodable", "timestamp without offset", "unknown subject"} <= set(notes)
