"""Out of bounds (越界): outside the county with no approved leave covering that time.

One open alert per subject; a later fix back inside, or one covered by a leave,
auto-resolves it. Decisions use event time only: a fix older than the last transition
cannot flip the state back (late, out-of-order delivery).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import msgspec

from alerts.geofence import Area
from models.events import AlertEvent, LocationFix
from models.ids import derive_id
from models.registry import LeaveWindow, SubjectRef

RULE = "out_of_bounds/1"
ALERT_TYPE: Final = "out_of_bounds"


class BoundaryState(msgspec.Struct, frozen=True, omit_defaults=True):
    """The subject's open out-of-bounds alert, if any, and when it last changed."""

    open_alert_id: str | None = None
    changed_at: datetime | None = None


def observe(
    state: BoundaryState,
    fix: LocationFix,
    subject: SubjectRef,
    county: Area,
    leaves: Sequence[LeaveWindow],
    now: datetime,
) -> tuple[BoundaryState, list[AlertEvent]]:
    """Apply one fix; return the new state and the alert transitions it causes."""
    if state.changed_at is not None and fix.occurred_at <= state.changed_at:
        return state, []
    inside = county.contains(fix.lat, fix.lon)
    leave = next((w for w in leaves if w.covers(fix.occurred_at)), None)
    if not inside and leave is None:
        if state.open_alert_id is not None:
            return state, []
        alert_id = derive_id("alert", subject.id, ALERT_TYPE, fix.event_id)
        km = county.distance_to_edge_m(fix.lat, fix.lon) / 1000
        opened = _transition(
            alert_id,
            "opened",
            subject,
            fix,
            now,
            reason_zh=f"离开县域范围 {km:.1f} 公里,无有效请假",
            reason_en=f"{km:.1f} km outside the county with no approved leave",
        )
        return BoundaryState(alert_id, fix.occurred_at), [opened]
    if state.open_alert_id is None:
        return state, []
    if leave is None:
        zh, en = "已返回县域范围内", "back inside the county"
    else:
        zh = f"请假外出已批准({leave.destination})"
        en = f"covered by approved leave to {leave.destination}"
    resolved = _transition(
        state.open_alert_id,
        "resolved",
        subject,
        fix,
        now,
        reason_zh=f"自动解除:{zh}",
        reason_en=f"auto-resolved: {en}",
    )
    return BoundaryState(None, fix.occurred_at), [resolved]


def _transition(
    alert_id: str,
    transition: str,
    subject: SubjectRef,
    fix: LocationFix,
    now: datetime,
    *,
    reason_zh: str,
    reason_en: str,
) -> AlertEvent:
    return AlertEvent(
        transition_id=derive_id(alert_id, transition, fix.event_id),
        alert_id=alert_id,
        transition=transition,  # type: ignore[arg-type]
        alert_type=ALERT_TYPE,
        severity="high",
        subject_id=subject.id,
        office_id=subject.office_id,
        zone=subject.zone,
        rule=RULE,
        evidence=[fix.event_id],
        occurred_at=fix.occurred_at,
        recorded_at=now,
        reason_zh=reason_zh,
        reason_en=reason_en,
        lat=fix.lat,
        lon=fix.lon,
        accuracy_m=fix.accuracy_m,
    )
