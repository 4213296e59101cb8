"""The worker's consumer commits only past acknowledged records and names the holes that
would stop its commits (streams/transport.py); the broker is never dialled here."""

from __future__ import annotations

from pathlib import Path

from faust.types import TP

from streams.transport import Consumer, behind, hole, uncommitted
from tests.unit.test_kafka_settings import built

TP0 = TP("ccwatch.control", 0)


def consumer(tmp_path: Path) -> Consumer:
    made = built(tmp_path).app.consumer
    assert isinstance(made, Consumer)
    return made


def test_no_commit_past_the_committed_offsets_own_record(tmp_path: Path) -> None:
    c = consumer(tmp_path)
    c._committed_offset[TP0] = 5  # the next record to read is 5; it was never acknowledged
    c._acked[TP0] = [6, 7]
    c._acked_index[TP0] = {6, 7}
    assert c._new_offset(TP0) is None  # Faust's own answer is 8, past record 5


def test_commits_move_once_the_hole_is_filled(tmp_path: Path) -> None:
    c = consumer(tmp_path)
    c._committed_offset[TP0] = 5
    c._acked[TP0] = [5, 6, 7, 9]
    c._acked_index[TP0] = {5, 6, 7, 9}
    assert c._new_offset(TP0) == 8


def test_an_offset_the_log_lacks_is_no_hole(tmp_path: Path) -> None:
    c = consumer(tmp_path)
    c._committed_offset[TP0] = 5
    c._gap[TP0].addi(5, 6)  # offset 5 is not in the log (a compacted or control record)
    c._acked[TP0] = [6, 7]
    c._acked_index[TP0] = {6, 7}
    assert c._new_offset(TP0) == 8
    assert c.holes() == {}


def test_holes_name_partitions_whose_commits_cannot_move(tmp_path: Path) -> None:
    c = consumer(tmp_path)
    c._committed_offset[TP0] = 5
    c._acked[TP0] = [8, 9]
    assert c.holes() == {TP0: 5}


def test_a_hole_is_found_only_when_nothing_before_it_is_processed() -> None:
    assert hole(5, [8, 9], busy=[]) == 5
    assert hole(5, [8, 9], busy=[7]) is None  # record 7 is still being processed
    assert hole(5, [8, 9], busy=[12]) == 5  # later records do not fill it
    assert hole(5, [5, 6], busy=[]) is None  # the committed offset's own record is done
    assert hole(None, [8], busy=[]) is None  # never committed: read from the start instead
    assert hole(5, [], busy=[]) is None


def test_uncommitted_partitions_are_read_from_their_start() -> None:
    a, b, c, log = TP("in", 0), TP("in", 1), TP("in", 2), TP("x-changelog", 0)
    assert uncommitted({a, b, c, log}, {a: 7, b: 0}, {"x-changelog"}) == [b, c]


def test_an_uncommitted_input_lags_until_it_delivers_its_records_however_long() -> None:
    # Records 0..143 on the broker, none committed or delivered yet: the input holds event
    # time back, also after a slow recovery (the grace is only for a log start not known).
    assert behind(delivered=None, committed=None, log_start=0, high=144, young_s=60.0)
    assert not behind(delivered=143, committed=None, log_start=0, high=144, young_s=60.0)
    assert not behind(delivered=None, committed=None, log_start=144, high=144, young_s=1.0)
    assert behind(delivered=None, committed=None, log_start=None, high=144, young_s=1.0)
    assert not behind(delivered=None, committed=None, log_start=None, high=144, young_s=60.0)
    assert behind(delivered=None, committed=7, log_start=None, high=144, young_s=60.0)
    assert not behind(delivered=None, committed=144, log_start=0, high=144, young_s=60.0)
    assert behind(delivered=None, committed=None, log_start=0, high=None, young_s=60.0)


def test_for_a_tick_an_input_not_fetched_since_its_last_record_lags() -> None:
    # The last fetch said 144 records and all were delivered; no fetch answered since, so
    # more may have reached the broker before the tick: it holds event time at that input.
    assert behind(delivered=143, committed=None, log_start=0, high=144, young_s=60.0,
                  refreshed=False)  # fmt: skip
    assert not behind(delivered=143, committed=None, log_start=0, high=144, young_s=60.0)
