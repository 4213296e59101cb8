"""Authenticated terminals: kiosks, phones and bracelets sign their records; what is not
signed by a key of its own device, in force at the record's time, is dead-lettered."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from alerts.clock import ManualClock
from models.events import Activity, CheckIn, DeviceEvent, LocationFix, Rejection, decode, encode
from models.signing import canonical, sign, signing_keys, verify
from models.values import DeviceKey
from scoring.rules import load_ruleset
from streams.pipeline import Pipeline, in_wgs84
from tests.factories import (
    INSIDE,
    T0,
    activity,
    checkin,
    device,
    device_key,
    fix,
    registry,
    signed,
)

M = timedelta(minutes=1)
NOW = T0 + 60 * M


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline(registry(), load_ruleset(), ManualClock(NOW), max_clock_skew_s=300)


def validate(pipeline: Pipeline, record: Any, raw: bytes | None = None) -> Any:
    names: dict[type[Any], str] = {
        CheckIn: "checkins",
        LocationFix: "locations",
        Activity: "activities",
        DeviceEvent: "devices",
    }
    name = names[type(record)]
    return pipeline.steps()[name][0](raw or encode(record), record.subject_id.encode())


def reason(result: object) -> str:
    assert isinstance(result, Rejection), result
    return result.reason


SIGNED = [
    checkin(1, M),
    activity(1, M, "study", 2.0),
    fix(1, M, INSIDE),
    device(1, M),
]


@pytest.mark.parametrize("record", SIGNED, ids=lambda r: type(r).__name__)
def test_signed_records_pass_and_unsigned_ones_are_refused(pipeline: Pipeline, record: Any) -> None:
    assert not isinstance(validate(pipeline, record), Rejection)
    bare = msgspec.structs.replace(record, key_id=None, sig=None)
    assert reason(validate(pipeline, bare)) == "unsigned"
    assert reason(validate(pipeline, msgspec.structs.replace(record, sig=None))) == "unsigned"


@pytest.mark.parametrize("record", SIGNED, ids=lambda r: type(r).__name__)
def test_a_changed_record_fails_its_signature(pipeline: Pipeline, record: Any) -> None:
    later = msgspec.structs.replace(record, occurred_at=record.occurred_at + M)
    assert reason(validate(pipeline, later)) == "forged"
    other = msgspec.structs.replace(record, sig="0" * 64)
    assert reason(validate(pipeline, other)) == "forged"


def test_the_signature_ignores_whitespace_field_order_and_unknown_fields(
    pipeline: Pipeline,
) -> None:
    record = fix(1, M, INSIDE)
    fields = json.loads(encode(record))
    shuffled = dict(reversed(fields.items())) | {"vendor_x": {"firmware": "2.1"}}
    raw = json.dumps(shuffled, indent=2).encode()
    raw = raw.replace(b'"accuracy_m": 15.0', b'"accuracy_m": 15')  # a number as a vendor writes it
    assert not isinstance(validate(pipeline, record, raw), Rejection)


def test_a_subject_cannot_post_for_himself_or_another(pipeline: Pipeline) -> None:
    phone = device_key("P-SS-0007", "SS-0007")
    # His phone's key does not make a check-in (a kiosk's record) valid.
    own_checkin = sign(checkin(1, M, subject="SS-0007"), phone)
    assert reason(validate(pipeline, own_checkin)) == "forged"
    # Nor a fix of another subject, even naming his own phone as the device.
    other = sign(fix(1, M, INSIDE, subject="SS-0008", device_id="P-SS-0007"), phone)
    assert reason(validate(pipeline, other)) == "forged"
    # Nor a fix naming another subject's phone.
    borrowed = sign(fix(1, M, INSIDE, subject="SS-0008"), phone)
    assert reason(validate(pipeline, borrowed)) == "forged"
    # A kiosk's key signs check-ins for anyone, but not positions.
    kiosk = device_key("T-caiyuan-1")
    assert reason(validate(pipeline, sign(fix(1, M, INSIDE, device_id="T-caiyuan-1"), kiosk))) == (
        "forged"
    )


def test_unknown_keys_are_refused(pipeline: Pipeline) -> None:
    stranger = device_key("P-SS-0007", "SS-0007", n=9)
    assert reason(validate(pipeline, sign(fix(1, M, INSIDE), stranger))) == "unknown_key"


def test_rotation_without_a_restart(pipeline: Pipeline) -> None:
    """Enrol a second key, the phone switches, the first is retired: each registry refresh
    takes effect at once; records are judged by their own time against the retirement."""
    new = device_key("P-SS-0007", "SS-0007", n=2)
    assert reason(validate(pipeline, signed(fix(1, M, INSIDE), n=2))) == "unknown_key"
    reg = registry()
    reg.keys[new.key_id] = new
    pipeline.use(reg)
    assert not isinstance(validate(pipeline, signed(fix(1, M, INSIDE), n=2)), Rejection)
    assert not isinstance(validate(pipeline, signed(fix(2, M, INSIDE))), Rejection)
    old = reg.keys["P-SS-0007.k1"]
    reg.keys[old.key_id] = replace(old, retired_at=T0 + 30 * M)
    pipeline.use(reg)
    before, after = signed(fix(3, 29 * M, INSIDE)), signed(fix(4, 30 * M, INSIDE))
    assert not isinstance(validate(pipeline, before), Rejection)  # buffered, sent late
    assert reason(validate(pipeline, after)) == "retired_key"
    assert signing_keys(reg.keys.values(), NOW)["P-SS-0007"].key_id == new.key_id


def test_a_forged_copy_of_a_retired_key_record_is_still_forged(pipeline: Pipeline) -> None:
    reg = registry()
    old = reg.keys["P-SS-0007.k1"]
    reg.keys[old.key_id] = replace(old, retired_at=T0)
    pipeline.use(reg)
    bad = msgspec.structs.replace(signed(fix(1, M, INSIDE)), lat=31.0)
    assert reason(validate(pipeline, bad)) == "forged"


def test_secrets_and_signatures_are_never_shown() -> None:
    key = device_key("P-SS-0007", "SS-0007")
    record = signed(fix(1, M, INSIDE))
    assert key.secret.hex() not in repr(key) and str(key.secret) not in repr(key)
    for bad in (
        msgspec.structs.replace(record, lat=31.0),
        msgspec.structs.replace(record, key_id="P-SS-0008.k1"),
    ):
        why = verify(bad, registry().keys)
        assert why is not None and record.sig is not None and record.sig not in why.detail


def test_the_canonical_form_names_the_type_and_leaves_out_the_signature() -> None:
    record = signed(checkin(1, M))
    text = canonical(record)
    assert text.startswith(b"ccwatch/v1/checkin\n") and b'"sig"' not in text
    body = json.loads(text.split(b"\n", 1)[1])
    assert list(body) == sorted(body) and body["key_id"] == "T-caiyuan-1.k1"


def test_the_contracts_example_signature() -> None:
    """docs/contract.md gives vendors a test vector: the canonical form and the signature."""
    doc = (Path(__file__).parents[2] / "docs" / "contract.md").read_text("utf-8")
    raw = (
        b'{"event_id": "k7-20261130-000153", "subject_id": "SS-0007", '
        b'"terminal_id": "T-caiyuan-1", "occurred_at": "2026-11-30T09:05:00+08:00", '
        b'"method": "face", "match_score": 0.93, "lat": 30.712, "lon": 122.451}'
    )
    record = decode(raw, CheckIn)
    assert isinstance(record, CheckIn)
    key = DeviceKey("T-caiyuan-1.k1", "T-caiyuan-1", None, bytes(range(32)))
    example = sign(record, key)
    assert canonical(example).decode() in doc
    assert f'"sig": "{example.sig}"' in doc
    assert verify(example, {key.key_id: key}) is None


def test_a_record_is_signed_as_the_worker_decodes_it(pipeline: Pipeline) -> None:
    """Whole numbers given for number fields are signed as the floats they decode to."""
    record = signed(msgspec.structs.replace(activity(1, M, "study"), hours=12))
    assert not isinstance(validate(pipeline, record), Rejection)


# Contract v1.1: a fix's datum ----------------------------------------------------------
def test_a_v1_devices_signature_still_verifies(pipeline: Pipeline) -> None:
    """A v1 phone knows no ``datum``: its record, signed by the v1 implementation (this
    signature was computed by it), still verifies, and is WGS-84."""
    raw = (
        b'{"event_id": "p-SS-0007-88412", "subject_id": "SS-0007", "device_id": "P-SS-0007", '
        b'"occurred_at": "2026-11-29T12:01:00+08:00", "lat": 30.712, "lon": 122.451, '
        b'"accuracy_m": 12.0, "source": "gps", "battery_pct": 61, "key_id": "P-SS-0007.k1", '
        b'"sig": "4817801b75c19cc552ba538609ecf25bcc091d64b22a56fd15c5b16aad913745"}'
    )
    record = decode(raw, LocationFix)
    assert isinstance(record, LocationFix) and record.datum == "wgs84"
    assert b"datum" not in canonical(record)
    valid = validate(pipeline, record, raw)
    assert isinstance(valid, LocationFix) and (valid.lat, valid.lon) == (30.712, 122.451)
    # Declaring the default explicitly is the same record, with the same signature.
    explicit = raw.replace(b'"source": "gps"', b'"source": "gps", "datum": "wgs84"')
    assert not isinstance(validate(pipeline, record, explicit), Rejection)


def test_the_declared_datum_is_signed_and_converted_after_verification(
    pipeline: Pipeline,
) -> None:
    """The datum is part of what a device signs: changing it (which would move the position
    by hundreds of metres) fails the signature. The worker verifies the record as sent and
    only then converts it to WGS-84."""
    sent = fix(1, M, INSIDE, datum="gcj02")
    assert b'"datum":"gcj02"' in canonical(sent)
    for other in ("wgs84", "bd09"):
        changed = msgspec.structs.replace(sent, datum=other)
        assert reason(validate(pipeline, changed)) == "forged"
    valid = validate(pipeline, sent)
    assert isinstance(valid, LocationFix) and valid.datum == "wgs84"
    assert (valid.lat, valid.lon) != (sent.lat, sent.lon) and valid.sig == sent.sig
    assert verify(valid, registry().keys) is not None  # the converted record is not as sent


def test_the_contracts_gcj02_example_signature(pipeline: Pipeline) -> None:
    """docs/contract.md gives vendors a fix in GCJ-02: its canonical form and signature, and
    the WGS-84 position the worker keeps."""
    doc = (Path(__file__).parents[2] / "docs" / "contract.md").read_text("utf-8")
    raw = (
        b'{"event_id": "p-SS-0007-88530", "subject_id": "SS-0007", "device_id": "P-SS-0007",\n'
        b' "occurred_at": "2026-11-30T14:05:00+08:00", "lat": 30.70984, "lon": 122.455319,\n'
        b' "datum": "gcj02", "accuracy_m": 8.0, "source": "gps", "battery_pct": 58}'
    )
    assert raw.decode() in doc
    record = decode(raw, LocationFix)
    assert isinstance(record, LocationFix)
    key = DeviceKey("P-SS-0007.k1", "P-SS-0007", "SS-0007", bytes(range(32)))
    example = sign(record, key)
    assert canonical(example).decode() in doc
    assert f'"sig": "{example.sig}"' in doc
    assert verify(example, {key.key_id: key}) is None
    kept = in_wgs84(example)
    assert isinstance(kept, LocationFix)
    assert f"{kept.lat:.9f}, {kept.lon:.9f}" in doc
