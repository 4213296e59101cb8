"""Out of bounds (越界): outside the county with no approved leave covering that time.

Noise-aware, as GPS drift near the shore floods naive platforms:
- accuracy-aware: a fix counts as outside only when its whole accuracy circle, plus a
  hysteresis margin, is outside; back inside needs the circle inside too;
- confirmed: a second clearly-outside fix, or the dwell time since the first, before
  alerting; at once only when the fix is far out by more than its uncertainty (the
  distance minus ``far_accuracy_factor`` times its accuracy still exceeds
  ``far_outside_m``), or on a way out (an outside port, a ferry lane, the bridge) with its
  whole accuracy circle outside;
- one incident per trip: while an approved leave, its return grace, or a leave-overstay
  alert covers the trip, no out-of-bounds alert is raised for it;
- suspect fixes (impossible speed) and late ones (beyond the lateness bound) never count;
  events are judged in event time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import msgspec

from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.protocol import Context, Input, Step, Time
from models.events import AlertType, LocationFix
from models.values import LeaveWindow

KIND: Literal["out_of_bounds"] = "out_of_bounds"


class BoundaryState(msgspec.Struct, frozen=True, omit_defaults=True):
    """Where the subject stands with the county line."""

    status: Literal["inside", "pending", "outside"] = "inside"
    since: datetime | None = None  # event time of the first clearly-outside fix
    evidence: list[str] = []  # the clearly-outside fixes so far (pending)
    changed_at: datetime | None = None  # event time of the last decision


def covering_leave(ctx: Context, at: datetime) -> LeaveWindow | None:
    """The approved leave that covers ``at``, its return grace included."""
    grace = timedelta(seconds=ctx.limits.overstay_grace_s)
    return next((w for w in ctx.view.leaves if w.starts_at <= at < w.ends_at + grace), None)


class OutOfBounds:
    name = "out_of_bounds"
    kinds: tuple[AlertType, ...] = (KIND,)
    State = BoundaryState

    def due(self, ctx: Context, state: BoundaryState, book: AlertBook) -> datetime | None:
        if state.status != "pending" or state.since is None:
            return None
        return state.since + timedelta(seconds=ctx.limits.dwell_s)

    def step(self, ctx: Context, state: BoundaryState, book: AlertBook, item: Input) -> Step:
        if isinstance(item, Time):
            return self._dwell(ctx, state, book, item.at)
        if (
            isinstance(item, LocationFix)
            and ctx.plausible
            and not ctx.late
            and ctx.view.county is not None
        ):
            return self._fix(ctx, state, book, item)
        return state, book, []

    def _dwell(self, ctx: Context, state: BoundaryState, book: AlertBook, at: datetime) -> Step:
        """A single clearly-outside fix with nothing since, for the dwell time, alerts."""
        if state.status != "pending" or state.since is None:
            return state, book, []
        if at - state.since < timedelta(seconds=ctx.limits.dwell_s):
            return state, book, []
        if covering_leave(ctx, at) is not None or book.get("leave_overstay") is not None:
            return BoundaryState(changed_at=at), book, []
        book, events = raise_alert(
            ctx,
            book,
            KIND,
            state.evidence,
            state.since,
            ("离开县域且持续未返回,无有效请假", "outside the county for the dwell time, no leave"),
        )
        return BoundaryState("outside", state.since, [], at), book, events

    def _fix(self, ctx: Context, state: BoundaryState, book: AlertBook, fix: LocationFix) -> Step:
        county, limits, t = ctx.view.county, ctx.limits, fix.occurred_at
        assert county is not None
        if state.changed_at is not None and t <= state.changed_at:
            return state, book, []
        where = (fix.lat, fix.lon, fix.accuracy_m)
        leave = covering_leave(ctx, t)
        inside = county.contains(fix.lat, fix.lon)
        if inside or leave is not None or book.get("leave_overstay") is not None:
            if state.status == "inside":
                return state, book, []
            if state.status == "pending":  # seen inside again before confirmation: drift
                return BoundaryState(changed_at=t), book, []
            if inside and county.distance_to_edge_m(fix.lat, fix.lon) < fix.accuracy_m:
                return state, book, []  # not clearly back yet: hysteresis
            if not inside and leave is None:
                return state, book, []  # still away: the leave-overstay alert covers it
            reason = (
                ("已返回县域范围内", "back inside the county")
                if leave is None
                else (
                    f"请假外出已批准({leave.destination})",
                    f"covered by approved leave to {leave.destination}",
                )
            )
            book, events = clear(ctx, book, KIND, fix.event_id, t, reason, where)
            return BoundaryState(changed_at=t), book, events
        out_m = county.distance_to_edge_m(fix.lat, fix.lon)
        at_exit = out_m > fix.accuracy_m and any(
            e.contains(fix.lat, fix.lon) for e in ctx.view.exits
        )
        if out_m <= fix.accuracy_m + limits.hysteresis_m and not at_exit:
            return state, book, []  # the accuracy circle (and margin) still reaches inside
        if state.status == "outside":
            return state, book, []
        evidence = [*state.evidence, fix.event_id]
        since = state.since or t
        far = out_m - limits.far_accuracy_factor * fix.accuracy_m >= limits.far_outside_m
        confirmed = (
            len(evidence) >= limits.confirm_fixes
            or t - since >= timedelta(seconds=limits.dwell_s)
            or far
            or at_exit
        )
        if not confirmed:
            return BoundaryState("pending", since, evidence, state.changed_at), book, []
        why = "在出县通道上" if at_exit else f"离开县域 {out_m / 1000:.1f} 公里"
        why_en = "on an exit route" if at_exit else f"{out_m / 1000:.1f} km outside the county"
        book, events = raise_alert(
            ctx,
            book,
            KIND,
            evidence,
            since,
            (f"{why},无有效请假", f"{why_en} with no approved leave"),
            where,
        )
        return BoundaryState("outside", since, [], t), book, events


DETECTOR = OutOfBounds()
