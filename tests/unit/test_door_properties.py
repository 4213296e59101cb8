"""Hostile payloads as a property: whatever bytes arrive, every validator answers (a record
or a reason, never an exception), and a record it accepts is one the database and the
producer take: no control characters, every field and the whole within the limits, its
event time within the plausible window."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.clock import ManualClock
from models import limits
from models.events import Rejection, Tick, encode
from scoring.rules import load_ruleset
from streams.pipeline import Pipeline
from tests.factories import T0, inputs, registry

NOW = T0 + timedelta(hours=1)
PIPELINE = Pipeline(registry(), load_ruleset(), ManualClock(NOW), max_clock_skew_s=300)
VALIDATORS = {name: validate for name, (validate, _) in PIPELINE.steps().items()}
RECORDS = inputs(timedelta(minutes=1))
HOLE = "\u2603hole\u2603"
CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.just("\x7f")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)
stamps = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+23:59",
        "1900-01-01T00:00:00+08:00",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-23:59",
        "2026-11-29T12:00:00",
        (NOW - timedelta(days=399)).isoformat(),
        (NOW + timedelta(seconds=299)).isoformat(),
    ]
)
raw_values = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.text(CONTROL | st.characters(), max_size=12).map(lambda t: json.dumps(t).encode()),
    st.integers(1, 1_100_000).map(lambda n: b'"' + b"x" * n + b'"'),
    st.integers(10, 3_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(10, 3_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    stamps.map(lambda s: json.dumps(s).encode()),
    st.sampled_from([b"1" + b"0" * 400, b"1e400", b"-1e-400", b"-0", b'"\xff\xfe"', b"NaN"]),
)


@st.composite
def hostile(draw: st.DrawFn) -> tuple[str, bytes, bytes | None]:
    """A topic, a payload and a key: a valid record with one field (or a new one) made
    hostile, or bytes of any kind."""
    name = draw(st.sampled_from(sorted(VALIDATORS)))
    key = draw(st.sampled_from([b"SS-0001", None, b"\x00", b"SS-0001" * 2000]))
    if draw(st.integers(0, 9)) == 0:
        return name, draw(st.binary(max_size=300)), key
    fields = dict(RECORDS[name])
    field = draw(st.sampled_from([*fields, "vendor_x"]))
    fields[field] = HOLE
    text = json.dumps(fields).encode().replace(json.dumps(HOLE).encode(), draw(raw_values))
    return name, text, key


def check_accepted(record: Any) -> None:
    assert limits.control_character(record) is None
    assert len(encode(record)) <= limits.MAX_RECORD_BYTES
    for name, value in msgspec.structs.asdict(record).items():
        if isinstance(value, str):
            assert len(value) <= (limits.MAX_NOTE if name in limits.FREE_TEXT else limits.MAX_ID)
    when = record.at if isinstance(record, Tick) else record.occurred_at
    assert NOW - timedelta(days=400) <= when <= NOW + timedelta(seconds=300)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile())
def test_validators_never_raise_and_accept_only_what_fits(case: tuple[str, bytes, Any]) -> None:
    name, payload, key = case
    result = VALIDATORS[name](payload, key)
    if not isinstance(result, Rejection):
        check_accepted(result)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=200), raw_values), stamps)
def test_control_records_never_raise(payload: bytes, at: str) -> None:
    for candidate in (payload, json.dumps({"type": "tick", "event_id": "t", "at": at}).encode()):
        result = PIPELINE.validate_control(candidate)
        if not isinstance(result, Rejection):
            check_accepted(result)
