"""The suite's input is deterministic: the same end time and seed give the same records."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.faults.inputs import WEIGHTS, hostile_inputs, valid_inputs

END = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_valid_inputs_repeat_and_end_at_the_given_time() -> None:
    first = valid_inputs(3, END)
    assert first == valid_inputs(3, END)
    assert max(i.at for i in first if i.kind != "tick") <= END
    assert max(i.at for i in first) == END + timedelta(minutes=5)  # the last tick
    kinds = Counter(i.kind for i in first)
    assert kinds["location"] > 400 and kinds["tick"] > 0


def test_hostile_records_repeat_and_keep_every_valid_record_in_order() -> None:
    valid = valid_inputs(3, END)
    mixed = hostile_inputs(valid, 200)
    assert mixed == hostile_inputs(valid, 200)
    assert [i for i in mixed if not i.hostile] == valid
    assert sum(1 for i in mixed if i.hostile) == 200
    assert set(Counter(i.hostile for i in mixed if i.hostile)) <= set(WEIGHTS)
