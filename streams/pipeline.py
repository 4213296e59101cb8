"""What a worker does with one record, free of Faust: validate, then decide.

The agents in :mod:`streams.app` feed records through here; replays and tests drive it
directly. Every decision is made below, in alerts/ and scoring/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

import msgspec

from alerts import out_of_bounds
from alerts.clock import Clock
from alerts.geofence import Area
from models.events import (
    Activity,
    AlertEvent,
    CheckIn,
    Decision,
    LocationFix,
    MonthClose,
    PointsEntry,
    Recommendation,
    Rejection,
    decode,
)
from models.registry import Registry, SubjectRef
from scoring.ledger import Ledger, LedgerOutcome, LedgerState
from scoring.rules import RuleSet


class SubjectState(msgspec.Struct, frozen=True, omit_defaults=True):
    """Everything a worker remembers about one subject (a Faust table value)."""

    boundary: out_of_bounds.BoundaryState = out_of_bounds.BoundaryState()
    ledger: LedgerState = LedgerState()


E = TypeVar("E", CheckIn, LocationFix, Activity, Decision)
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
    recommendations: list[Recommendation] = field(default_factory=list)


class Pipeline:
    """Validation and decisions over the current reference data and rule set."""

    def __init__(
        self, registry: Registry, ruleset: RuleSet, clock: Clock, max_clock_skew_s: float
    ) -> None:
        self.ledger = Ledger(ruleset)
        self.clock = clock
        self.max_skew = timedelta(seconds=max_clock_skew_s)
        self.use(registry)

    def use(self, registry: Registry) -> None:
        """Switch to fresh reference data (called when the registry is reloaded)."""
        self.registry = registry
        self.county = Area(registry.county) if registry.county else None

    # validation -------------------------------------------------------------------------
    def validate_checkin(self, payload: bytes, key: bytes | None) -> CheckIn | Rejection:
        event = self._decode(payload, key, CheckIn)
        if not isinstance(event, Rejection) and event.terminal_id not in self.registry.terminals:
            return Rejection(
                "unknown_terminal", f"terminal {event.terminal_id!r} is not registered"
            )
        return event

    def validate_location(self, payload: bytes, key: bytes | None) -> LocationFix | Rejection:
        return self._decode(payload, key, LocationFix)

    def validate_activity(self, payload: bytes, key: bytes | None) -> Activity | Rejection:
        event = self._decode(payload, key, Activity)
        if not isinstance(event, Rejection) and event.terminal_id not in self.registry.terminals:
            return Rejection(
                "unknown_terminal", f"terminal {event.terminal_id!r} is not registered"
            )
        return event

    def validate_decision(self, payload: bytes, key: bytes | None) -> Decision | Rejection:
        return self._decode(payload, key, Decision)

    def _decode(self, payload: bytes, key: bytes | None, kind: type[E]) -> E | Rejection:
        event = decode(payload, kind)
        if isinstance(event, Rejection):
            return event
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
        terminal = self.registry.terminals[event.terminal_id]
        return self._ledger(
            state,
            self.ledger.on_checkin(
                state.ledger, event, self.subject(event.subject_id), terminal, self.clock.now()
            ),
        )

    def apply_activity(self, state: SubjectState, event: Activity) -> Outcome:
        return self._ledger(
            state,
            self.ledger.on_activity(
                state.ledger, event, self.subject(event.subject_id), self.clock.now()
            ),
        )

    def apply_decision(self, state: SubjectState, event: Decision) -> Outcome:
        return self._ledger(
            state,
            self.ledger.on_decision(
                state.ledger, event, self.subject(event.subject_id), self.clock.now()
            ),
        )

    def apply_location(self, state: SubjectState, event: LocationFix) -> Outcome:
        if self.county is None:
            return Outcome(state)
        subject = self.subject(event.subject_id)
        boundary, alerts = out_of_bounds.observe(
            state.boundary,
            event,
            subject,
            self.county,
            self.registry.leaves.get(event.subject_id, ()),
            self.clock.now(),
        )
        if boundary is state.boundary:
            return Outcome(state)
        return self._alerts(msgspec.structs.replace(state, boundary=boundary), alerts)

    def close_month(self, state: SubjectState, subject_id: str, close: MonthClose) -> Outcome:
        return self._ledger(
            state,
            self.ledger.close_month(
                state.ledger, self.subject(subject_id), close, self.clock.now()
            ),
        )

    def _alerts(self, state: SubjectState, alerts: list[AlertEvent]) -> Outcome:
        """Alert transitions are published and scored (verified violations cost points)."""
        out = Outcome(state, alerts=alerts)
        for alert in alerts:
            scored = self._ledger(
                out.state,
                self.ledger.on_alert(
                    out.state.ledger, alert, self.subject(alert.subject_id), self.clock.now()
                ),
            )
            out.state = scored.state
            out.points += scored.points
            out.recommendations += scored.recommendations
        return out

    @staticmethod
    def _ledger(state: SubjectState, result: LedgerOutcome) -> Outcome:
        if result.state is state.ledger:
            return Outcome(state)
        new = msgspec.structs.replace(state, ledger=result.state)
        return Outcome(new, points=result.entries, recommendations=result.recommendations)
