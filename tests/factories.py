"""Small builders for test events and reference data (pure, no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import msgspec

from ccwatch.seed import seed
from models.db import make_engine, metadata
from models.events import (
    Activity,
    AlertEvent,
    CheckIn,
    Decision,
    LocationFix,
    MonthClose,
    PointsEntry,
    encode,
)
from models.registry import load_registry
from models.values import LeaveWindow, Registry, SecurityPeriod

T0 = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 12:00 in Shengsi
INSIDE = (30.712, 122.451)  # Caiyuan
OUTSIDE = (30.850, 121.850)  # Luchao port, Shanghai


@cache
def _seeded() -> Registry:
    """The Shengsi reference data as a worker loads it: seeded into SQLite, read back."""
    engine = make_engine("sqlite://")
    metadata.create_all(engine)
    seed(engine)
    return load_registry(engine)


def registry(
    leaves: dict[str, tuple[LeaveWindow, ...]] | None = None,
    periods: tuple[SecurityPeriod, ...] = (),
) -> Registry:
    base = _seeded()
    return replace(base, subjects=dict(base.subjects), leaves=leaves or {}, periods=periods)


def fix(
    n: int, at: timedelta, where: tuple[float, float], subject: str = "SS-0007", **over: Any
) -> LocationFix:
    fields: dict[str, Any] = dict(
        event_id=f"fix-{subject}-{n}",
        subject_id=subject,
        device_id=f"P-{subject}",
        occurred_at=T0 + at,
        lat=where[0],
        lon=where[1],
        accuracy_m=15.0,
        source="gps",
        battery_pct=80,
    )
    return LocationFix(**(fields | over))


def checkin(
    n: int, at: timedelta, subject: str = "SS-0001", terminal: str = "T-caiyuan-1", **over: Any
) -> CheckIn:
    fields: dict[str, Any] = dict(
        event_id=f"chk-{subject}-{n}",
        subject_id=subject,
        terminal_id=terminal,
        occurred_at=T0 + at,
        method="face",
        match_score=0.95,
    )
    return CheckIn(**(fields | over))


def payload(event: CheckIn | LocationFix) -> bytes:
    return encode(event)


def leave(start: timedelta, end: timedelta, to: str = "Shanghai") -> LeaveWindow:
    return LeaveWindow("leave-1", T0 + start, T0 + end, to)


SOME_DAY = date(2026, 11, 29)


def activity(
    n: int, at: timedelta, kind: str, hours: float = 0.0, subject: str = "SS-0001"
) -> Activity:
    return Activity(
        event_id=f"act-{subject}-{n}",
        subject_id=subject,
        terminal_id="T-caiyuan-1",
        occurred_at=T0 + at,
        activity=kind,  # type: ignore[arg-type]
        hours=hours,
    )


def verified(
    n: int, at: timedelta, alert_type: str = "out_of_bounds", subject: str = "SS-0001"
) -> AlertEvent:
    """An alert resolved by an officer as a verified violation."""
    return AlertEvent(
        transition_id=f"tr-{subject}-{n}",
        alert_id=f"al-{subject}-{n}",
        transition="resolved",
        alert_type=alert_type,  # type: ignore[arg-type]
        severity="high",
        subject_id=subject,
        office_id="caiyuan",
        zone="central",
        rule=f"{alert_type}/1",
        evidence=[f"fix-{n}"],
        occurred_at=T0 + at,
        recorded_at=T0 + at,
        reason_zh="核实",
        reason_en="verified",
        actor="O-caiyuan-1",
        outcome="verified_violation",
    )


def decide(
    rec_id: str, at: timedelta, confirmed: bool = True, subject: str = "SS-0001"
) -> Decision:
    return Decision(
        event_id=f"dec-{rec_id[:8]}-{confirmed}",
        subject_id=subject,
        recommendation_id=rec_id,
        decision="confirmed" if confirmed else "rejected",
        officer_id="O-caiyuan-1",
        occurred_at=T0 + at,
    )


def close(month: str) -> MonthClose:
    from streams.control import close_record

    return msgspec.structs.replace(close_record(month, "test"), occurred_at=T0)


def points_entry(
    entry_id: str = "e-1", subject: str = "SS-0001", rule_version: int = 1
) -> PointsEntry:
    return PointsEntry(
        entry_id=entry_id,
        subject_id=subject,
        office_id="caiyuan",
        occurred_at=T0,
        local_month="2026-11",
        ruleset_id="shengsi-points",
        ruleset_version="2026.1",
        rule_id="checkin.on_time",
        rule_version=rule_version,
        delta=1,
        evidence=["ev-1"],
        reason_zh="按时报到",
        reason_en="On-time check-in",
        recorded_at=T0,
    )
