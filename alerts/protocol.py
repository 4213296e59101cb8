"""The detector protocol: one context, one step type, one deadline rule.

A detector is a value with a ``name``, the alert ``kinds`` it raises, its per-subject
``State`` (a msgspec struct with defaults), and two pure functions:

- ``step(ctx, state, book, item) -> (state, book, transitions)``: apply one input, a
  location fix, a check-in, a device event, a sighting, or :class:`Time` (a deadline
  reached in event time);
- ``due(ctx, state, book) -> datetime | None``: the next event time at which the detector
  must be woken even if no input arrives (silence, dwell, grace periods).

The engine (:mod:`alerts.engine`) feeds a subject's inputs in event-time order and wakes
each detector at its deadlines, so decisions depend on event times alone, never on when
records or ticks happen to arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from alerts.geofence import Area, Zone
from alerts.lifecycle import AlertBook
from alerts.policy import Thresholds
from alerts.track import Track
from models.events import AlertEvent, AlertType, CheckIn, DeviceEvent, LocationFix, Sighting
from models.localtime import Period
from models.values import (
    LeaveWindow,
    OrderRef,
    PositioningWindow,
    SecurityPeriod,
    SubjectRef,
    TerminalRef,
    positioned,
)


@dataclass(frozen=True, slots=True)
class Time:
    """Event time has reached ``at`` (a deadline, or a security period's start or end)."""

    at: datetime


Input = LocationFix | CheckIn | DeviceEvent | Sighting | Time


def when(item: Input) -> datetime:
    return item.at if isinstance(item, Time) else item.occurred_at


@dataclass(frozen=True, slots=True)
class View:
    """The reference data one subject is judged with (read-only, from the register)."""

    county: Area | None = None
    exits: tuple[Area, ...] = ()
    leaves: tuple[LeaveWindow, ...] = ()
    zones: Mapping[float, tuple[Zone, ...]] = field(default_factory=dict)  # by policy buffer
    terminals: Mapping[str, TerminalRef] = field(default_factory=dict)
    checkin_period: Period = "month"
    orders: tuple[OrderRef, ...] = ()  # prohibition orders: home curfews (zones: above)
    positioning: tuple[PositioningWindow, ...] = ()  # e-positioning approvals (art. 29)

    def located(self, at: datetime) -> bool:
        """Whether the subject's positions may be judged at ``at``: an e-positioning
        approval is in force."""
        return positioned(self.positioning, at)


@dataclass(frozen=True, slots=True)
class Context:
    """What a detector may know besides its own state."""

    subject: SubjectRef
    view: View
    at: datetime  # event time of the input (or of the deadline being handled)
    limits: Thresholds  # in force at the input's event time
    period: SecurityPeriod | None  # the security period in force then, if any
    now: datetime  # processing time: when decisions are recorded and SLAs start
    track: Track  # the subject's movement, after this input
    plausible: bool = True  # this input, if a fix, is not an impossible jump
    # Since when ccwatch has watched the subject: the later of its first record and the
    # start of the watch (alerts.engine.watching_since); nothing before it is judged.
    watching_since: datetime | None = None
    # The input came later than its type's lateness bound (alerts.policy.is_late): it is
    # history. raise_alert and clear do nothing on it; a detector that would start a
    # pending condition on it (a dwell, a confirmation) ignores it.
    late: bool = False


Step = tuple[Any, AlertBook, list[AlertEvent]]


class Detector(Protocol):
    name: str
    kinds: tuple[AlertType, ...]
    State: type[Any]

    def step(self, ctx: Context, state: Any, book: AlertBook, item: Input) -> Step: ...

    def due(self, ctx: Context, state: Any, book: AlertBook) -> datetime | None: ...
