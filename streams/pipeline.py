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

from alerts import applied, engine, gathering, lifecycle
from alerts import leave as leave_rules
from alerts.clock import Clock
from alerts.engine import Detection, Env
from alerts.geofence import Area, Zone
from alerts.policy import Policy, Thresholds, in_force, is_late
from alerts.protocol import Input, View
from alerts.track import moved_on
from models.datum import to_wgs84
from models.events import (
    Activity,
    AlertAction,
    AlertEvent,
    CheckIn,
    Decision,
    DeviceEvent,
    LocationBatch,
    LocationFix,
    MonthClose,
    PointsEntry,
    Recommendation,
    RegisterChanged,
    Rejection,
    Sighting,
    Tick,
    decode,
    decode_control,
    unbatch,
)
from models.limits import MAX_EVENT_AGE_S
from models.localtime import local, month_span
from models.signing import S, retired, verify
from models.values import Registry, SecurityPeriod, SubjectRef, positioned
from scoring.ledger import Ledger, LedgerOutcome, LedgerState
from scoring.rules import RuleSet


class SubjectState(msgspec.Struct, frozen=True, omit_defaults=True):
    """Everything a worker remembers about one subject (a Faust table value).

    ``applied``, the event ids the subject applied (:mod:`alerts.applied`), never makes
    the state durable by itself (:meth:`Outcome.durable`), yet redelivery still works: a
    state written to the changelog carries the ids of every record whose effects it holds,
    so Kafka delivering those again after a crash finds them applied (duplicates); a
    record whose effects were not written is not remembered there either, and is simply
    applied again, with the same result (every id it makes derives from its evidence).
    """

    detection: Detection = Detection()
    ledger: LedgerState = LedgerState()
    applied: applied.Applied = applied.Applied()


E = TypeVar("E", CheckIn, LocationFix, Activity, Decision, AlertAction, DeviceEvent)
D = TypeVar("D", CheckIn, LocationFix, LocationBatch, Activity, Decision, AlertAction, DeviceEvent)
Record = CheckIn | LocationFix | Activity | Decision | AlertAction | DeviceEvent
# Applies one record to a subject's state: the state, the record, and when it reached
# Kafka (its broker timestamp; None when unknown, e.g. a log file: taken as on time).
Step = Callable[[SubjectState, Any, datetime | None], "Outcome"]
EMPTY_STATE = SubjectState()
_state_encoder = msgspec.msgpack.Encoder()
_state_decoder = msgspec.msgpack.Decoder(SubjectState)


