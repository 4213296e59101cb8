"""Event ids: a repeat is a duplicate (ignored), the same id with other content a conflict
(dead-lettered, the first stays); ids are scoped per subject; the memory is bounded."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import msgspec
import pytest

from alerts.applied import Applied, Keep, Seen, digest, judge, remember
from alerts.clock import ManualClock
from models.datum import wgs84_to_gcj02
from models.events import AlertAction, LocationFix, decode, encode
from scoring.rules import load_ruleset
from streams.pipeline import EMPTY_STATE, Pipeline, SubjectState
from tests.factories import INSIDE, OUTSIDE, T0, checkin, fix, registry, signed

M, H = timedelta(minutes=1), timedelta(hours=1)


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline(registry(), load_ruleset(), ManualClock(T0 + 60 * M), max_clock_skew_s=300)


# the pure memory ------------------------------------------------------------------------
def test_the_digest_is_of_the_content_not_of_its_serialisation() -> None:
    event = fix(1, M, INSIDE)
    retried = (
        b'{"source":"gps","accuracy_m":15.0,"lat":30.712,"lon":122.451,"battery_pct":80,'
        b'"occurred_at":"2026-11-29T12:01:00+08:00","device_id":"P-SS-0007",'
        b'"subject_id":"SS-0007","event_id":"fix-SS-0007-1","vendor_extra":1}'
    )
    again = decode(retried, LocationFix)
    assert isinstance(again, LocationFix) and encode(again) != encode(event)
    assert digest(again) == digest(event)
    assert digest(signed(event, n=2)) == digest(event)  # signed anew with a rotated key
    assert digest(msgspec.structs.replace(event, lat=30.713)) != digest(event)


def test_new_duplicate_conflict() -> None:
    keep = Keep(seconds=3600, count=10)
    a, b = digest(fix(1, M, INSIDE)), digest(fix(1, M, OUTSIDE))
    memory = remember(Applied(), "locations", "e1", a, T0, keep)
    assert judge(Applied(), "e1", a) == "new"
    assert judge(memory, "e1", a) == "duplicate"
    assert judge(memory, "e1", b) == "conflict"
    assert judge(memory, "e2", b) == "new"


def test_the_memory_is_bounded_by_count_and_by_event_time_per_input() -> None:
    keep = Keep(seconds=3600, count=3)
    memory = Applied()
    for n in range(5):
        memory = remember(memory, "locations", f"f{n}", n, T0 + n * M, keep)
    memory = remember(memory, "checkins", "c1", 9, T0 - 24 * H, Keep(86400 * 3, 3))
    assert [judge(memory, f"f{n}", n) for n in range(5)] == ["new"] * 2 + ["duplicate"] * 3
    assert len(memory.ids["locations"]) == 3  # the newest 3
    memory = remember(memory, "locations", "f9", 9, T0 + 2 * H, keep)
    assert len(memory.ids["locations"]) == 1  # the others are over an hour older
    assert judge(memory, "f4", 4) == "new" and judge(memory, "f9", 9) == "duplicate"
    assert judge(memory, "c1", 9) == "duplicate"  # each input has its own bound


def test_an_id_is_remembered_in_a_dozen_bytes_whatever_its_length() -> None:
    """A subject remembers an hour of fix ids: kept short, 700,000 subjects' state stays
    under 2 GB (docs/runbook.md, Restart time)."""
    memory = Applied()
    for n in range(60):
        at = T0 + n * M
        memory = remember(memory, "locations", str(uuid.uuid4()), 2**63 + n, at, Keep(3600, 120))
    assert len(msgspec.msgpack.encode(memory)) / 60 <= 30  # bytes an id (a UUID: 36 chars)


def test_ids_remembered_whole_before_still_tell_repeats() -> None:
    """States written before ids were kept short still tell duplicates and conflicts."""
    before = Applied({"locations": {"fix-SS-0007-1": Seen(123, T0)}})
    assert judge(before, "fix-SS-0007-1", 123) == "duplicate"
    assert judge(before, "fix-SS-0007-1", 9) == "conflict"
    again = remember(before, "locations", "fix-SS-0007-1", 123, T0, Keep(3600, 10))
    assert len(again.ids["locations"]) == 1  # not remembered twice


# the pipeline ---------------------------------------------------------------------------
def test_a_repeated_record_is_a_duplicate_with_no_outcome(pipeline: Pipeline) -> None:
    first = pipeline.apply_location(EMPTY_STATE, fix(1, M, OUTSIDE))
    assert [a.transition for a in first.alerts] == ["opened"]
    again = pipeline.apply_location(first.state, fix(1, M, OUTSIDE))
    assert again.duplicate and again.state is first.state
    assert (again.alerts, again.points, again.rejected) == ([], [], None)


def test_a_repeated_fix_does_not_confirm_a_departure_by_itself(pipeline: Pipeline) -> None:
    """Two clearly-outside fixes confirm a departure: the same fix twice is one fix."""
    near = (30.517, 122.300)  # 330 m outside: pending until a second fix or the dwell
    first = pipeline.apply_location(EMPTY_STATE, fix(1, M, near, accuracy_m=10.0))
    assert first.alerts == []
    again = pipeline.apply_location(first.state, fix(1, M, near, accuracy_m=10.0))
    assert again.duplicate and again.alerts == []


def test_same_id_other_content_is_a_conflict_and_the_first_stays(pipeline: Pipeline) -> None:
    first = pipeline.apply_location(EMPTY_STATE, fix(1, M, OUTSIDE))
    other = pipeline.apply_location(first.state, fix(1, M, INSIDE))
    assert other.rejected is not None and other.rejected.reason == "conflict"
    assert other.state is first.state and other.alerts == []


def test_a_gcj02_fix_sent_twice_is_a_duplicate(pipeline: Pipeline) -> None:
    """A fix declared in GCJ-02 is converted to WGS-84 at the door, the same way each time:
    sent again (serialised otherwise) it is a duplicate, not a conflict. Its content is the
    converted record, so the same id with the WGS-84 position declared as such is the same
    record too, while the raw GCJ-02 numbers taken as WGS-84 are other content."""
    gcj = wgs84_to_gcj02(*OUTSIDE)
    sent = fix(1, M, gcj, datum="gcj02")
    retried = json.dumps(dict(reversed(json.loads(encode(sent)).items())), indent=1).encode()
    first = pipeline.validate_location(encode(sent), b"SS-0007")
    again = pipeline.validate_location(retried, b"SS-0007")
    assert isinstance(first, LocationFix) and isinstance(again, LocationFix)
    assert first == again and first.datum == "wgs84" and (first.lat, first.lon) != gcj
    opened = pipeline.apply_location(EMPTY_STATE, first)
    assert [a.transition for a in opened.alerts] == ["opened"]
    repeat = pipeline.apply_location(opened.state, again)
    assert repeat.duplicate and repeat.state is opened.state and repeat.alerts == []
    declared = pipeline.validate_location(encode(fix(1, M, (first.lat, first.lon))), b"SS-0007")
    assert isinstance(declared, LocationFix)
    assert pipeline.apply_location(opened.state, declared).duplicate
    raw = pipeline.validate_location(encode(fix(1, M, gcj)), b"SS-0007")
    assert isinstance(raw, LocationFix)
    conflict = pipeline.apply_location(opened.state, raw).rejected
    assert conflict is not None and conflict.reason == "conflict"


def test_a_duplicate_changes_only_the_memory_and_is_not_stored(pipeline: Pipeline) -> None:
    """Remembering an id alone does not make the state durable: see SubjectState (the second
    fix is 30 s after the first, at the same place: the position stays)."""
    first = pipeline.apply_location(EMPTY_STATE, fix(1, M, INSIDE))
    second = pipeline.apply_location(first.state, fix(2, M + M / 2, INSIDE))
    assert second.state.applied != first.state.applied
    assert not second.durable(first.state)


def test_ids_are_scoped_per_subject(pipeline: Pipeline) -> None:
    """Subject B reusing subject A's event id is judged on its own, and touches nothing of
    A's: the points entries, alerts and recommendations of each name its subject."""
    a = pipeline.apply_checkin(EMPTY_STATE, checkin(1, M, subject="SS-0002", event_id="X"))
    b = pipeline.apply_checkin(EMPTY_STATE, checkin(1, M, subject="SS-0007", event_id="X"))
    assert not a.duplicate and not b.duplicate and a.points and b.points
    assert {e.entry_id for e in a.points}.isdisjoint(e.entry_id for e in b.points)
    assert {e.subject_id for e in a.points} == {"SS-0002"}
    out_a = pipeline.apply_location(a.state, fix(7, M, OUTSIDE, subject="SS-0002", event_id="Y"))
    out_b = pipeline.apply_location(b.state, fix(7, M, OUTSIDE, subject="SS-0007", event_id="Y"))
    assert out_a.alerts and out_b.alerts
    assert out_a.alerts[0].alert_id != out_b.alerts[0].alert_id
    assert out_a.alerts[0].transition_id != out_b.alerts[0].transition_id


