"""Forbidden zones (进入禁止区域): a prohibition order's places, some only at night.

A fix counts when it lies inside the zone (grown by its buffer and the policy's) and is
precise enough to accuse (not a cell-tower fix); a second such fix, or the dwell time
with no fix elsewhere, alerts, and leaving clears it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from alerts.geofence import Zone
from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.protocol import Context, Input, Step, Time
from models.events import AlertType, LocationFix

PRECISE_ENOUGH_M = 200.0


class ZoneState(msgspec.Struct, frozen=True, omit_defaults=True):
    zone: str | None = None
    since: datetime | None = None
    evidence: list[str] = []


class ForbiddenZone:
    name = "forbidden_zone"
    kinds: tuple[AlertType, ...] = ("forbidden_zone",)
    State = ZoneState

    def due(self, ctx: Context, state: ZoneState, book: AlertBook) -> datetime | None:
        if state.zone is None or state.since is None or book.get("forbidden_zone"):
            return None
        return state.since + timedelta(seconds=ctx.limits.forbidden_dwell_s)

    def step(self, ctx: Context, state: ZoneState, book: AlertBook, item: Input) -> Step:
        if isinstance(item, Time):
            zones = ctx.view.zones.get(ctx.limits.forbidden_buffer_m, ())
            zone = next((z for z in zones if z.id == state.zone), None)
            if zone is None or state.since is None or book.get("forbidden_zone"):
                return state, book, []
            if item.at - state.since < timedelta(seconds=ctx.limits.forbidden_dwell_s):
                return state, book, []
            return self._raise(ctx, state, book, zone, None)
        if not isinstance(item, LocationFix) or not ctx.plausible:
            return state, book, []
        fix = item
        where = (fix.lat, fix.lon, fix.accuracy_m)
        zone = next(
            (
                z
                for z in ctx.view.zones.get(ctx.limits.forbidden_buffer_m, ())
                if z.active(fix.occurred_at) and z.area.contains(fix.lat, fix.lon)
            ),
            None,
        )
        if zone is None or fix.accuracy_m > PRECISE_ENOUGH_M:
            if state.zone is None or (zone is not None and zone.id == state.zone):
                return state, book, []
            book, events = clear(
                ctx,
                book,
                "forbidden_zone",
                fix.event_id,
                fix.occurred_at,
                ("已离开禁止区域", "left the forbidden zone"),
                where,
            )
            return ZoneState(), book, events
        since = state.since if state.zone == zone.id and state.since else fix.occurred_at
        evidence = [*state.evidence, fix.event_id] if state.zone == zone.id else [fix.event_id]
        dwell = timedelta(seconds=ctx.limits.forbidden_dwell_s)
        if len(evidence) < 2 and fix.occurred_at - since < dwell:
            return ZoneState(zone.id, since, evidence), book, []
        return self._raise(ctx, ZoneState(zone.id, since, evidence), book, zone, where)

    def _raise(
        self,
        ctx: Context,
        state: ZoneState,
        book: AlertBook,
        zone: Zone,
        where: tuple[float, float, float] | None,
    ) -> Step:
        assert state.since is not None
        book, events = raise_alert(
            ctx,
            book,
            "forbidden_zone",
            state.evidence,
            state.since,
            (zone.name, f"inside {zone.name}"),
            where,
        )
        return ZoneState(zone.id, state.since, state.evidence[-2:]), book, events


DETECTOR = ForbiddenZone()
