"""Loads the reference data a worker decides with (:mod:`models.values`) from the database."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import msgspec
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from models.localtime import Span
from models.records import ClosedMonth, WatchStart
from models.reference import (
    DeviceKeyRow,
    Geofence,
    GeofenceKind,
    LeavePermit,
    LeaveStatus,
    Office,
    PositioningApproval,
    ProhibitionOrder,
    SecurityPeriodRow,
    Subject,
    Terminal,
    supervised_until,
)
from models.values import (
    Days,
    DeviceKey,
    LeaveWindow,
    OrderRef,
    PositioningWindow,
    Registry,
    SecurityPeriod,
    SubjectRef,
    TerminalRef,
    ZoneRef,
)


def load_registry(engine: Engine) -> Registry:
    """Read subjects, terminals, approved leaves, zones, prohibition orders, security
    periods, the closed months, the device keys, the e-positioning approvals and when
    ccwatch began watching, in one session."""
    with Session(engine) as session:
        zones = {o.id: o.zone.value for o in session.scalars(select(Office))}
        # The big tables are read as rows, not ORM objects (a tenth of the time: a worker
        # reads the register every CCWATCH_REGISTRY_REFRESH_S, for 700,000 subjects).
        rows = session.connection()  # Core rows: no ORM loading per row
        people = rows.execute(
            select(
                Subject.id,
                Subject.office_id,
                Subject.level,
                Subject.starts_on,
                Subject.ends_on,
                Subject.released_on,
                Subject.signal_grace_s,
                Subject.case_id,
                Subject.home_lat,
                Subject.home_lon,
            )
        ).all()
        subjects = {
            s.id: SubjectRef(
                s.id,
                s.office_id,
                zones[s.office_id],
                s.level.value,
                s.starts_on,
                supervised_until(s.ends_on, s.released_on),
                s.signal_grace_s,
                s.case_id,
            )
            for s in people
        }
        terminals = {
            t.id: TerminalRef(t.id, t.office_id, t.lat, t.lon)
            for t in session.scalars(select(Terminal))
        }
        leaves: dict[str, list[LeaveWindow]] = defaultdict(list)
        periods = security_periods(session)
        approved = select(LeavePermit).where(LeavePermit.status == LeaveStatus.APPROVED)
        for p in session.scalars(approved):
            leaves[p.subject_id].append(
                LeaveWindow(p.id, p.starts_at, p.ends_at, p.destination, p.approved_at, p.emergency)
            )
        fences = session.scalars(select(Geofence).order_by(Geofence.id)).all()
        homes = {s.id: (s.home_lat, s.home_lon) for s in people}
        orders: dict[str, list[OrderRef]] = defaultdict(list)
        named = selectinload(ProhibitionOrder.no_contact)
        for o in session.scalars(select(ProhibitionOrder).options(named).order_by("id")):
            orders[o.subject_id].append(_order(o, homes[o.subject_id]))
        closed = {c.month: c.closed_at for c in session.scalars(select(ClosedMonth))}
        watch_started = session.scalar(select(WatchStart.started_at))
        k = DeviceKeyRow
        keys = {
            key_id: DeviceKey(key_id, device, subject, bytes.fromhex(secret), created, retired)
            for key_id, device, subject, secret, created, retired in rows.execute(
                select(k.key_id, k.device_id, k.subject_id, k.secret, k.created_at, k.retired_at)
            )
        }
        positioning: dict[str, list[PositioningWindow]] = defaultdict(list)
        pa = PositioningApproval
        by_start = select(pa.id, pa.subject_id, pa.starts_on, pa.ends_on, pa.revoked_at)
        for key, subject, first, last, revoked in rows.execute(by_start.order_by(pa.starts_on)):
            positioning[subject].append(PositioningWindow.of(Span(key, first, last), revoked))
    county = next((f for f in fences if f.kind == GeofenceKind.COUNTY), None)
    order_days = {o.id: o.days for v in orders.values() for o in v}
    forbidden: dict[str, list[ZoneRef]] = defaultdict(list)
    for f in fences:
        if f.kind == GeofenceKind.FORBIDDEN and f.subject_id:
            forbidden[f.subject_id].append(_zone(f, order_days.get(f.order_id or "")))
    return Registry(
        subjects=subjects,
        terminals=terminals,
        leaves={k: tuple(sorted(v, key=lambda w: w.starts_at)) for k, v in leaves.items()},
        county=county.geometry if county else None,
        exits=tuple(_zone(f) for f in fences if f.kind == GeofenceKind.EXIT),
        forbidden={k: tuple(v) for k, v in forbidden.items()},
        orders={k: tuple(v) for k, v in orders.items()},
        periods=periods,
        closed_months=closed,
        keys=keys,
        watch_started=watch_started,
        positioning={k: tuple(v) for k, v in positioning.items()},
    )


def security_periods(session: Session) -> tuple[SecurityPeriod, ...]:
    """Every security period, earliest first."""
    rows = session.scalars(select(SecurityPeriodRow).order_by(SecurityPeriodRow.starts_at))
    return tuple(
        SecurityPeriod(p.id, p.name, p.starts_at, p.ends_at, tuple(p.offices)) for p in rows
    )


def _zone(f: Geofence, days: Days | None = None) -> ZoneRef:
    return ZoneRef(
        f.id, f.name, f.geometry, f.buffer_m, _hours(f.active_from_hour, f.active_to_hour), days
    )


def _order(o: ProhibitionOrder, home: tuple[float | None, float | None]) -> OrderRef:
    """An order's days, its curfew (judged only where the subject has a home on the
    register) and the persons it names."""
    lat, lon = home
    return OrderRef(
        o.id,
        o.subject_id,
        Days(o.starts_on, o.last_day()),
        _hours(o.curfew_from_hour, o.curfew_to_hour),
        None if lat is None or lon is None else (lat, lon),
        o.home_radius_m or 0.0,
        tuple(p.person_id for p in o.no_contact),
    )


def _hours(start: int | None, end: int | None) -> tuple[int, int] | None:
    return None if start is None or end is None else (start, end)


def save_snapshot(registry: Registry, path: Path) -> None:
    """Keep the last registry read, so a worker can start while the database is down
    (written whole, then renamed; readable by its owner only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(msgspec.json.encode(registry))
    tmp.replace(path)


def load_snapshot(path: Path) -> Registry | None:
    """The registry :func:`save_snapshot` kept, or None (none kept, or unreadable)."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=Registry)
    except (OSError, msgspec.DecodeError):
        return None
