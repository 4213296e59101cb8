"""The worker's per-record logic without Faust: validation to dead-letter reasons, decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from geopy.distance import geodesic

from alerts.clock import ManualClock
from alerts.geofence import Area
from ccwatch.reference import shengsi
from models.datum import wgs84_to_bd09, wgs84_to_gcj02
from models.events import LocationFix, RegisterChanged, Rejection, batch_of, encode
from models.signing import sign
from scoring.rules import load_ruleset
from streams.pipeline import EMPTY_STATE, Pipeline, SubjectState, dump_state, load_state
from streams.replay import LogRecord, replay
from tests.factories import INSIDE, OUTSIDE, T0, checkin, device_key, fix, payload, registry

M = timedelta(minutes=1)


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline(registry(), load_ruleset(), ManualClock(T0 + 60 * M), max_clock_skew_s=300)


def reason(result: object) -> str:
    assert isinstance(result, Rejection), result
    return result.reason


def test_valid_records_pass(pipeline: Pipeline) -> None:
    assert not isinstance(
        pipeline.validate_location(payload(fix(1, M, INSIDE)), b"SS-0007"), Rejection
    )
    assert not isinstance(pipeline.validate_checkin(payload(checkin(1, M)), b"SS-0001"), Rejection)


def test_unknown_subject(pipeline: Pipeline) -> None:
    event = fix(1, M, INSIDE, subject="SS-9999")
    assert reason(pipeline.validate_location(payload(event), b"SS-9999")) == "unknown_subject"


def test_unknown_terminal(pipeline: Pipeline) -> None:
    event = checkin(1, M, terminal="T-nowhere")
    assert reason(pipeline.validate_checkin(payload(event), b"SS-0001")) == "unknown_terminal"


@pytest.mark.parametrize("key", [None, b"SS-0008"])
def test_record_key_must_be_the_subject(pipeline: Pipeline, key: bytes | None) -> None:
    assert reason(pipeline.validate_location(payload(fix(1, M, INSIDE)), key)) == "key_mismatch"


def test_events_from_the_future_are_refused(pipeline: Pipeline) -> None:
    event = fix(1, 66 * M, INSIDE)  # 6 min ahead of the worker's clock, skew allows 5
    assert reason(pipeline.validate_location(payload(event), b"SS-0007")) == "timestamp_in_future"


# WGS-84, 29 m inside the county's east line (the reference outline, at sea: a fishing boat).
EAST_LINE = (30.700, 123.4197)


def test_a_gcj02_fix_is_judged_where_the_phone_really_was(pipeline: Pipeline) -> None:
    """A phone reporting GCJ-02 just inside the county line: converted at the door, it stays
    inside; its raw numbers taken as WGS-84 would lie some 440 m outside, beyond the accuracy
    circle and the hysteresis margin, and two such fixes would open out_of_bounds."""
    county = Area(shengsi().county)
    gcj = wgs84_to_gcj02(*EAST_LINE)
    assert county.contains(*EAST_LINE) and not county.contains(*gcj)
    assert 400 < county.distance_to_edge_m(*gcj) < 500
    converted, taken_raw = EMPTY_STATE, EMPTY_STATE
    for n in (1, 2):
        sent = fix(n, n * 5 * M, gcj, datum="gcj02", accuracy_m=10.0)
        valid = pipeline.validate_location(payload(sent), b"SS-0007")
        assert isinstance(valid, LocationFix) and valid.datum == "wgs84"
        assert geodesic((valid.lat, valid.lon), EAST_LINE).m < 0.01
        out = pipeline.apply_location(converted, valid)
        assert out.alerts == [] and out.rejected is None
        converted = out.state
        raw = pipeline.validate_location(
            payload(fix(n, n * 5 * M, gcj, accuracy_m=10.0)), b"SS-0007"
        )
        assert isinstance(raw, LocationFix)
        wrong = pipeline.apply_location(taken_raw, raw)
        taken_raw = wrong.state
    assert converted.detection.book.open == {}
    assert [(a.alert_type, a.transition) for a in wrong.alerts] == [("out_of_bounds", "opened")]


def test_a_bd09_fix_is_converted_at_the_door(pipeline: Pipeline) -> None:
    """Baidu's datum, some 1.1 km off around Shengsi, converts the same way."""
    sent = fix(1, M, wgs84_to_bd09(*INSIDE), datum="bd09")
    valid = pipeline.validate_location(payload(sent), b"SS-0007")
    assert isinstance(valid, LocationFix) and valid.datum == "wgs84"
    assert geodesic((valid.lat, valid.lon), INSIDE).m < 0.01
    assert geodesic((sent.lat, sent.lon), INSIDE).m > 900
    assert pipeline.validate_positions(payload(sent), b"SS-0007") == [valid]  # the map's


