"""Validation at the door: what the database or the producer would reject is dead-lettered
with a reason when the record is validated, for every input type, and nothing raises."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from alerts.clock import ManualClock
from models.events import Rejection, Tick, encode
from models.limits import MAX_DEPTH, MAX_RECORD_BYTES
from scoring.rules import load_ruleset
from streams.control import close_record
from streams.pipeline import EMPTY_STATE, Pipeline
from tests.factories import INSIDE, OUTSIDE, T0, checkin, fix, inputs, registry

M = timedelta(minutes=1)
NOW = T0 + 60 * M
Validate = Callable[[bytes, bytes | None], Any]


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline(registry(), load_ruleset(), ManualClock(NOW), max_clock_skew_s=300)


def reason(result: object) -> str:
    assert isinstance(result, Rejection), result
    return result.reason


def every_input(pipeline: Pipeline) -> list[tuple[str, Validate, dict[str, Any]]]:
    """(topic, validator, a valid record as JSON fields) for every input topic."""
    records = inputs(M)
    return [(name, pipeline.steps()[name][0], records[name]) for name in records]


def raw(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode()


def test_every_input_has_a_valid_example(pipeline: Pipeline) -> None:
    assert {name for name, _, _ in every_input(pipeline)} == set(pipeline.steps())
    for _, validate, fields in every_input(pipeline):
        assert not isinstance(validate(raw(fields), b"SS-0001"), Rejection)


def test_a_record_over_the_size_limit_is_refused_before_decoding(pipeline: Pipeline) -> None:
    for _, validate, fields in every_input(pipeline):
        big = raw(fields | {"vendor_blob": "x" * MAX_RECORD_BYTES})
        assert reason(validate(big, b"SS-0001")) == "record_too_large"
        huge_id = raw(fields | {"event_id": "e" * 1_000_000})
        assert reason(validate(huge_id, b"SS-0001")) == "record_too_large"


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x1f", "\x7f", "\n", "\t"])
def test_control_characters_are_refused_in_every_string_field(
    pipeline: Pipeline, char: str
) -> None:
    for name, validate, fields in every_input(pipeline):
        for field in ("event_id", "subject_id", "terminal_id", "device_id", "officer_id"):
            if field in fields:
                bad = raw(fields | {field: f"a{char}b"})
                assert reason(validate(bad, b"SS-0001")) == "control_character", (name, field)


def test_raw_del_characters_are_refused_too(pipeline: Pipeline) -> None:
    _, validate, fields = every_input(pipeline)[0]
    bad = raw(fields).replace(b'"SS-0001"', b'"SS-0001\x7f"', 1)
    assert reason(validate(bad, b"SS-0001")) == "control_character"


def test_officers_notes_keep_line_breaks_and_tabs_but_no_other_control(
    pipeline: Pipeline,
) -> None:
    for name in ("decisions", "alert-actions"):
        validate, fields = pipeline.steps()[name][0], inputs(M)[name]
        ok = validate(raw(fields | {"note": "第一行\r\n第二行\tend"}), b"SS-0001")
        assert not isinstance(ok, Rejection)
        for char in ("\x00", "\x07", "\x7f"):
            bad = raw(fields | {"note": f"bad{char}note"})
            assert reason(validate(bad, b"SS-0001")) == "control_character"
        too_long = raw(fields | {"note": "长" * 2001})
        assert reason(validate(too_long, b"SS-0001")) == "schema_violation"


@pytest.mark.parametrize("depth", [40, 1_000, 30_000])
def test_deep_nesting_is_refused_and_never_raises(pipeline: Pipeline, depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    for _, validate, fields in every_input(pipeline):
        for field in ("vendor_x", "event_id"):
            body = raw(fields | {field: "@@"}).replace(b'"@@"', nested)
            assert reason(validate(body, b"SS-0001")) == "too_deeply_nested"


def test_nesting_up_to_the_limit_passes(pipeline: Pipeline) -> None:
    _, validate, fields = every_input(pipeline)[0]
    nested = b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1)  # in the record's own object
    body = raw(fields | {"vendor_x": "@@"}).replace(b'"@@"', nested)
    assert not isinstance(validate(body, b"SS-0001"), Rejection)
    deeper = raw(fields | {"vendor_x": "@@"}).replace(b'"@@"', b"[" + nested + b"]")
    assert reason(validate(deeper, b"SS-0001")) == "too_deeply_nested"


def test_brackets_inside_strings_are_not_nesting(pipeline: Pipeline) -> None:
    validate, fields = pipeline.steps()["decisions"][0], inputs(M)["decisions"]
    ok = validate(raw(fields | {"note": "[" * 500 + "{" * 500}), b"SS-0001")
    assert not isinstance(ok, Rejection)


@pytest.mark.parametrize("value", [None, b"", b"\xff\xfe", b"[]", b"1e999999", "text"])
def test_anything_else_is_undecodable(pipeline: Pipeline, value: Any) -> None:
    for _, validate, _ in every_input(pipeline):
        assert reason(validate(value, b"SS-0001")) in {"undecodable", "schema_violation"}


@pytest.mark.parametrize(
    ("when", "why"),
    [
        ("0001-01-01T00:00:00+00:00", "timestamp_too_old"),
        ("1900-01-01T08:00:00+08:00", "timestamp_too_old"),
        ((NOW - timedelta(days=401)).isoformat(), "timestamp_too_old"),
        ("9999-12-31T23:59:59+00:00", "timestamp_in_future"),
        ("9999-12-31T23:59:59-23:59", "timestamp_in_future"),
        ("0001-01-01T00:00:00+23:59", "timestamp_too_old"),
    ],
)
def test_timestamps_outside_the_plausible_window(pipeline: Pipeline, when: str, why: str) -> None:
    for _, validate, fields in every_input(pipeline):
        assert reason(validate(raw(fields | {"occurred_at": when}), b"SS-0001")) in {
            why,
            "schema_violation",  # Python cannot hold every offset of a year-1 or 9999 date
        }


def test_the_oldest_and_newest_plausible_timestamps_pass(pipeline: Pipeline) -> None:
    for when in (NOW - timedelta(days=399, hours=23), NOW + timedelta(seconds=299)):
        for name, fields in inputs(when - T0).items():
            validate = pipeline.steps()[name][0]
            assert not isinstance(validate(raw(fields), b"SS-0001"), Rejection)


def test_the_age_bound_is_a_setting() -> None:
    strict = Pipeline(registry(), load_ruleset(), ManualClock(NOW), 300, max_event_age_s=3600)
    old = encode(fix(1, -2 * 60 * M, INSIDE))
    assert reason(strict.validate_location(old, b"SS-0007")) == "timestamp_too_old"


def test_control_records_are_checked_too(pipeline: Pipeline) -> None:
    def tick(at: str, event_id: str = "t") -> bytes:
        return raw({"type": "tick", "event_id": event_id, "at": at})

    assert isinstance(pipeline.validate_control(tick(NOW.isoformat())), Tick)
    assert reason(pipeline.validate_control(tick("0001-01-01T00:00:00Z"))) == "timestamp_too_old"
    assert reason(pipeline.validate_control(tick("9999-01-01T00:00:00Z"))) == "timestamp_in_future"
    assert reason(pipeline.validate_control(tick(NOW.isoformat(), "t\x00"))) == (
        "control_character"
    )
    assert reason(pipeline.validate_control(b"{" * 50_000)) == "too_deeply_nested"
    closing = encode(close_record("2026-11", "t"))  # the month is not over: an early close
    assert not isinstance(pipeline.validate_control(closing), Rejection)
    ancient = encode(close_record("0001-01", "t"))
    assert reason(pipeline.validate_control(ancient)) == "timestamp_too_old"
    far = encode(close_record("9998-12", "t"))
    assert reason(pipeline.validate_control(far)) == "timestamp_in_future"
    for month in ("9999-12", "0000-01"):
        record = raw({"type": "month_close", "event_id": "c", "month": month,
                      "requested_by": "t", "occurred_at": NOW.isoformat()})  # fmt: skip
        assert reason(pipeline.validate_control(record)) == "schema_violation"


def test_the_core_takes_the_extreme_timestamps_that_pass(pipeline: Pipeline) -> None:
    """A new subject's first record at the oldest accepted time, then today's."""
    oldest, newest = NOW - timedelta(days=399, hours=23), NOW + timedelta(seconds=299)
    for first in (oldest, newest):
        for who in ("SS-0007", "SS-0010"):
            old = fix(1, first - T0, OUTSIDE, subject=who)
            state = pipeline.apply_location(EMPTY_STATE, old).state
            state = pipeline.apply_checkin(state, checkin(2, first - T0, subject=who)).state
            state = pipeline.apply_location(state, fix(3, M, INSIDE, subject=who)).state
            pipeline.tick(state, who, Tick(event_id="t", at=NOW + timedelta(days=2)))
