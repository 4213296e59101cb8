"""Forbidden zones (进入禁止区域): a prohibition order's places, some only at night.

A fix counts when it lies inside the zone (grown by its buffer and the policy's) and is
precise enough to accuse (not a cell-tower fix); a second such fix, or a later one still
inside after the dwell time, alerts, and leaving clears it. A single fix inside never
alerts by itself: a subject passing by is not in the zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.protocol import Context, Input, Step
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
        return None  # decided on fixes only

    def step(self, ctx: Context, state: ZoneState, book: AlertBook, item: Input) -> Step:
        if not isinstance(item, LocationFix) or not ctx.plausible or ctx.late:
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
        book, events = raise_alert(
            ctx,
            book,
            "forbidden_zone",
            evidence,
            since,
            (zone.name, f"inside {zone.name}"),
            where,
        )
        return ZoneState(zone.id, since, evidence[-2:]), book, events


DETECTOR = ForbiddenZone()
