"""The classification level a decided recommendation sets on its subject."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from models.events import Recommendation
from scoring.levels import level_set_by

T0 = datetime(2026, 11, 29, 5, 50, tzinfo=UTC)
CHANGE = Recommendation(
    recommendation_id="r-1", subject_id="SS-0001", office_id="caiyuan", kind="level_change",
    month="2026-11", ruleset_id="shengsi-points", ruleset_version="2020.1", evidence=["e-1"],
    reason_zh="建议", reason_en="propose", occurred_at=T0, recorded_at=T0,
    level_from="normal", level_to="lenient",
)  # fmt: skip


def _as(**changes: Any) -> Recommendation:
    return msgspec.structs.replace(CHANGE, **changes)


def test_a_confirmed_level_change_sets_the_level() -> None:
    assert level_set_by(_as(status="confirmed", decided_by="O-1", decided_at=T0)) == "lenient"


@pytest.mark.parametrize(
    "rec",
    [
        CHANGE,  # proposed: nothing decided yet
        _as(status="rejected", decided_by="O-1", decided_at=T0),
        _as(status="confirmed", level_to=None),  # nothing to change to
        _as(status="confirmed", kind="warning"),  # only a level change moves the level
    ],
    ids=["proposed", "rejected", "no-target", "other-kind"],
)
def test_anything_else_leaves_the_level_alone(rec: Recommendation) -> None:
    assert level_set_by(rec) is None
