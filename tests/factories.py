"""Small builders for test events and reference data (pure, no I/O)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import msgspec

from ccwatch.seed import seed
from models.db import make_engine, metadata
from models.events import (
    Activity,
    AlertAction,
    AlertEvent,
    CheckIn,
    Decision,
    DeviceEvent,
    LocationFix,
    MonthClose,
    PointsEntry,
    encode,
)
from models.registry import load_registry
from models.signing import KINDS, S, sign, signing_keys
from models.values import DeviceKey, LeaveWindow, PositioningWindow, Registry, SecurityPeriod

T0 = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 12:00 in Shengsi
# When the tests' systems began watching: long before any event they send (a first start
# at the wall clock's time would judge none of the tests' months).
WATCHED_SINCE = datetime(2025, 1, 1, tzinfo=UTC)
INSIDE = (30.712, 122.451)  # Caiyuan
OUTSIDE = (30.850, 121.850)  # Luchao port, Shanghai


def device_secret(key_id: str) -> bytes:
    """The secret of a key in the tests: derived from its id, so that records are signed
    without a database (tests/conftest.py makes every database the tests seed enrol these)."""
    return hashlib.sha256(b"ccwatch-test-key/" + key_id.encode()).digest()


def device_key(device_id: str, subject_id: str | None = None, n: int = 1) -> DeviceKey:
    """The n-th key of a terminal (``subject_id`` None) or of a subject's device."""
    key_id = f"{device_id}.k{n}"
    return DeviceKey(key_id, device_id, subject_id, device_secret(key_id))


def signed(record: S, n: int = 1) -> S:
    """The record signed with the n-th key of its terminal or device, as seeded."""
    _, field, kiosk = KINDS[type(record)]
    subject = None if kiosk else record.subject_id
    return sign(record, device_key(getattr(record, field), subject, n))


def keyring() -> dict[str, DeviceKey]:
    """The key every seeded terminal and phone signs with, by device id (the simulator's)."""
    return signing_keys(_seeded().keys.values())


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
    positioning: dict[str, tuple[PositioningWindow, ...]] | None = None,
) -> Registry:
    """The seeded reference data: every subject's e-positioning approved for the whole
    term, unless ``positioning`` gives a subject's approvals instead."""
    base = _seeded()
    return replace(
        base,
        subjects=dict(base.subjects),
        keys=dict(base.keys),
        leaves=leaves or {},
        periods=periods,
        positioning=base.positioning | (positioning or {}),
    )


def approved(*spans: tuple[timedelta, timedelta]) -> tuple[PositioningWindow, ...]:
    """E-positioning approvals in force from ``T0 + start`` to ``T0 + end``."""
    return tuple(PositioningWindow(f"pos-{n}", T0 + a, T0 + b) for n, (a, b) in enumerate(spans))


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
    return signed(LocationFix(**(fields | over)))


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
    return signed(CheckIn(**(fields | over)))


def payload(event: CheckIn | LocationFix) -> bytes:
    return encode(event)


def leave(start: timedelta, end: timedelta, to: str = "Shanghai") -> LeaveWindow:
    return LeaveWindow("leave-1", T0 + start, T0 + end, to)


SOME_DAY = date(2026, 11, 29)


def activity(
    n: int, at: timedelta, kind: str, hours: float = 0.0, subject: str = "SS-0001"
) -> Activity:
    return signed(
        Activity(
            event_id=f"act-{subject}-{n}",
            subject_id=subject,
            terminal_id="T-caiyuan-1",
            occurred_at=T0 + at,
            activity=kind,  # type: ignore[arg-type]
            hours=hours,
        )
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


def device(n: int, at: timedelta, what: str = "power_off", subject: str = "SS-0001") -> DeviceEvent:
    return signed(
        DeviceEvent(
            event_id=f"dev-{subject}-{n}",
            subject_id=subject,
            device_id=f"P-{subject}",
            occurred_at=T0 + at,
            event=what,  # type: ignore[arg-type]
        )
    )


def action(n: int, at: timedelta, alert_id: str = "al-1", subject: str = "SS-0001") -> AlertAction:
    return AlertAction(
        event_id=f"act-{subject}-{n}",
        subject_id=subject,
        alert_id=alert_id,
        action="acknowledge",
        officer_id="O-caiyuan-1",
        occurred_at=T0 + at,
    )


def inputs(at: timedelta, subject: str = "SS-0001") -> dict[str, dict[str, Any]]:
    """A valid record of every input topic at ``T0 + at``, as its JSON fields."""
    records: dict[str, Any] = {
        "checkins": checkin(1, at, subject=subject),
        "locations": fix(1, at, INSIDE, subject=subject),
        "activities": activity(1, at, "study", 2.0, subject=subject),
        "decisions": decide("rec-1", at, subject=subject),
        "alert-actions": action(1, at, subject=subject),
        "devices": device(1, at, subject=subject),
    }
    return {name: msgspec.to_builtins(r) for name, r in records.items()}
