"""The shared label table: every code users see has a Chinese and an English label, so a new
code without one fails here."""

from __future__ import annotations

import enum
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest

from alerts import lifecycle, zero_reports
from alerts.kinds import KINDS
from alerts.policy import Severity, Thresholds
from models import events, labels
from models.access import Role
from models.reference import (
    CorrectionType,
    EndReason,
    GeofenceKind,
    LeaveStatus,
    Level,
    PositioningReason,
    Zone,
)
from register.rules import Approver


def codes(t: Any) -> set[str]:
    """The strings of a Literal type (inside Optional too), or an enum's values."""
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return {str(m.value) for m in t}
    if get_origin(t) is Literal:
        return {a for a in get_args(t) if isinstance(a, str)}
    if get_origin(t) in (Union, type(int | None)):
        return set().union(*(codes(a) for a in get_args(t)))
    return set()


def field(cls: type, name: str) -> set[str]:
    return codes(get_type_hints(cls)[name])


CODES: list[tuple[labels.Group, set[str]]] = [
    ("alert_type", codes(events.AlertType)),
    ("transition", codes(events.AlertTransition)),
    ("outcome", codes(events.AlertOutcome)),
    ("action", field(events.AlertAction, "action")),
    ("severity", codes(Severity) | field(events.AlertEvent, "severity")),
    ("alert_state", field(lifecycle.OpenAlert, "state") | {"resolved"}),
    ("activity", codes(events.ActivityKind)),
    ("recommendation_kind", codes(events.RecommendationKind)),
    ("recommendation_status", field(events.Recommendation, "status")),
    ("recommendation_status", field(events.Decision, "decision")),
    ("level", field(events.Recommendation, "level_to") | codes(Level)),
    ("source", field(events.LocationFix, "source")),
    ("checkin_method", field(events.CheckIn, "method")),
    ("device_event", field(events.DeviceEvent, "event")),
    ("zero_report", field(zero_reports.ZeroReportDue, "status")),
    ("zone", codes(Zone)),
    ("correction_type", codes(CorrectionType)),
    ("end_reason", codes(EndReason)),
    ("leave_status", codes(LeaveStatus)),
    ("positioning_reason", codes(PositioningReason)),
    ("geofence_kind", codes(GeofenceKind)),
    ("role", codes(Role)),
    ("approver", codes(Approver)),
    ("threshold", set(Thresholds.__struct_fields__)),
]


@pytest.mark.parametrize(("group", "wanted"), CODES, ids=[g for g, _ in CODES])
def test_every_code_has_a_chinese_and_an_english_label(
    group: labels.Group, wanted: set[str]
) -> None:
    assert wanted, "no codes found: the type moved?"
    table = labels.TABLE[group]
    assert wanted <= set(table), f"{group} lacks labels for {sorted(wanted - set(table))}"
    for code in wanted:
        assert table[code].zh and table[code].en


def test_alert_kinds_take_their_labels_from_the_table() -> None:
    assert set(KINDS) == set(labels.ALERT_TYPES)
    for code, kind in KINDS.items():
        assert (kind.zh, kind.en) == labels.ALERT_TYPES[code]


def test_a_value_is_shown_chinese_first_with_its_code_and_an_unknown_code_alone() -> None:
    assert labels.label("alert_type", "out_of_bounds") == "越界 out_of_bounds"
    assert labels.label("correction_type", "probation") == "缓刑 probation"
    assert labels.label("alert_type", "new_kind") == "new_kind"
    assert labels.as_json()["level"]["strict"] == {"zh": "严管", "en": "strict"}
