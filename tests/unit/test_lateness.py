"""The stated lateness bound: a record that reached Kafka later than its type's bound after
its event time updates the track and the ledger but opens no alert; an event for a closed
month is booked as a correction in the first open month."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.clock import ManualClock
from alerts.policy import is_late, load_policy
from models.events import encode
from scoring.rules import load_ruleset
from streams.pipeline import EMPTY_STATE, Pipeline
from streams.replay import LogRecord, read_log, replay, write_log
from tests.factories import INSIDE, OUTSIDE, T0, checkin, fix, registry

M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline(registry(), load_ruleset(), ManualClock(T0 + 7 * H), max_clock_skew_s=300)


def test_the_policy_states_a_bound_per_input() -> None:
    inputs = load_policy().inputs
    assert inputs["locations"].late_after_s == inputs["devices"].late_after_s == 3600
    assert inputs["checkins"].late_after_s == inputs["activities"].late_after_s == 3 * 86400
    assert inputs["alert-actions"].late_after_s is None  # officers' records are never late
    policy = load_policy()
    assert is_late(policy, "locations", T0, T0 + 61 * M)
    assert not is_late(policy, "locations", T0, T0 + 59 * M)
    assert not is_late(policy, "locations", T0, None)  # unknown: as if on time
    assert not is_late(policy, "alert-actions", T0, T0 + 30 * D)


def test_a_fix_six_hours_late_updates_the_track_but_opens_no_alert(pipeline: Pipeline) -> None:
    late = pipeline.apply_location(EMPTY_STATE, fix(1, M, OUTSIDE), T0 + M + 6 * H)
    assert late.late and late.alerts == []
    assert late.state.detection.track.seen_at == T0 + M
    assert late.state.detection.track.at == T0 + M  # the last position, for the map
    on_time = pipeline.apply_location(EMPTY_STATE, fix(1, M, OUTSIDE), T0 + M + 5 * M)
    assert not on_time.late and [a.transition for a in on_time.alerts] == ["opened"]
    unknown = pipeline.apply_location(EMPTY_STATE, fix(1, M, OUTSIDE))  # a log without times
    assert [a.transition for a in unknown.alerts] == ["opened"]


def test_a_late_fix_starts_no_pending_departure(pipeline: Pipeline) -> None:
    """Late fixes are not evidence for a later alert either (a dwell from 6 h ago would be
    overdue at once)."""
    near = (30.517, 122.300)  # 330 m outside: a departure would wait for confirmation
    late = pipeline.apply_location(EMPTY_STATE, fix(1, M, near, accuracy_m=10.0), T0 + 7 * H)
    assert "out_of_bounds" not in late.state.detection.states
    on_time = pipeline.apply_location(
        late.state, fix(2, 5 * H, INSIDE), T0 + 5 * H + M
    )  # later fixes are judged as usual (silence since the late fix is signal lost)
    assert {a.alert_type for a in on_time.alerts} == {"signal_lost"}


def test_a_late_fix_clears_no_alert(pipeline: Pipeline) -> None:
    """History changes no alert: the officers resolve what is open."""
    opened = pipeline.apply_location(EMPTY_STATE, fix(1, 2 * H, OUTSIDE), T0 + 2 * H)
    assert opened.alerts
    late = pipeline.apply_location(opened.state, fix(2, 3 * H, INSIDE), T0 + 5 * H)
    assert late.late and late.alerts == []
    assert "out_of_bounds" in late.state.detection.book.open


def test_a_late_checkin_still_scores(pipeline: Pipeline) -> None:
    late = pipeline.apply_checkin(EMPTY_STATE, checkin(1, -4 * D, subject="SS-0007"), T0 + 3 * H)
    assert late.late and late.points and late.alerts == []


def test_an_event_for_a_month_closed_eight_months_ago_is_a_visible_correction() -> None:
    """Which months are closed is read from the database (the registry): a subject's state
    keeps only its last six closes. The closed month is never rewritten."""
    closed_at = {f"2026-{m:02d}": datetime(2026, m + 1, 1, 17, tzinfo=UTC) for m in range(3, 12)}
    reg = replace(registry(), closed_months=closed_at)
    pipeline = Pipeline(reg, load_ruleset(), ManualClock(T0 + 3 * D), max_clock_skew_s=300)
    march = checkin(1, -(T0 - datetime(2026, 3, 10, 2, tzinfo=UTC)), subject="SS-0002")
    out = pipeline.apply_checkin(EMPTY_STATE, march, T0 + 3 * D)
    assert out.points, "never a silent loss"
    assert {e.local_month for e in out.points} == {"2026-12"}  # the first open month
    assert {e.corrects_month for e in out.points} == {"2026-03"}
    assert all("补记" in e.reason_zh and "2026-03" in e.reason_zh for e in out.points)
    assert all(e.occurred_at == march.occurred_at for e in out.points)  # the true event time
    assert "2026-03" not in out.state.ledger.months  # nothing added to the closed month
    assert sum(out.state.ledger.months["2026-12"].points.values()) == sum(
        e.delta for e in out.points
    )
    assert pipeline.apply_checkin(out.state, march, T0 + 3 * D).duplicate


def test_a_record_received_before_the_close_was_requested_counts_in_its_month() -> None:
    """A replay applies closes last: a record that reached Kafka before its month's close
    was requested is scored in its own month, live and in a replay alike."""
    reg = replace(registry(), closed_months={"2026-11": datetime(2026, 12, 1, 17, tzinfo=UTC)})
    pipeline = Pipeline(reg, load_ruleset(), ManualClock(T0 + 3 * D), max_clock_skew_s=300)
    before = pipeline.apply_checkin(EMPTY_STATE, checkin(1, -H, subject="SS-0007"), T0)
    after = pipeline.apply_checkin(EMPTY_STATE, checkin(1, -H, subject="SS-0007"), T0 + 3 * D)
    assert {e.local_month for e in before.points} == {"2026-11"}
    assert {e.corrects_month for e in before.points} == {None}
    assert {e.local_month for e in after.points} == {"2026-12"}


class _Sink:
    def __init__(self) -> None:
        self.alerts: list[Any] = []

    def write_alerts(self, rows: list[Any]) -> int:
        self.alerts += rows
        return len(rows)

    def write_points(self, rows: list[Any]) -> int:
        return len(rows)

    write_recommendations = write_points


def test_replay_judges_lateness_by_the_received_time_the_log_keeps(tmp_path: Path) -> None:
    """Replay from a log or the topics passes each record's broker timestamp, as the
    worker does; a repeated record is counted as a duplicate."""
    outside = fix(1, M, OUTSIDE)
    records = [
        LogRecord("locations", b"SS-0007", encode(outside), T0 + M + 6 * H),
        LogRecord("locations", b"SS-0007", encode(outside), T0 + M + 6 * H),
    ]
    path = tmp_path / "log.jsonl"
    write_log(path, records)
    assert list(read_log(path)) == records
    pipeline = Pipeline(registry(), load_ruleset(), ManualClock(T0 + 7 * H), 300)
    sink = _Sink()
    result = replay(read_log(path), pipeline, sink)  # type: ignore[arg-type]
    assert (result.applied, result.duplicates, sink.alerts) == (1, 1, [])
    on_time = [LogRecord("locations", b"SS-0007", encode(outside), T0 + M)]
    replay(on_time, pipeline, sink)  # type: ignore[arg-type]
    assert [a.alert_type for a in sink.alerts] == ["out_of_bounds"]
