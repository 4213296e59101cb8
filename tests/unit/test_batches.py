"""Batched location uploads (contract v1.1): one record carries a device's fixes; each fix
is judged as if sent on its own, and a malformed one is refused alone, with its index."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
import pytest

from alerts.clock import ManualClock
from models.events import LocationBatch, LocationFix, Rejection, batch_of, encode
from models.limits import MAX_BATCH_FIXES
from models.signing import sign
from scoring.rules import load_ruleset
from streams.pipeline import EMPTY_STATE, Pipeline
from streams.replay import replay
from streams.topics import TopicNames
from terminals.producer import log_records
from terminals.simulator import SimEvent, batched, simulate_day, with_ticks
from tests.factories import INSIDE, OUTSIDE, SOME_DAY, T0, device_key, fix, keyring, registry

M = timedelta(minutes=1)
WHO = "SS-0007"
KEY = device_key(f"P-{WHO}", WHO)


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline(registry(), load_ruleset(), ManualClock(T0 + 60 * M), max_clock_skew_s=300)


def fixes(n: int, where: tuple[float, float] = INSIDE) -> list[LocationFix]:
    return [fix(i, i * M, where) for i in range(1, n + 1)]


def upload(batch: LocationBatch, signed: bool = True) -> bytes:
    return encode(sign(batch, KEY) if signed else batch)


def check(pipeline: Pipeline, payload: bytes, key: bytes = WHO.encode()) -> Any:
    return pipeline.validate_locations(payload, key)


def test_a_batch_gives_each_fix_as_if_sent_alone(pipeline: Pipeline) -> None:
    sent = fixes(3)
    got = check(pipeline, upload(batch_of(sent)))
    assert isinstance(got, list) and len(got) == 3
    for one, alone in zip(got, sent, strict=True):
        assert isinstance(one, LocationFix)
        assert msgspec.structs.replace(one, sig=None) == msgspec.structs.replace(alone, sig=None)
    single = check(pipeline, encode(sent[0]))
    assert isinstance(single, LocationFix)  # v1 single fixes keep working


def test_a_malformed_fix_is_refused_alone_with_its_index(pipeline: Pipeline) -> None:
    batch = batch_of(fixes(4))
    raw = [dict(f) for f in batch.fixes]
    raw[1]["lat"] = 100.0  # out of range
    raw[2]["occurred_at"] = "2026-11-29T09:00:00"  # no offset
    raw[3]["event_id"] = "bad\x00id"
    raw.append("not a fix")  # type: ignore[arg-type]
    got = check(pipeline, upload(msgspec.structs.replace(batch, fixes=raw)))
    assert got[4].reason == "schema_violation" and got[4].detail.startswith("fixes[4]")
    assert isinstance(got[0], LocationFix)
    reasons = [(r.reason, r.detail.split(":")[0]) for r in got[1:]]
    assert reasons[0] == ("coordinates_out_of_range", "fixes[1]")
    assert reasons[1][0] == "timestamp_without_offset" and reasons[1][1] == "fixes[2]"
    assert got[3].reason == "control_character" and "fixes[3]" in got[3].detail


def test_a_fix_too_far_in_the_future_is_refused_alone(pipeline: Pipeline) -> None:
    sent = [*fixes(2), fix(9, 3 * 60 * M, INSIDE)]  # 2 h after the clock
    got = check(pipeline, upload(batch_of(sent)))
    assert [type(g) for g in got[:2]] == [LocationFix, LocationFix]
    assert isinstance(got[2], Rejection) and got[2].reason == "timestamp_in_future"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: b, "unsigned"),
        (lambda b: msgspec.structs.replace(b, fixes=b.fixes[:1]), "forged"),  # a fix dropped
        (lambda b: msgspec.structs.replace(b, subject_id="SS-0001"), "key_mismatch"),
        (lambda b: msgspec.structs.replace(b, fixes=[]), "schema_violation"),
    ],
)
def test_a_wrong_envelope_refuses_the_batch(pipeline: Pipeline, change: Any, reason: str) -> None:
    batch = batch_of(fixes(2))
    if reason == "unsigned":
        payload = upload(batch, signed=False)
    else:
        signed = sign(batch, KEY)
        payload = encode(change(signed))
    got = check(pipeline, payload)
    assert isinstance(got, Rejection) and got.reason == reason, got


def test_a_batch_holds_at_most_the_documented_number_of_fixes(pipeline: Pipeline) -> None:
    many = [fix(i, i * timedelta(seconds=1), INSIDE) for i in range(MAX_BATCH_FIXES + 1)]
    got = check(pipeline, upload(batch_of(many)))
    assert isinstance(got, Rejection) and got.reason in ("schema_violation", "record_too_large")
    assert isinstance(check(pipeline, upload(batch_of(many[:MAX_BATCH_FIXES]))), list)


def test_a_batch_decides_what_its_fixes_decide_sent_alone(pipeline: Pipeline) -> None:
    """Out of the county for 30 minutes: the same alerts, one upload or thirty records."""
    sent = fixes(30, OUTSIDE)
    alone, state = [], EMPTY_STATE
    for one in sent:
        out = pipeline.apply_location(state, one)
        alone += out.alerts
        state = out.state
    batched, state = [], EMPTY_STATE
    for one in check(pipeline, upload(batch_of(sent))):
        out = pipeline.apply_location(state, one)
        batched += out.alerts
        state = out.state
    assert alone and [a.alert_id for a in batched] == [a.alert_id for a in alone]
    assert [a.transition for a in batched] == [a.transition for a in alone]


def test_a_simulated_day_uploaded_in_batches_decides_as_sent_singly() -> None:
    """The simulator's day (faults, the absconder's ferry), its phones uploading hourly:
    replayed, the same alerts and points as with every fix sent on its own."""
    events = simulate_day(SOME_DAY, 7, faults=True, ferry=True, keys=keyring())
    uploads = batched(events, timedelta(hours=1), keyring())
    assert sum(e.kind == "location" for e in uploads) < sum(e.kind == "location" for e in events)
    singly, in_batches = decided(events), decided(uploads)
    assert singly[0] and singly == in_batches


def decided(events: list[SimEvent]) -> tuple[list[tuple[str, str]], list[str]]:
    alerts: list[tuple[str, str]] = []
    points: list[str] = []

    class Sink:
        def write_alerts(self, rows: list[Any]) -> int:
            alerts.extend((a.alert_id, a.transition) for a in rows)
            return len(rows)

        def write_points(self, rows: list[Any]) -> int:
            points.extend(p.entry_id for p in rows)
            return len(rows)

        def write_recommendations(self, rows: list[Any]) -> int:
            return len(rows)

    end = max(e.occurred_at for e in events)
    p = Pipeline(registry(), load_ruleset(), ManualClock(end), max_clock_skew_s=300)
    replay(log_records(TopicNames("ccwatch"), with_ticks(events, 5 * M, 1)), p, Sink())  # type: ignore[arg-type]
    return sorted(alerts), sorted(points)
