"""Leave overstay (请假逾期未归): an approved leave ended and the subject is still away.

Decided at the leave's end plus ``overstay_grace_s`` (event time) from the last plausible
fix; coming back into the county clears it. While it is open, the same trip raises no
out-of-bounds alert (one incident per fact).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec

from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.protocol import Context, Input, Step, Time
from models.events import AlertType, LocationFix
from models.localtime import local
from models.values import LeaveWindow, SecurityPeriod


class Away(msgspec.Struct, frozen=True, omit_defaults=True):
    """Whether the track's position (the last plausible fix) is outside the county: stored
    with each change, so it holds after a restart though the stored position may be older
    (None: not known yet, the position decides)."""

    outside: bool | None = None


def in_force(
    leaves: Sequence[LeaveWindow], periods: Sequence[SecurityPeriod], office_id: str
) -> tuple[LeaveWindow, ...]:
    """The leaves that count: new leave is suspended in a security period, except
    emergencies, so a permit approved during a period covering the office does not."""
    return tuple(
        w
        for w in leaves
        if w.emergency
        or w.approved_at is None
        or not any(p.covers(w.approved_at, office_id) for p in periods)
    )


class LeaveOverstay:
    name = "leave_overstay"
    kinds: tuple[AlertType, ...] = ("leave_overstay",)
    State = Away

    def due(self, ctx: Context, state: Away, book: AlertBook) -> datetime | None:
        if book.get("leave_overstay") or ctx.track.at is None:
            return None
        grace = timedelta(seconds=ctx.limits.overstay_grace_s)
        ends = [w.ends_at + grace for w in ctx.view.leaves if w.ends_at + grace > ctx.at]
        return min(ends, default=None)

    def step(self, ctx: Context, state: Away, book: AlertBook, item: Input) -> Step:
        county, track = ctx.view.county, ctx.track
        if county is None:
            return state, book, []
        if isinstance(item, LocationFix):
            if not ctx.plausible:
                return state, book, []
            inside = county.contains(item.lat, item.lon)
            if track.event_id == item.event_id and state.outside != (not inside):
                state = Away(outside=not inside)  # the track's position changed sides
            if inside:
                book, events = clear(
                    ctx,
                    book,
                    "leave_overstay",
                    item.event_id,
                    item.occurred_at,
                    ("已返回县域", "back in the county"),
                )
                return state, book, events
            return state, book, []
        if not isinstance(item, Time) or track.at is None:
            return state, book, []
        at = item.at
        grace = timedelta(seconds=ctx.limits.overstay_grace_s)
        ended = [
            w
            for w in ctx.view.leaves
            if w.ends_at + grace <= at and w.ends_at > at - timedelta(days=30)
        ]
        outside = state.outside
        if outside is None:
            outside = not county.contains(track.lat, track.lon)
        if not ended or not outside:
            return state, book, []
        leave = max(ended, key=lambda w: w.ends_at)
        if track.at < leave.starts_at or any(w.covers(at) for w in ctx.view.leaves):
            return state, book, []  # no fix since the leave began, or a new leave covers now
        book, events = raise_alert(
            ctx,
            book,
            "leave_overstay",
            [f"leave:{leave.id}"],
            leave.ends_at,
            (
                f"请假({leave.destination})已于 {local(leave.ends_at):%m-%d %H:%M} 到期,仍在县外",
                f"leave to {leave.destination} ended, still outside the county",
            ),
            (track.lat, track.lon, track.accuracy_m),
        )
        return state, book, events


DETECTOR = LeaveOverstay()