def _alert(state: SubjectState) -> str:
    return state.detection.book.open["out_of_bounds"].alert_id


def test_an_officer_action_redelivered_after_a_crash_is_already_applied(
    pipeline: Pipeline,
) -> None:
    """The action's effect is in the stored state, its offset was not committed: Kafka
    delivers it again. It is recognised as applied, not dead-lettered as invalid_action."""
    opened = pipeline.apply_location(EMPTY_STATE, fix(1, M, OUTSIDE))
    act = AlertAction(
        event_id="act-1",
        subject_id="SS-0007",
        alert_id=_alert(opened.state),
        action="resolve",
        officer_id="O-caiyuan-1",
        occurred_at=T0 + 5 * M,
        outcome="verified_violation",
    )
    done = pipeline.apply_action(opened.state, act)
    assert done.rejected is None and done.durable(opened.state)
    assert [a.transition for a in done.alerts] == ["resolved"] and done.points
    again = pipeline.apply_action(done.state, act)
    assert again.rejected is None and again.duplicate
    assert (again.alerts, again.points) == ([], [])


def test_the_digest_of_a_record_never_changes() -> None:
    """Digests are kept in the state (the changelog): a faster digest must give the same
    values, or a redelivery after an upgrade would look like a conflict."""
    assert digest(fix(1, M, INSIDE)) == 10974503001594907418
    assert digest(checkin(1, M)) == 33699652820068462
