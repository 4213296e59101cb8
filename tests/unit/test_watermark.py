"""The one rule for a partition's event time, shared by the worker, replay and the tests."""

from __future__ import annotations

from datetime import timedelta

from alerts.clock import Marks, Watermark
from alerts.order import Partition
from tests.factories import T0

M = timedelta(minutes=1)
LATE = 2 * M


def test_a_quiet_input_does_not_hold_ticks_back() -> None:
    w = Watermark()
    w.saw("locations", T0 + 50 * M)  # check-ins: nothing for hours
    assert w.advance(T0 + 60 * M, lagging=[], lateness=LATE) == T0 + 58 * M


def test_a_lagging_input_holds_ticks_back_and_time_never_goes_back() -> None:
    w = Watermark()
    w.saw("locations", T0 + 50 * M)
    w.saw("checkins", T0 + 10 * M)
    assert w.advance(T0 + 60 * M, ["checkins"], LATE) == T0 + 8 * M
    assert w.advance(T0 + 61 * M, ["checkins", "devices"], LATE) == T0 + 8 * M  # unknown
    w.saw("checkins", T0 + 5 * M)  # an older record changes nothing
    assert w.advance(T0 + 62 * M, ["checkins"], LATE) == T0 + 8 * M


def test_records_wait_for_a_lagging_input_and_leave_in_event_time_order() -> None:
    p: Partition[str] = Partition(LATE)
    assert p.arrive("checkins", T0 + 30 * M, "c1", "c1", lagging=["locations"]) == []
    assert p.arrive("locations", T0 + 10 * M, "f1", "f1", ["locations"]) == []  # own lateness
    assert p.arrive("locations", T0 + 40 * M, "f2", "f2", ["locations"]) == ["f1", "c1"]
    assert p.arrive("locations", T0 + 41 * M, "f3", "f3", []) == ["f2", "f3"]  # caught up


def test_a_tick_releases_what_it_passes_first() -> None:
    p: Partition[str] = Partition(LATE)
    p.arrive("checkins", T0 + 30 * M, "c1", "c1", ["locations"])
    at, ready = p.tick(T0 + 60 * M, [])
    assert at == T0 + 58 * M and ready == ["c1"]


def test_a_repartitioned_stream_waits_for_every_source() -> None:
    marks = Marks(sources=3)
    marks.saw(0, T0 + 10 * M)
    marks.saw(2, T0 + 30 * M)
    assert marks.value() is None
    marks.saw(1, T0 + 20 * M)
    assert marks.value() == T0 + 10 * M
