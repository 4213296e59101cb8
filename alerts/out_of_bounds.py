"""Out of bounds (越界): outside the county with no approved leave covering that time.

Noise-aware, as GPS drift near the shore floods naive platforms:
- accuracy-aware: a fix counts as outside only when its whole accuracy circle, plus a
  hysteresis margin, is outside; back inside needs the circle inside too;
- confirmed: a second clearly-outside fix, or the dwell time since the first (checked by
  the worker's ticks), before alerting; at once when the fix is far out, or on a way out
  (an outside port, a ferry lane, the bridge) with its whole accuracy circle outside;
- suspect fixes (impossible speed) never count; events are judged in event time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, Literal

import msgspec

from alerts.geofence import Area
from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.policy import Thresholds
from models.events import AlertEvent, LocationFix
from models.values import LeaveWindow, SecurityPeriod, SubjectRef

RULE: Final = "out_of_bounds/2"
KIND: Final = "out_of_bounds"


class BoundaryState(msgspec.Struct, frozen=True, omit_defaults=True):
    """Where the subject stands with the county line."""

    status: Literal["inside", "pending", "outside"] = "inside"
    since: datetime | None = None  # event time of the first clearly-outside fix
    evidence: list[str] = []  # the clearly-outside fixes so far (pending)
    changed_at: datetime | None = None  # event time of the last decision


def observe(
    state: BoundaryState,
    book: AlertBook,
    fix: LocationFix,
    subject: SubjectRef,
    county: Area,
    exits: Sequence[Area],
    leaves: Sequence[LeaveWindow],
    limits: Thresholds,
    period: SecurityPeriod | None,
    now: datetime,
) -> tuple[BoundaryState, AlertBook, list[AlertEvent]]:
    """Apply one plausible fix."""
    if state.changed_at is not None and fix.occurred_at <= state.changed_at:
        return state, book, []
    where = (fix.lat, fix.lon, fix.accuracy_m)
    leave = next((w for w in leaves if w.covers(fix.occurred_at)), None)
    inside = county.contains(fix.lat, fix.lon)
    if inside or leave is not None:
        if state.status == "inside":
            return state, book, []
        if state.status == "pending":  # seen inside again before confirmation: drift
            return BoundaryState(changed_at=fix.occurred_at), book, []
        if inside and county.distance_to_edge_m(fix.lat, fix.lon) < fix.accuracy_m:
            return state, book, []  # not clearly back yet: hysteresis
        reason = (
            ("已返回县域范围内", "back inside the county")
            if leave is None
            else (
                f"请假外出已批准({leave.destination})",
                f"covered by approved leave to {leave.destination}",
            )
        )
        book, events = clear(book, subject, KIND, fix.event_id, fix.occurred_at, now, reason, where)
        return BoundaryState(changed_at=fix.occurred_at), book, events
    out_m = county.distance_to_edge_m(fix.lat, fix.lon)
    at_exit = out_m > fix.accuracy_m and any(e.contains(fix.lat, fix.lon) for e in exits)
    if out_m <= fix.accuracy_m + limits.hysteresis_m and not at_exit:
        return state, book, []  # the accuracy circle (and margin) still reaches inside
    if state.status == "outside":
        return state, book, []
    evidence = [*state.evidence, fix.event_id]
    since = state.since or fix.occurred_at
    confirmed = (
        len(evidence) >= limits.confirm_fixes
        or fix.occurred_at - since >= timedelta(seconds=limits.dwell_s)
        or out_m >= limits.far_outside_m
        or at_exit
    )
    if not confirmed:
        return BoundaryState("pending", since, evidence, state.changed_at), book, []
    why = "在出县通道上" if at_exit else f"离开县域 {out_m / 1000:.1f} 公里"
    why_en = "on an exit route" if at_exit else f"{out_m / 1000:.1f} km outside the county"
    book, events = raise_alert(
        book,
        subject,
        KIND,
        "high",
        RULE,
        evidence,
        since,
        now,
        limits,
        period,
        (f"{why},无有效请假", f"{why_en} with no approved leave"),
        where,
        fix.occurred_at,
    )
    return BoundaryState("outside", since, [], fix.occurred_at), book, events


def dwell_expired(
    state: BoundaryState,
    book: AlertBook,
    subject: SubjectRef,
    limits: Thresholds,
    period: SecurityPeriod | None,
    at: datetime,
    now: datetime,
) -> tuple[BoundaryState, AlertBook, list[AlertEvent]]:
    """A tick: a single clearly-outside fix with nothing since, for the dwell time, alerts."""
    if state.status != "pending" or state.since is None:
        return state, book, []
    if at - state.since < timedelta(seconds=limits.dwell_s):
        return state, book, []
    book, events = raise_alert(
        book,
        subject,
        KIND,
        "high",
        RULE,
        state.evidence,
        state.since,
        now,
        limits,
        period,
        ("离开县域且持续未返回,无有效请假", "outside the county for the dwell time, no leave"),
        detected_at=at,
    )
    return BoundaryState("outside", state.since, [], at), book, events
