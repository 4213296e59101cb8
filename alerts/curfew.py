"""Home curfew (宵禁/居家令): a prohibition order's hours at home.

Not a forbidden zone at night: a zone with hours (:mod:`alerts.forbidden`, the internet
cafe from 22:00 to 06:00) forbids being *in one place* then; a home curfew requires being
*at home*, within the order's radius of the subject's registered home, during its local
hours, wherever else the subject would be.

During the hours, a plausible fix whose whole accuracy circle lies beyond the radius is
away; ``curfew_fixes`` of them in a row within one night's hours (one in a security
period) alert, naming the fixes, the distance, the radius and the hours. A fix within the
radius is home: it cancels a pending breach and clears the alert. A fix in between (beyond
the radius, but within its accuracy of it) neither confirms nor cancels. A fix after the
hours cancels a pending breach; an open alert waits for the subject to be home (one alert
per absence). An approved leave with its return grace, or an open out-of-bounds or
leave-overstay alert, covers the absence: one fact, one alert.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from alerts.geofence import metres_between
from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.out_of_bounds import covering_leave
from alerts.protocol import Context, Input, Step
from models.events import AlertType, LocationFix
from models.localtime import hours_end, show_hours

KIND: AlertType = "home_curfew"
COVERED_BY: tuple[AlertType, ...] = ("out_of_bounds", "leave_overstay")


class AwayState(msgspec.Struct, frozen=True, omit_defaults=True):
    order: str | None = None  # the order whose curfew the subject is away in
    since: datetime | None = None  # event time of the first away fix
    evidence: list[str] = []  # the away fixes in a row (pending)
    raised: bool = False


class HomeCurfew:
    name = "home_curfew"
    kinds: tuple[AlertType, ...] = (KIND,)
    State = AwayState

    def due(self, ctx: Context, state: AwayState, book: AlertBook) -> datetime | None:
        return None  # decided on fixes only

    def step(self, ctx: Context, state: AwayState, book: AlertBook, item: Input) -> Step:
        if not isinstance(item, LocationFix) or not ctx.plausible or ctx.late:
            return state, book, []
        fix, at = item, item.occurred_at
        binding = next((o for o in ctx.view.orders if o.curfew_at(at)), None)
        order = binding or next((o for o in ctx.view.orders if o.id == state.order), None)
        if order is None or order.home is None or order.curfew is None:
            return AwayState(), book, []
        where = (fix.lat, fix.lon, fix.accuracy_m)
        metres = metres_between(*order.home, fix.lat, fix.lon)
        if metres <= order.home_radius_m:
            if not state.raised:
                return AwayState(), book, []
            reason = ("已回家", "back home")
            book, events = clear(ctx, book, KIND, fix.event_id, at, reason, where)
            return AwayState(), book, events
        if state.raised:
            return state, book, []
        if binding is None:  # the hours are over: a pending breach is not one
            return AwayState(), book, []
        if metres - fix.accuracy_m <= order.home_radius_m:  # perhaps at home: no news
            return state, book, []
        if covering_leave(ctx, at) or any(book.get(k) for k in COVERED_BY):
            return AwayState(), book, []
        hours = order.curfew
        pending = state.since if state.order == order.id else None
        if pending is not None and at < hours_end(pending, hours):  # the same night's hours
            since, evidence = pending, [*state.evidence, fix.event_id]
        else:
            since, evidence = at, [fix.event_id]
        if len(evidence) < ctx.limits.curfew_fixes:
            return AwayState(order.id, since, evidence), book, []
        radius, shown = order.home_radius_m, show_hours(hours)
        book, events = raise_alert(
            ctx,
            book,
            KIND,
            evidence,
            since,
            (
                f"宵禁时段 {shown} 离家 {metres:.0f} 米(居家范围 {radius:.0f} 米,"
                f"定位精度 {fix.accuracy_m:.0f} 米)",
                f"{metres:.0f} m from home (home is within {radius:.0f} m; fix accurate to "
                f"{fix.accuracy_m:.0f} m) in curfew hours {shown}",
            ),
            where,
        )
        return AwayState(order.id, since, raised=True), book, events


DETECTOR = HomeCurfew()
