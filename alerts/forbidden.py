"""Forbidden zones (进入禁止区域): a prohibition order's places, some only at night.

A fix counts when it lies inside the zone (grown by its buffer and the policy's) and is
precise enough to accuse (not a cell-tower fix); a second such fix or the dwell time
alerts, and leaving clears it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from alerts.geofence import Area
from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.policy import Thresholds
from models.events import AlertEvent, LocationFix
from models.localtime import local
from models.values import SecurityPeriod, SubjectRef

RULE = "forbidden_zone/1"
PRECISE_ENOUGH_M = 200.0


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    area: Area
    hours: tuple[int, int] | None = None  # local [from, to), may wrap midnight (curfews)

    def active(self, when: datetime) -> bool:
        if self.hours is None:
            return True
        start, end = self.hours
        hour = local(when).hour
        return start <= hour < end if start < end else (hour >= start or hour < end)


class ZoneState(msgspec.Struct, frozen=True, omit_defaults=True):
    zone: str | None = None
    since: datetime | None = None
    evidence: list[str] = []


def observe(
    state: ZoneState,
    book: AlertBook,
    fix: LocationFix,
    subject: SubjectRef,
    zones: Sequence[Zone],
    limits: Thresholds,
    period: SecurityPeriod | None,
    now: datetime,
) -> tuple[ZoneState, AlertBook, list[AlertEvent]]:
    where = (fix.lat, fix.lon, fix.accuracy_m)
    zone = next(
        (z for z in zones if z.active(fix.occurred_at) and z.area.contains(fix.lat, fix.lon)), None
    )
    if zone is None or fix.accuracy_m > PRECISE_ENOUGH_M:
        if state.zone is None or (zone is not None and zone.id == state.zone):
            return state, book, []
        book, events = clear(
            book,
            subject,
            "forbidden_zone",
            fix.event_id,
            fix.occurred_at,
            now,
            ("已离开禁止区域", "left the forbidden zone"),
            where,
        )
        return ZoneState(), book, events
    since = state.since if state.zone == zone.id and state.since else fix.occurred_at
    evidence = [*state.evidence, fix.event_id] if state.zone == zone.id else [fix.event_id]
    if len(evidence) < 2 and fix.occurred_at - since < timedelta(seconds=limits.forbidden_dwell_s):
        return ZoneState(zone.id, since, evidence), book, []
    book, events = raise_alert(
        book,
        subject,
        "forbidden_zone",
        "high",
        RULE,
        evidence,
        since,
        now,
        limits,
        period,
        (f"进入禁止区域:{zone.name}", f"inside forbidden zone {zone.name}"),
        where,
    )
    return ZoneState(zone.id, since, evidence[-2:]), book, events
