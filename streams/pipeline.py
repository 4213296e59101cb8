"""What a worker does with one record, free of Faust: validate, then decide.

The agents in :mod:`streams.app` feed records through here; replays and tests drive it
directly. Every decision is made below, in alerts/ and scoring/; this module only routes
records to the detectors and the ledger and gathers what they decide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import msgspec

from alerts import engine, gathering, lifecycle
from alerts import leave as leave_rules
from alerts.clock import Clock
from alerts.engine import Detection, Env
from alerts.geofence import Area, Zone
from alerts.policy import Policy, Thresholds, in_force
from alerts.protocol import Input, View
from alerts.track import moved_on
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
    Recommendation,
    Rejection,
    Sighting,
    Tick,
    decode,
)
from models.values import Registry, SecurityPeriod, SubjectRef
from scoring.ledger import Ledger, LedgerOutcome, LedgerState
from scoring.rules import RuleSet


class SubjectState(msgspec.Struct, frozen=True, omit_defaults=True):
    """Everything a worker remembers about one subject (a Faust table value)."""

    detection: Detection = Detection()
    ledger: LedgerState = LedgerState()


E = TypeVar("E", CheckIn, LocationFix, Activity, Decision, AlertAction, DeviceEvent)
EMPTY_STATE = SubjectState()
_state_encoder = msgspec.msgpack.Encoder()
_state_decoder = msgspec.msgpack.Decoder(SubjectState)


def dump_state(state: SubjectState) -> bytes:
    return _state_encoder.encode(state)


def load_state(raw: bytes | None) -> SubjectState:
    if raw is None:
        return EMPTY_STATE
    state = _state_decoder.decode(raw)
    return msgspec.structs.replace(state, detection=engine.typed(state.detection))


def restore_state(raw: bytes | None) -> SubjectState:
    """A subject's state as a worker reads it back from the table: as of its last stored
    version, knowing what may have happened since (:func:`alerts.engine.restore`)."""
    state = load_state(raw)
    if state is EMPTY_STATE:
        return state
    return msgspec.structs.replace(state, detection=engine.restore(state.detection))


@dataclass
class Outcome:
    state: SubjectState
    alerts: list[AlertEvent] = field(default_factory=list)
    points: list[PointsEntry] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    rejected: Rejection | None = None  # valid record, but not applicable (dead-letter it)

    def durable(self, before: SubjectState) -> bool:
        """Whether the state must be stored: a decision changed (a device gone quiet is
        one), the device switched off, a run of suspect fixes grew or ended, or the
        last-seen time entered a new checkpoint slot (so a restored last-seen time is stale
        by less than :data:`alerts.track.CHECKPOINT`: silence is judged from the end of that
        slot after a restart). Fixes that change nothing else are not stored."""
        new, old = self.state, before
        if new is old:
            return False
        if new.ledger != old.ledger:
            return True
        a, b = new.detection, old.detection
        if a.book != b.book or a.states != b.states or a.watching_since != b.watching_since:
            return True
        track, was = a.track, b.track
        return (
            track.power_off_at != was.power_off_at
            or track.suspects != was.suspects
            or moved_on(was, track)
        )


class Pipeline:
    """Validation and decisions over the current reference data, policy and rule set."""

    def __init__(
        self,
        registry: Registry,
        ruleset: RuleSet,
        clock: Clock,
        max_clock_skew_s: float,
        policy: Policy | None = None,
    ) -> None:
        from alerts.policy import load_policy

        self.ledger = Ledger(ruleset)
        self.ruleset = ruleset
        self.policy = policy or load_policy()
        self.clock = clock
        self.max_skew = timedelta(seconds=max_clock_skew_s)
        self.use(registry)

    def use(self, registry: Registry) -> None:
        """Switch to fresh reference data (security periods, leaves, zones take effect)."""
        self.registry = registry
        self.county = Area(registry.county) if registry.county else None
        self.exits = tuple(Area(z.geometry, z.buffer_m) for z in registry.exits)
        self._views: dict[tuple[str, str], View] = {}
        self._groups: dict[str, list[SubjectRef]] = {}
        for subject in sorted(registry.subjects.values(), key=lambda s: s.id):
            if subject.case_id is not None:
                self._groups.setdefault(subject.case_id, []).append(subject)

    def view(self, subject: SubjectRef, level: str) -> View:
        """The reference data one subject is judged with; built once per subject."""
        key = (subject.id, level)
        if key not in self._views:
            buffers = {
                self.policy.normal.forbidden_buffer_m,
                self.policy.security.forbidden_buffer_m,
            }
            refs = self.registry.forbidden.get(subject.id, ())
            self._views[key] = View(
                county=self.county,
                exits=self.exits,
                leaves=leave_rules.in_force(
                    self.registry.leaves.get(subject.id, ()),
                    self.registry.periods,
                    subject.office_id,
                ),
                zones={
                    b: tuple(
                        Zone(z.id, z.name, Area(z.geometry, z.buffer_m + b), z.hours) for z in refs
                    )
                    for b in buffers
                },
                terminals=self.registry.terminals,
                checkin_period=self.ruleset.levels[level].checkin_period,  # type: ignore[index]
            )
        return self._views[key]

    def env(self, subject_id: str, state: SubjectState) -> Env:
        subject = self.subject(subject_id)
        view = self.view(subject, state.ledger.level or subject.level)
        return Env(subject, view, self.policy, self.registry.periods, self.clock.now())

    def steps(self) -> dict[str, tuple[Callable[..., Any], Callable[..., Outcome]]]:
        """Per input topic (short name): how its records are validated, then applied."""
        return {
            "checkins": (self.validate_checkin, self.apply_checkin),
            "locations": (self.validate_location, self.apply_location),
            "activities": (self.validate_activity, self.apply_activity),
            "decisions": (self.validate_decision, self.apply_decision),
            "alert-actions": (self.validate_action, self.apply_action),
            "devices": (self.validate_device, self.apply_device),
        }

    # validation -------------------------------------------------------------------------
    def validate_checkin(self, payload: bytes, key: bytes | None) -> CheckIn | Rejection:
        return self._terminal(self._decode(payload, key, CheckIn))

    def validate_location(self, payload: bytes, key: bytes | None) -> LocationFix | Rejection:
        return self._decode(payload, key, LocationFix)

    def validate_activity(self, payload: bytes, key: bytes | None) -> Activity | Rejection:
        return self._terminal(self._decode(payload, key, Activity))

    def validate_decision(self, payload: bytes, key: bytes | None) -> Decision | Rejection:
        return self._decode(payload, key, Decision)

    def validate_action(self, payload: bytes, key: bytes | None) -> AlertAction | Rejection:
        return self._decode(payload, key, AlertAction)

    def validate_device(self, payload: bytes, key: bytes | None) -> DeviceEvent | Rejection:
        return self._decode(payload, key, DeviceEvent)

    def _terminal(self, event: E | Rejection) -> E | Rejection:
        terminal = getattr(event, "terminal_id", None)
        if terminal is not None and terminal not in self.registry.terminals:
            return Rejection("unknown_terminal", f"terminal {terminal!r} is not registered")
        return event

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

    def limits(
        self, subject: SubjectRef, when: datetime
    ) -> tuple[Thresholds, SecurityPeriod | None]:
        return in_force(self.policy, self.registry.periods, when, subject.office_id)

    def detect(self, state: SubjectState, subject_id: str, item: Input) -> Outcome:
        """Run one input through the subject's detectors (deadlines before it first)."""
        detection, events = engine.observe(self.env(subject_id, state), state.detection, item)
        return self._alerts(msgspec.structs.replace(state, detection=detection), events)

    def apply_location(self, state: SubjectState, fix: LocationFix) -> Outcome:
        return self.detect(state, fix.subject_id, fix)

    def apply_device(self, state: SubjectState, event: DeviceEvent) -> Outcome:
        return self.detect(state, event.subject_id, event)

    def apply_sighting(self, state: SubjectState, seen: Sighting) -> Outcome:
        return self.detect(state, seen.subject_id, seen)

    def apply_checkin(self, state: SubjectState, event: CheckIn) -> Outcome:
        subject, now = self.subject(event.subject_id), self.clock.now()
        terminal = self.registry.terminals[event.terminal_id]
        scored = self._ledger(
            state, self.ledger.on_checkin(state.ledger, event, subject, terminal, now)
        )
        return self._merge(scored, self.detect(scored.state, event.subject_id, event))

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

    def apply_action(self, state: SubjectState, action: AlertAction) -> Outcome:
        """An officer acknowledges, dispatches or resolves an alert (verified -> points).
        Event time first reaches the action's time, so what was due before it is decided."""
        env = self.env(action.subject_id, state)
        detection, events = engine.advance(env, state.detection, action.occurred_at, False)
        result = lifecycle.act(detection.book, env.subject, action, env.now)
        if isinstance(result, str):
            return Outcome(state, rejected=Rejection("invalid_action", result))
        book, more = result
        detection = msgspec.structs.replace(detection, book=book)
        return self._alerts(msgspec.structs.replace(state, detection=detection), events + more)

    def tick(self, state: SubjectState, subject_id: str, tick: Tick) -> Outcome:
        """Event time reaches the tick's (the partition's watermark): every deadline up to
        it is handled; then alerts past their SLA (processing time) escalate."""
        env = self.env(subject_id, state)
        detection, events = engine.advance(env, state.detection, tick.at)
        book, more = lifecycle.overdue(detection.book, env.subject, env.now)
        if not events and not more and detection.at == state.detection.at:
            return Outcome(state)
        detection = msgspec.structs.replace(detection, book=book)
        return self._alerts(msgspec.structs.replace(state, detection=detection), events + more)

    def group_of(self, subject_id: str) -> str | None:
        """The group (case) whose members' fixes meet in one place, if any."""
        subject = self.registry.subjects.get(subject_id)
        return None if subject is None else subject.case_id

    def members(self, group: str) -> list[str]:
        return [s.id for s in self._groups.get(group, ())]

    def group_limits(self, group: str) -> Callable[[datetime], gathering.Limits]:
        """Gathering distance and dwell at a time: a security period covering any member's
        office tightens them for the whole group."""
        offices = {s.office_id for s in self._groups.get(group, ())}

        def at(when: datetime) -> gathering.Limits:
            tight = any(p.covers(when, o) for p in self.registry.periods for o in offices)
            limits = self.policy.security if tight else self.policy.normal
            return limits.gathering_distance_m, timedelta(seconds=limits.gathering_dwell_s)

        return at

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
            out = self._merge(
                out,
                self._ledger(
                    out.state,
                    self.ledger.on_alert(
                        out.state.ledger, alert, self.subject(alert.subject_id), self.clock.now()
                    ),
                ),
            )
        return out

    @staticmethod
    def _merge(first: Outcome, then: Outcome) -> Outcome:
        return Outcome(
            then.state,
            first.alerts + then.alerts,
            first.points + then.points,
            first.recommendations + then.recommendations,
        )

    @staticmethod
    def _ledger(state: SubjectState, result: LedgerOutcome) -> Outcome:
        if result.state is state.ledger:
            return Outcome(state)
        new = msgspec.structs.replace(state, ledger=result.state)
        return Outcome(new, points=result.entries, recommendations=result.recommendations)
