"""Wire contract v1.1: decoding, reason codes, and the published JSON Schema files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.events import CheckIn, LocationFix, Rejection, decode, encode, json_schemas
from tests.factories import INSIDE, T0, checkin, fix

SCHEMAS = Path(__file__).parents[2] / "docs" / "schemas"
GOOD_FIX = (
    b'{"event_id":"e1","subject_id":"SS-0001","device_id":"P1",'
    b'"occurred_at":"2026-11-29T12:00:00+08:00","lat":30.71,"lon":122.45,'
    b'"accuracy_m":12.5,"source":"gps","battery_pct":80}'
)


def test_a_valid_fix_decodes_with_its_offset() -> None:
    event = decode(GOOD_FIX, LocationFix)
    assert isinstance(event, LocationFix)
    assert event.occurred_at == T0 and event.occurred_at.utcoffset() is not None


def test_a_fix_without_a_datum_is_wgs84_as_in_v1() -> None:
    """Contract v1.1 adds ``datum``; a v1 record has none and means WGS-84."""
    event = decode(GOOD_FIX, LocationFix)
    assert isinstance(event, LocationFix) and event.datum == "wgs84"
    for name in ("wgs84", "gcj02", "bd09"):
        declared = decode(GOOD_FIX[:-1] + b',"datum":"%s"}' % name.encode(), LocationFix)
        assert isinstance(declared, LocationFix) and declared.datum == name
        assert (declared.lat, declared.lon) == (30.71, 122.45)  # decoded as sent


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    assert isinstance(decode(GOOD_FIX[:-1] + b',"vendor_x":1}', LocationFix), LocationFix)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ((b"+08:00", b""), "timestamp_without_offset"),
        ((b'"lat":30.71', b'"lat":122.45'), "coordinates_out_of_range"),
        ((b'"lon":122.45', b'"lon":-190'), "coordinates_out_of_range"),
        ((b'"source":"gps"', b'"source":"radar"'), "schema_violation"),
        ((b'"source":"gps"', b'"source":"gps","datum":"WGS-84"'), "schema_violation"),
        ((b'"source":"gps"', b'"source":"gps","datum":null'), "schema_violation"),
        ((b'"lat":30.71', b'"lat":"north"'), "schema_violation"),
        ((b'"event_id":"e1",', b""), "schema_violation"),
        ((b'"accuracy_m":12.5', b'"accuracy_m":-1'), "schema_violation"),
        ((b"{", b"\xff\xfe{"), "undecodable"),
    ],
)
def test_bad_records_get_a_reason(change: tuple[bytes, bytes], reason: str) -> None:
    rejected = decode(GOOD_FIX.replace(*change), LocationFix)
    assert isinstance(rejected, Rejection)
    assert rejected.reason == reason and rejected.detail


def test_records_round_trip() -> None:
    for event in (checkin(1, T0 - T0), fix(1, T0 - T0, INSIDE)):
        assert decode(encode(event), type(event)) == event


def test_checkin_match_score_is_bounded() -> None:
    bad = encode(checkin(1, T0 - T0)).replace(b'"match_score":0.95', b'"match_score":1.5')
    assert isinstance(decode(bad, CheckIn), Rejection)


def test_published_schema_files_match_the_code() -> None:
    for name, schema in json_schemas().items():
        path = SCHEMAS / f"{name}.json"
        assert path.exists(), f"{path} missing: run `ccwatch schemas`"
        assert json.loads(path.read_text("utf-8")) == schema, f"{path} stale: `ccwatch schemas`"


def test_schemas_demand_an_offset_and_ranges() -> None:
    location = json_schemas()["location.v1"]["properties"]
    assert location["lat"]["minimum"] == -90 and location["lon"]["maximum"] == 180
    assert location["occurred_at"]["format"] == "date-time"
    assert location["occurred_at"]["pattern"].endswith("$")
    assert set(location["datum"]["enum"]) == {"wgs84", "gcj02", "bd09"}
    assert location["datum"]["default"] == "wgs84"
    assert "datum" not in json_schemas()["location.v1"]["required"]
