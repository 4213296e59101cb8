"""The reference data a worker decides with, as plain immutable values (no database).

Pure: importing this module loads neither SQLAlchemy nor Faust; :mod:`models.registry`
reads these values from the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from models.localtime import Span, in_hours, local


@dataclass(frozen=True, slots=True)
class SubjectRef:
    """A subject as the workers judge them: ``starts_on`` to ``ends_on`` (inclusive) is the
    time under supervision, the term cut short by a release (解矫) where there was one."""

    id: str
    office_id: str
    zone: str
    level: str
    starts_on: date
    ends_on: date
    signal_grace_s: float = 0.0
    case_id: str | None = None

    def supervised_on(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


@dataclass(frozen=True, slots=True)
class TerminalRef:
    id: str
    office_id: str
    lat: float | None = None  # where the kiosk stands
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class LeaveWindow:
    """An approved leave: the subject may be outside the county during [starts_at, ends_at)."""

    id: str
    starts_at: datetime
    ends_at: datetime
    destination: str
    approved_at: datetime | None = None
    emergency: bool = False

    def covers(self, when: datetime) -> bool:
        return self.starts_at <= when < self.ends_at


@dataclass(frozen=True, slots=True)
class PositioningWindow:
    """An e-positioning approval (电子定位, Community Correction Law art. 29) as the workers
    use it: the subject's fixes and device events count during [starts_at, ends_at), from
    its first local day to the end of its last, or to its revocation."""

    id: str
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def of(cls, days: Span, revoked_at: datetime | None = None) -> PositioningWindow:
        """The window of an approval's days (``days.key``: its id), cut at a revocation."""
        starts = days.start().astimezone(UTC)  # in UTC, as event times are: cheap to compare
        ends = days.end() if revoked_at is None else min(days.end(), revoked_at)
        return cls(days.key, starts, max(ends, starts).astimezone(UTC))

    def covers(self, when: datetime) -> bool:
        return self.starts_at <= when < self.ends_at


def positioned(windows: Iterable[PositioningWindow], when: datetime) -> bool:
    """Whether one of a subject's e-positioning approvals is in force at ``when``."""
    return any(w.covers(when) for w in windows)


@dataclass(frozen=True, slots=True)
class SecurityPeriod:
    """A major event (重大活动) during which rules tighten, for the county or some offices."""

    id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    offices: tuple[str, ...] = ()  # empty: every office

    def covers(self, when: datetime, office_id: str) -> bool:
        return self.starts_at <= when < self.ends_at and (
            not self.offices or office_id in self.offices
        )


@dataclass(frozen=True, slots=True)
class Days:
    """Local days from ``first`` to ``last``, inclusive (``last`` None: open-ended)."""

    first: date
    last: date | None = None

    def holds(self, when: datetime) -> bool:
        day = local(when).date()
        return self.first <= day and (self.last is None or day <= self.last)


@dataclass(frozen=True, slots=True)
class ZoneRef:
    """A polygon from the database: an exit, or one subject's forbidden zone (of a
    prohibition order, in force on its days; ``days`` None: always)."""

    id: str
    name: str
    geometry: dict[str, Any]
    buffer_m: float = 0.0
    hours: tuple[int, int] | None = None
    days: Days | None = None


@dataclass(frozen=True, slots=True)
class OrderRef:
    """A prohibition order (禁止令) as the workers judge it, besides its forbidden zones
    (:class:`ZoneRef` with the order's days): its home curfew (宵禁, at home within
    ``home_radius_m`` of ``home`` during the local ``curfew`` hours) and the subjects it
    forbids the subject to meet (``no_contact``)."""

    id: str
    subject_id: str
    days: Days
    curfew: tuple[int, int] | None = None  # local [from, to), may wrap midnight
    home: tuple[float, float] | None = None  # lat, lon of the subject's registered home
    home_radius_m: float = 0.0
    no_contact: tuple[str, ...] = ()

    def curfew_at(self, when: datetime) -> bool:
        """Whether the subject must be at home at ``when`` under this order."""
        return (
            self.curfew is not None
            and self.home is not None
            and self.days.holds(when)
            and in_hours(when, self.curfew)
        )


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """A device's signing key (HMAC-SHA256). A kiosk's key signs check-ins and activities
    at that terminal for anyone (``subject_id`` None); a phone's or bracelet's key signs
    only its own subject's fixes and power events. Records dated at or after
    ``retired_at`` are refused with it."""

    key_id: str
    device_id: str  # a terminal id, or a phone's or bracelet's device id
    subject_id: str | None
    secret: bytes = field(repr=False)  # never printed or logged
    created_at: datetime | None = None
    retired_at: datetime | None = None


@dataclass(frozen=True)
class Registry:
    subjects: dict[str, SubjectRef] = field(default_factory=dict)
    terminals: dict[str, TerminalRef] = field(default_factory=dict)
    leaves: dict[str, tuple[LeaveWindow, ...]] = field(default_factory=dict)
    county: dict[str, Any] | None = None  # GeoJSON Polygon
    exits: tuple[ZoneRef, ...] = ()
    forbidden: dict[str, tuple[ZoneRef, ...]] = field(default_factory=dict)
    orders: dict[str, tuple[OrderRef, ...]] = field(default_factory=dict)  # by subject
    periods: tuple[SecurityPeriod, ...] = ()
    closed_months: dict[str, datetime] = field(default_factory=dict)  # month -> close asked
    keys: dict[str, DeviceKey] = field(default_factory=dict)  # by key id
    # When ccwatch began watching this database (its first worker's start; None: not
    # recorded, e.g. a replay's database). No time before it is judged.
    watch_started: datetime | None = None
    # Each subject's e-positioning approvals, in time order (:class:`PositioningWindow`).
    positioning: dict[str, tuple[PositioningWindow, ...]] = field(default_factory=dict)