def in_wgs84(fix: LocationFix | Rejection) -> LocationFix | Rejection:
    """The fix with its position in WGS-84 (:mod:`models.datum`, exact to 0.1 mm) and
    ``datum="wgs84"``. Its ``key_id`` and ``sig`` are of the record as sent, already checked.
    The same record converts the same way every time, so a repeat is a duplicate."""
    if isinstance(fix, Rejection) or fix.datum == "wgs84":
        return fix
    lat, lon = to_wgs84(fix.datum, fix.lat, fix.lon)
    return msgspec.structs.replace(fix, lat=lat, lon=lon, datum="wgs84")


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
    duplicate: bool = False  # already applied (same event id and content): nothing to do
    late: bool = False  # beyond its lateness bound: changed no alert
    # A fix or device event at a time without an e-positioning approval: not judged
    unapproved: bool = False

    @property
    def judged(self) -> bool:
        """Whether the record was applied to detection (neither refused nor a duplicate,
        nor a fix or device event without an e-positioning approval)."""
        return self.rejected is None and not self.duplicate and not self.unapproved

    def durable(self, before: SubjectState) -> bool:
        """Whether the state must be stored: a decision changed (a device gone quiet is
        one), the track's position moved, the device switched off, a run of suspect fixes
        grew or ended, or the last-seen time entered a new checkpoint slot (so a restored
        last-seen time is stale by less than :data:`alerts.track.CHECKPOINT`: silence is
        judged from the end of that slot after a restart). Fixes that change nothing else
        (a phone lying still) are not stored."""
        new, old = self.state, before
        if new is old:
            return False
        if new.ledger != old.ledger:
            return True
        a, b = new.detection, old.detection
        if a.book != b.book or a.states != b.states or a.first_record != b.first_record:
            return True
        track, was = a.track, b.track
        return (
            track.at != was.at
            or track.power_off_at != was.power_off_at
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
        max_event_age_s: float = MAX_EVENT_AGE_S,
    ) -> None:
        from alerts.policy import load_policy

        self.ledger = Ledger(ruleset)
        self.ruleset = ruleset
        self.policy = policy or load_policy()
        self.keep = {
            k: applied.Keep(p.ids_keep_s, p.ids_keep) for k, p in self.policy.inputs.items()
        }
        self.clock = clock
        self.max_skew = timedelta(seconds=max_clock_skew_s)
        self.max_age = timedelta(seconds=max_event_age_s)
        self.use(registry)

    def use(self, registry: Registry) -> None:
        """Switch to fresh reference data (security periods, leaves, zones take effect)."""
        self.registry = registry
        self.ledger.closed_months = registry.closed_months
        self.ledger.watch_started = registry.watch_started
        self.county = Area(registry.county) if registry.county else None
        self.exits = tuple(Area(z.geometry, z.buffer_m) for z in registry.exits)
        self._views: dict[tuple[str, str], View] = {}
        self._cases = {s.id: s.case_id for s in registry.subjects.values()}
        named = [
            (o.subject_id, p) for v in registry.orders.values() for o in v for p in o.no_contact
        ]
        self._groups = gathering.groups(self._cases, named)
        self._group_of = {s: g for g, members in self._groups.items() for s in members}

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
                        Zone(z.id, z.name, Area(z.geometry, z.buffer_m + b), z.hours, z.days)
                        for z in refs
                    )
                    for b in buffers
                },
                terminals=self.registry.terminals,
                checkin_period=self.ruleset.levels[level].checkin_period,  # type: ignore[index]
                positioning=self.registry.positioning.get(subject.id, ()),
                orders=self.registry.orders.get(subject.id, ()),
            )
        return self._views[key]

    def env(self, subject_id: str, state: SubjectState) -> Env:
        subject = self.subject(subject_id)
        view = self.view(subject, state.ledger.level or subject.level)
        return Env(
            subject,
            view,
            self.policy,
            self.registry.periods,
            self.clock.now(),
            self.registry.watch_started,
        )

    def steps(self) -> dict[str, tuple[Callable[..., Any], Step]]:
        """Per input topic (short name): how its records are validated, then applied."""
        return {
            "checkins": (self.validate_checkin, self.apply_checkin),
            "locations": (self.validate_locations, self.apply_location),
            "activities": (self.validate_activity, self.apply_activity),
            "decisions": (self.validate_decision, self.apply_decision),
            "alert-actions": (self.validate_action, self.apply_action),
            "devices": (self.validate_device, self.apply_device),
        }

    # validation -------------------------------------------------------------------------
    def validate_checkin(self, payload: bytes, key: bytes | None) -> CheckIn | Rejection:
        return self._signed(self._terminal(self._supervised(self._decode(payload, key, CheckIn))))

    def validate_location(self, payload: bytes, key: bytes | None) -> LocationFix | Rejection:
        """A fix, in WGS-84: its signature checked over the record as sent (the datum it
        declares included), then its position converted; everything after holds WGS-84."""
        return in_wgs84(self._signed(self._supervised(self._decode(payload, key, LocationFix))))

    def validate_locations(
        self, payload: bytes, key: bytes | None
    ) -> LocationFix | Rejection | list[LocationFix | Rejection]:
        """A record of the locations topic: a single fix (valid or why not), or a batch's
        fixes, each valid or why not; a :class:`Rejection` of the batch as a whole when
        its envelope is wrong (undecodable, unknown subject, key, signature)."""
        if not isinstance(payload, bytes) or b'"fixes"' not in payload:  # v1: one fix
            return self.validate_location(payload, key)
        batch = self._decode(payload, key, LocationBatch)
        batch = self._signed(batch)
        if isinstance(batch, Rejection):
            return batch
        signer = self.registry.keys.get(batch.key_id or "")
        return [
            fix
            if isinstance(fix, Rejection)
            else retired(fix.occurred_at, signer) or in_wgs84(self._supervised(self._timely(fix)))
            for fix in unbatch(batch)
        ]

    def validate_positions(
        self,
        payload: bytes,
        key: bytes | None,
        found: LocationFix | Rejection | list[LocationFix | Rejection] | None = None,
    ) -> list[LocationFix | Rejection] | Rejection:
        """Fixes for the map and the subject's track: valid, and taken while an
        e-positioning approval was in force (a fix without one is not kept); a
        :class:`Rejection` of the record as a whole (a register change told in the log is
        one: the caller waits for it). ``found``: the record's :meth:`validate_locations`,
        when already known."""
        if found is None:
            found = self.validate_locations(payload, key)
        if isinstance(found, Rejection):
            return found
        return [
            fix
            if isinstance(fix, Rejection) or self.positioned(fix.subject_id, fix.occurred_at)
            else Rejection("no_positioning_approval", "not kept: no e-positioning approval")
            for fix in (found if isinstance(found, list) else [found])
        ]

    def validate_activity(self, payload: bytes, key: bytes | None) -> Activity | Rejection:
        return self._signed(self._terminal(self._supervised(self._decode(payload, key, Activity))))

    def validate_decision(self, payload: bytes, key: bytes | None) -> Decision | Rejection:
        return self._decode(payload, key, Decision)

    def validate_action(self, payload: bytes, key: bytes | None) -> AlertAction | Rejection:
        return self._decode(payload, key, AlertAction)

    def validate_device(self, payload: bytes, key: bytes | None) -> DeviceEvent | Rejection:
        return self._signed(self._supervised(self._decode(payload, key, DeviceEvent)))

    def _supervised(self, event: E | Rejection) -> E | Rejection:
        """What a subject or their devices send counts only while under supervision (the
        officers' decisions and actions still apply afterwards)."""
        if isinstance(event, Rejection):
            return event
        subject, day = self.subject(event.subject_id), local(event.occurred_at).date()
        if subject.supervised_on(day):
            return event
        return Rejection(
            "not_supervised",
            f"subject {subject.id!r} is under supervision from {subject.starts_on} to "
            f"{subject.ends_on}, not on {day}",
        )

    def _signed(self, event: S | Rejection) -> S | Rejection:
        """A terminal's or device's record must be signed by a key of its own device."""
        if isinstance(event, Rejection):
            return event
        return verify(event, self.registry.keys) or event

    def validate_control(self, payload: bytes) -> MonthClose | Tick | RegisterChanged | Rejection:
        """A control record: a tick's time, or the month a close names, must be plausible."""
        record = decode_control(payload)
        if isinstance(record, Rejection):
            return record
        if isinstance(record, Tick):
            return self._window(record.at, "at") or record
        if isinstance(record, RegisterChanged):
            return self._window(record.occurred_at, "occurred_at") or record
        try:
            begins = month_span(record.month).start()
        except ValueError:  # year 0, or 9999-12 (its end is past the calendar)
            return Rejection("schema_violation", f"month {record.month} is out of range")
        if begins > self.clock.now() + self.max_skew:  # a month may be closed early
            return Rejection("timestamp_in_future", f"month {record.month} has not begun")
        return self._window(record.occurred_at, "occurred_at", future=False) or record

    def told(self, key: bytes | None, payload: bytes) -> RegisterChanged | None:
        """The register change a record is, if it is one: told in the logs the workers
        judge (:mod:`register.notify`), without a key. A terminal's record always has one."""
        if key is not None:
            return None
        change = self.validate_control(payload)
        return change if isinstance(change, RegisterChanged) else None

    def _window(self, when: datetime, name: str, future: bool = True) -> Rejection | None:
        """Whether an event time is plausible: not ahead of the worker's clock by more than
        the allowed skew, nor older than the age bound."""
        now = self.clock.now()
        if future and when - now > self.max_skew:
            return Rejection(
                "timestamp_in_future", f"{name} is {when - now} ahead of the worker's clock"
            )
        if now - when > self.max_age:
            return Rejection(
                "timestamp_too_old",
                f"{name} is more than {self.max_age.days} days before the worker's clock",
            )
        return None

    def _terminal(self, event: E | Rejection) -> E | Rejection:
        terminal = getattr(event, "terminal_id", None)
        if terminal is not None and terminal not in self.registry.terminals:
            return Rejection("unknown_terminal", f"terminal {terminal!r} is not registered")
        return event

    def _decode(self, payload: bytes, key: bytes | None, kind: type[D]) -> D | Rejection:
        event = decode(payload, kind)
        if isinstance(event, Rejection):
            return event
        if event.subject_id not in self.registry.subjects:
            return Rejection("unknown_subject", f"subject {event.subject_id!r} is not registered")
        if key is None or key.decode("utf-8", "replace") != event.subject_id:
            return Rejection(
                "key_mismatch", f"record key {key!r} must be the subject id {event.subject_id!r}"
            )
        return event if isinstance(event, LocationBatch) else self._timely(event)

    def _timely(self, event: E) -> E | Rejection:
        """A record whose event time is plausible (neither in the future nor too old)."""
        return self._window(event.occurred_at, "occurred_at") or event

    # decisions --------------------------------------------------------------------------
    def subject(self, subject_id: str) -> SubjectRef:
        return self.registry.subjects[subject_id]

    def limits(
        self, subject: SubjectRef, when: datetime
    ) -> tuple[Thresholds, SecurityPeriod | None]:
        return in_force(self.policy, self.registry.periods, when, subject.office_id)

    def detect(
        self, state: SubjectState, subject_id: str, item: Input, late: bool = False
    ) -> Outcome:
        """Run one input through the subject's detectors (deadlines before it first)."""
        env = self.env(subject_id, state)
        detection, events = engine.observe(env, state.detection, item, late)
        return self._alerts(msgspec.structs.replace(state, detection=detection), events)

    def positioned(self, subject_id: str, when: datetime) -> bool:
        """Whether an e-positioning approval of the subject is in force at ``when``."""
        return positioned(self.registry.positioning.get(subject_id, ()), when)

    def apply_location(
        self, state: SubjectState, fix: LocationFix, received_at: datetime | None = None
    ) -> Outcome:
        return self._positioning("locations", state, fix, received_at)

    def apply_device(
        self, state: SubjectState, event: DeviceEvent, received_at: datetime | None = None
    ) -> Outcome:
        return self._positioning("devices", state, event, received_at)

    def _positioning(
        self,
        kind: str,
        state: SubjectState,
        event: LocationFix | DeviceEvent,
        received_at: datetime | None,
    ) -> Outcome:
        """A fix or a device event is judged only under an e-positioning approval in force
        at its event time (Community Correction Law art. 29); without one it is applied
        (remembered, so a repeat is a duplicate) and changes nothing: ``unapproved``."""

        def decide(s: SubjectState, late: bool) -> Outcome:
            if not self.positioned(event.subject_id, event.occurred_at):
                return Outcome(s, unapproved=True)
            return self.detect(s, event.subject_id, event, late)

        return self._once(kind, state, event, received_at, decide)

    def apply_sighting(self, state: SubjectState, seen: Sighting) -> Outcome:
        return self.detect(state, seen.subject_id, seen)

    def apply_checkin(
        self, state: SubjectState, event: CheckIn, received_at: datetime | None = None
    ) -> Outcome:
        subject, now = self.subject(event.subject_id), self.clock.now()
        terminal = self.registry.terminals[event.terminal_id]

        def decide(state: SubjectState, late: bool) -> Outcome:
            scored = self._ledger(
                state,
                self.ledger.on_checkin(state.ledger, event, subject, terminal, now, received_at),
            )
            return self._merge(scored, self.detect(scored.state, event.subject_id, event, late))

        return self._once("checkins", state, event, received_at, decide)

    def apply_activity(
        self, state: SubjectState, event: Activity, received_at: datetime | None = None
    ) -> Outcome:
        subject, now = self.subject(event.subject_id), self.clock.now()
        return self._once(
            "activities",
            state,
            event,
            received_at,
            lambda s, _: self._ledger(
                s, self.ledger.on_activity(s.ledger, event, subject, now, received_at)
            ),
        )

    def apply_decision(
        self, state: SubjectState, event: Decision, received_at: datetime | None = None
    ) -> Outcome:
        subject, now = self.subject(event.subject_id), self.clock.now()
        return self._once(
            "decisions",
            state,
            event,
            received_at,
            lambda s, _: self._ledger(s, self.ledger.on_decision(s.ledger, event, subject, now)),
        )

    def apply_action(
        self, state: SubjectState, action: AlertAction, received_at: datetime | None = None
    ) -> Outcome:
        """An officer acknowledges, dispatches or resolves an alert (verified -> points).
        Event time first reaches the action's time, so what was due before it is decided.
        An action already applied (redelivered after a crash) is a duplicate."""

        def decide(state: SubjectState, _: bool) -> Outcome:
            env = self.env(action.subject_id, state)
            detection, events = engine.advance(env, state.detection, action.occurred_at, False)
            result = lifecycle.act(detection.book, env.subject, action, env.now)
            if isinstance(result, str):
                return Outcome(state, rejected=Rejection("invalid_action", result))
            book, more = result
            detection = msgspec.structs.replace(detection, book=book)
            new = msgspec.structs.replace(state, detection=detection)
            return self._alerts(new, events + more, received_at)

        return self._once("alert-actions", state, action, received_at, decide)

    def _once(
        self,
        kind: str,
        state: SubjectState,
        record: Record,
        received_at: datetime | None,
        decide: Callable[[SubjectState, bool], Outcome],
    ) -> Outcome:
        """Apply a record once per subject (:mod:`alerts.applied`): a repeat is a
        duplicate, the same id with other content a conflict (the first stays). ``decide``
        gets whether the record is late (beyond its input's lateness bound)."""
        content = applied.digest(record)
        verdict = applied.judge(state.applied, record.event_id, content)
        if verdict == "duplicate":
            return Outcome(state, duplicate=True)
        if verdict == "conflict":
            why = f"event id {record.event_id!r} was applied with other content; the first stays"
            return Outcome(state, rejected=Rejection("conflict", why))
        late = is_late(self.policy, kind, record.occurred_at, received_at)
        out = decide(state, late)
        if out.rejected is not None:
            return out
        memory = applied.remember(
            out.state.applied, kind, record.event_id, content, record.occurred_at, self.keep[kind]
        )
        out.state = msgspec.structs.replace(out.state, applied=memory)
        out.late = late and not out.unapproved  # an unapproved record changed nothing
        return out

    def tick(self, state: SubjectState, subject_id: str, tick: Tick) -> Outcome:
        """Event time reaches the tick's (the partition's watermark): every deadline up to
        it is handled; then alerts past their SLA (processing time) escalate. Nothing is
        judged for a subject outside supervision."""
        if not self.subject(subject_id).supervised_on(local(tick.at).date()):
            return Outcome(state)
        env = self.env(subject_id, state)
        detection, events = engine.advance(env, state.detection, tick.at)
        book, more = lifecycle.overdue(detection.book, env.subject, env.now)
        if not events and not more and detection.at == state.detection.at:
            return Outcome(state)
        detection = msgspec.structs.replace(detection, book=book)
        return self._alerts(msgspec.structs.replace(state, detection=detection), events + more)

    def group_of(self, subject_id: str) -> str | None:
        """The group whose members' fixes meet in one place, if any: the subject's case,
        joined with the subjects prohibition orders name to its members
        (:func:`alerts.gathering.groups`)."""
        return self._group_of.get(subject_id)

    def members(self, group: str) -> list[str]:
        return list(self._groups.get(group, ()))

    def group_limits(self, group: str) -> gathering.Limits:
        """How the group's pairs are watched at a time: gathering between co-offenders,
        contact where an order in force names one to the other; a security period covering
        any member's office tightens the thresholds for the whole group."""
        members = set(self._groups.get(group, ()))
        offices = {self.registry.subjects[s].office_id for s in members}
        orders = [o for s in sorted(members) for o in self.registry.orders.get(s, ())]

        def at(when: datetime) -> gathering.Watches:
            tight = any(p.covers(when, o) for p in self.registry.periods for o in offices)
            limits = self.policy.security if tight else self.policy.normal
            named = {(o.subject_id, p) for o in orders if o.days.holds(when) for p in o.no_contact}
            return gathering.watches(limits, self._cases, named)

        return at

    def close_month(self, state: SubjectState, subject_id: str, close: MonthClose) -> Outcome:
        return self._ledger(
            state,
            self.ledger.close_month(
                state.ledger, self.subject(subject_id), close, self.clock.now()
            ),
        )

    def _alerts(
        self, state: SubjectState, alerts: list[AlertEvent], received_at: datetime | None = None
    ) -> Outcome:
        """Alert transitions are published and scored (verified violations cost points)."""
        out = Outcome(state, alerts=alerts)
        for alert in alerts:
            out = self._merge(
                out,
                self._ledger(
                    out.state,
                    self.ledger.on_alert(
                        out.state.ledger,
                        alert,
                        self.subject(alert.subject_id),
                        self.clock.now(),
                        received_at,
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
