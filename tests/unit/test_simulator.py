"""The simulated day is reproducible and follows the contract."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from alerts.clock import ManualClock
from alerts.geofence import Area
from ccwatch.reference import ABSCONDER_ID, shengsi
from models.events import Activity, CheckIn, LocationFix, Rejection, decode
from scoring.rules import load_ruleset
from streams.pipeline import Pipeline
from terminals.simulator import simulate_day, simulate_days
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
    assert all(isinstance(f, LocationFix) and county.contains(f.lat, f.lon) for f in others)


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
