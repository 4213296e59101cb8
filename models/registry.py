"""The reference data a worker decides with, as plain immutable values, and its loader."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models.reference import (
    Geofence,
    GeofenceKind,
    LeavePermit,
    LeaveStatus,
    Office,
    Subject,
    Terminal,
)


@dataclass(frozen=True, slots=True)
class SubjectRef:
    id: str
    office_id: str
    zone: str
    level: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True, slots=True)
class TerminalRef:
    id: str
    office_id: str


@dataclass(frozen=True, slots=True)
class LeaveWindow:
    """An approved leave: the subject may be outside the county during [starts_at, ends_at)."""

    id: str
    starts_at: datetime
    ends_at: datetime
    destination: str

    def covers(self, when: datetime) -> bool:
        return self.starts_at <= when < self.ends_at


@dataclass(frozen=True)
class Registry:
    subjects: dict[str, SubjectRef] = field(default_factory=dict)
    terminals: dict[str, TerminalRef] = field(default_factory=dict)
    leaves: dict[str, tuple[LeaveWindow, ...]] = field(default_factory=dict)
    county: dict[str, Any] | None = None  # GeoJSON Polygon


def load_registry(engine: Engine) -> Registry:
    """Read subjects, terminals, approved leaves and the county outline in one session."""
    with Session(engine) as session:
        zones = {o.id: o.zone.value for o in session.scalars(select(Office))}
        subjects = {
            s.id: SubjectRef(
                s.id, s.office_id, zones[s.office_id], s.level.value, s.starts_on, s.ends_on
            )
            for s in session.scalars(select(Subject))
        }
        terminals = {
            t.id: TerminalRef(t.id, t.office_id) for t in session.scalars(select(Terminal))
        }
        leaves: dict[str, list[LeaveWindow]] = defaultdict(list)
        approved = select(LeavePermit).where(LeavePermit.status == LeaveStatus.APPROVED)
        for p in session.scalars(approved):
            leaves[p.subject_id].append(LeaveWindow(p.id, p.starts_at, p.ends_at, p.destination))
        county = session.scalars(
            select(Geofence).where(Geofence.kind == GeofenceKind.COUNTY).order_by(Geofence.id)
        ).first()
    return Registry(
        subjects=subjects,
        terminals=terminals,
        leaves={k: tuple(sorted(v, key=lambda w: w.starts_at)) for k, v in leaves.items()},
        county=county.geometry if county else None,
    )
