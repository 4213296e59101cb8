"""What a worker does with one record, free of Faust: validate, then decide.

The agents in :mod:`streams.app` feed records through here; tests drive it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

import msgspec

from alerts import out_of_bounds
from alerts.clock import Clock
from alerts.geofence import Area
from models.events import AlertEvent, CheckIn, LocationFix, PointsEntry, Rejection, decode
from models.registry import Registry, SubjectRef
from scoring.engine import CreditState, score_checkin
from scoring.rules import RuleSet


class SubjectState(msgspec.Struct, frozen=True, omit_defaults=True):
    """Everything a worker remembers about one subject (a Faust table value)."""

    boundary: out_of_bounds.BoundaryState = out_of_bounds.BoundaryState()
    credits: CreditState = CreditState()


E = TypeVar("E", CheckIn, LocationFix)
EMPTY_STATE = SubjectState()
_state_encoder = msgspec.msgpack.Encoder()
_state_decoder = msgspec.msgpack.Decoder(SubjectState)


def dump_state(state: SubjectState) -> bytes:
    return _state_encoder.encode(state)


def load_state(raw: bytes | None) -> SubjectState:
    return EMPTY_STATE if raw is None else _state_decoder.decode(raw)


@dataclass
class Outcome:
    state: SubjectState
    alerts: list[AlertEvent] = field(default_factory=list)
    points: list[PointsEntry] = field(default_factory=list)


class Pipeline:
    """Validation and decisions over the current reference data and rule set."""

    def __init__(
        self, registry: Registry, ruleset: RuleSet, clock: Clock, max_clock_skew_s: float
    ) -> None:
        self.ruleset = ruleset
        self.clock = clock
        self.max_skew = timedelta(seconds=max_clock_skew_s)
        self.use(registry)

    def use(self, registry: Registry) -> None:
        """Switch to fresh reference data (called when the registry is reloaded)."""
        self.registry = registry
        self.county = Area(registry.county) if registry.county else None

    # validation -------------------------------------------------------------------------
    def validate_checkin(self, payload: bytes, key: bytes | None) -> CheckIn | Rejection:
        event = decode(payload, CheckIn)
        if isinstance(event, Rejection):
            return event
        if event.terminal_id not in self.registry.terminals:
            return Rejection(
                "unknown_terminal", f"terminal {event.terminal_id!r} is not registered"
            )
        return self._check_common(event, key)

    def validate_location(self, payload: bytes, key: bytes | None) -> LocationFix | Rejection:
        event = decode(payload, LocationFix)
        if isinstance(event, Rejection):
            return event
        return self._check_common(event, key)

    def _check_common(self, event: E, key: bytes | None) -> E | Rejection:
        if event.subject_id not in self.registry.subjects:
            return Rejection("unknown_subject", f"subject {event.subject_id!r} is not registered")
        if key is None or key.decode("utf-8", "replace") != event.subject_id:
            return Rejection(
                "key_mismatch", f"record key {key!r} must be the subject id {event.subject_id!r}"
            )
        ahead = event.occurred_at - self.clock.now()
        if ahead > self.max_skew:
            return Rejection(
                "timestamp_in_future", f"occurred_at is {ahead} ahead of the worker's clock"
            )
        return event

    # decisions --------------------------------------------------------------------------
    def subject(self, subject_id: str) -> SubjectRef:
        return self.registry.subjects[subject_id]

    def apply_checkin(self, state: SubjectState, event: CheckIn) -> Outcome:
        credits, entries = score_checkin(
            self.ruleset,
            state.credits,
            event,
            self.subject(event.subject_id),
            self.registry.terminals[event.terminal_id],
            self.clock.now(),
        )
        new = state if credits is state.credits else msgspec.structs.replace(state, credits=credits)
        return Outcome(new, points=entries)

    def apply_location(self, state: SubjectState, event: LocationFix) -> Outcome:
        if self.county is None:
            return Outcome(state)
        boundary, alerts = out_of_bounds.observe(
            state.boundary,
            event,
            self.subject(event.subject_id),
            self.county,
            self.registry.leaves.get(event.subject_id, ()),
            self.clock.now(),
        )
        if boundary is state.boundary:
            return Outcome(state)
        return Outcome(msgspec.structs.replace(state, boundary=boundary), alerts=alerts)