def test_the_fixes_of_a_batch_are_converted_each_by_its_own_datum(pipeline: Pipeline) -> None:
    sent = [
        fix(1, M, wgs84_to_bd09(*INSIDE), datum="bd09"),
        fix(2, 2 * M, INSIDE),
        fix(3, 3 * M, wgs84_to_gcj02(*INSIDE), datum="gcj02"),
    ]
    key = device_key("P-SS-0007", "SS-0007")
    got = pipeline.validate_locations(encode(sign(batch_of(sent), key)), b"SS-0007")
    assert isinstance(got, list) and len(got) == 3
    for one in got:
        assert isinstance(one, LocationFix) and one.datum == "wgs84"
        assert geodesic((one.lat, one.lon), INSIDE).m < 0.01


def test_decisions_are_kept_in_the_subject_state(pipeline: Pipeline) -> None:
    inside = pipeline.apply_location(EMPTY_STATE, fix(1, M, INSIDE))
    assert inside.alerts == [] and inside.state.detection.book == EMPTY_STATE.detection.book
    out = pipeline.apply_location(EMPTY_STATE, fix(2, 2 * M, OUTSIDE))
    assert [a.transition for a in out.alerts] == ["opened"]
    assert out.state.detection.book.open["out_of_bounds"].alert_id == out.alerts[0].alert_id
    scored = pipeline.apply_checkin(out.state, checkin(1, 3 * M, subject="SS-0007"))
    assert (
        scored.points
        and scored.state.detection.states["out_of_bounds"]
        == out.state.detection.states["out_of_bounds"]
    )


def test_state_survives_its_table_encoding(pipeline: Pipeline) -> None:
    state = pipeline.apply_location(EMPTY_STATE, fix(2, 2 * M, OUTSIDE)).state
    state = pipeline.apply_checkin(state, checkin(1, 3 * M, subject="SS-0007")).state
    assert load_state(dump_state(state)) == state
    assert load_state(None) == SubjectState()


def test_reloaded_registry_is_used(pipeline: Pipeline) -> None:
    event = payload(fix(1, M, INSIDE, subject="SS-0099"))
    assert reason(pipeline.validate_location(event, b"SS-0099")) == "unknown_subject"
    reg = registry()
    reg.subjects["SS-0099"] = reg.subjects["SS-0001"]
    reg.keys["P-SS-0099.k1"] = device_key("P-SS-0099", "SS-0099")
    pipeline.use(reg)
    assert not isinstance(pipeline.validate_location(event, b"SS-0099"), Rejection)


def test_a_register_change_is_told_only_without_a_key(pipeline: Pipeline) -> None:
    """In an input's log a register change has no key (a terminal's record always has one);
    replay skips it rather than count it as bad input."""
    change = RegisterChanged(event_id="rc-1", change="leave.approve", occurred_at=T0 + M)
    assert pipeline.told(None, encode(change)) == change
    assert pipeline.told(b"SS-0007", encode(change)) is None
    assert pipeline.told(None, payload(fix(1, M, INSIDE))) is None
    records = [
        LogRecord("locations", None, encode(change)),
        LogRecord("locations", b"SS-0007", payload(fix(1, M, INSIDE))),
    ]
    result = replay(records, pipeline, None)
    assert result.applied == 1 and result.rejected == {}
