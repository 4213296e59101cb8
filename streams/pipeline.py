"""What a worker does with one record, free of Faust: validate, then decide.

The agents in :mod:`streams.app` feed records through here; replays and tests drive it
directly. Every decision is made below, in alerts/ and scoring/; this module only routes
records to the detectors and the ledger and gathers what they decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec

from alerts import checkins, forbidden, gathering, leave, lifecycle, out_of_bounds, silence
from alerts.clock import Clock
from alerts.geofence import Area
from alerts.lifecycle import AlertBook
from alerts.policy import Policy, Thresholds, in_force
from alerts.track import Track, follow
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

CHECKPOINT = timedelta(minutes=15)  # how stale a stored last-seen time may be
SUSPECTS_TO_ALERT = 3  # implausible fixes in a row before an implausible-movement alert


class SubjectState(msgspec.Struct, frozen=True, omit_defaults=True):
    """Everything a worker remembers about one subject (a Faust table value)."""

    book: AlertBook = AlertBook()
    boundary: out_of_bounds.BoundaryState = out_of_bounds.BoundaryState()
    zone: forbidden.ZoneState = forbidden.ZoneState()
    ledger: LedgerState = LedgerState()
    track: Track = Track()  # high-churn: stored only at checkpoints (see Outcome.durable)
    watching_since: datetime | None = None  # first record: nothing is judged before it
    missed_period: str | None = None  # the last check-in period alerted as missed
    sighted_at: datetime | None = None  # the last time seen with a co-offender


E = TypeVar("E", CheckIn, LocationFix, Activity, Decision, AlertAction, DeviceEvent)
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
    rejected: Rejection | None = None  # valid record, but not applicable (dead-letter it)

    def durable(self, before: SubjectState) -> bool:
        """Whether the state must be stored: a decision changed, or the last-seen time
        crossed a checkpoint (so silence is still detected after a restart)."""
        new = self.state
        if new is before:
            return False
        if msgspec.structs.replace(new, track=before.track) != before:
            return True
        old, seen = before.track.seen_at, new.track.seen_at
        return (
            (old is None) != (seen is None)
            or (old is not None and seen is not None and _slot(old) != _slot(seen))
            or new.track.power_off_at != before.track.power_off_at
        )


def _slot(when: datetime) -> int:
    return int(when.timestamp() // CHECKPOINT.total_seconds())


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
        self.exits = [Area(z.geometry, z.buffer_m) for z in registry.exits]
        self._zones: dict[tuple[str, float], list[forbidden.Zone]] = {}

    def zones(self, subject_id: str, limits: Thresholds) -> list[forbidden.Zone]:
        """A subject's forbidden zones, each grown by its own buffer and the policy's (which
        a security period widens); built once per subject and buffer."""
        key = (subject_id, limits.forbidden_buffer_m)
        if key not in self._zones:
            self._zones[key] = [
                forbidden.Zone(z.id, z.name, Area(z.geometry, z.buffer_m + key[1]), z.hours)
                for z in self.registry.forbidden.get(subject_id, ())
            ]
        return self._zones[key]

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

    def apply_location(self, state: SubjectState, fix: LocationFix) -> Outcome:
        subject, now, t = self.subject(fix.subject_id), self.clock.now(), fix.occurred_at
        limits, period = self.limits(subject, t)
        track, plausible = follow(state.track, fix, limits.max_speed_kmh)
        book, events = silence.on_signal(state.book, subject, fix.event_id, t, now)
        boundary, zone = state.boundary, state.zone
        if plausible and self.county is not None:
            boundary, book, more = out_of_bounds.observe(
                boundary,
                book,
                fix,
                subject,
                self.county,
                self.exits,
                self.registry.leaves.get(subject.id, ()),
                limits,
                period,
                now,
            )
            events += more
            if self.county.contains(fix.lat, fix.lon):
                book, more = leave.on_return(book, subject, fix.event_id, t, now)
                events += more
        if plausible:
            zone, book, more = forbidden.observe(
                zone, book, fix, subject, self.zones(subject.id, limits), limits, period, now
            )
            events += more
        elif track.suspects == SUSPECTS_TO_ALERT:
            book, more = lifecycle.raise_alert(
                book,
                subject,
                "implausible_movement",
                "low",
                "implausible_movement/1",
                [fix.event_id],
                t,
                now,
                limits,
                period,
                (
                    f"连续 {SUSPECTS_TO_ALERT} 个定位点移动速度异常,疑似漂移或伪造",
                    f"{SUSPECTS_TO_ALERT} fixes in a row move impossibly fast: drift or spoofing",
                ),
                (fix.lat, fix.lon, fix.accuracy_m),
            )
            events += more
        new = msgspec.structs.replace(
            state,
            book=book,
            boundary=boundary,
            zone=zone,
            track=track,
            watching_since=state.watching_since or t,
        )
        return self._alerts(new, events)

    def apply_device(self, state: SubjectState, event: DeviceEvent) -> Outcome:
        subject, now, t = self.subject(event.subject_id), self.clock.now(), event.occurred_at
        seen = max(state.track.seen_at or t, t)
        if event.event == "power_off":
            track = msgspec.structs.replace(state.track, power_off_at=t, seen_at=seen)
            return Outcome(
                msgspec.structs.replace(
                    state, track=track, watching_since=state.watching_since or t
                )
            )
        track = msgspec.structs.replace(state.track, power_off_at=None, seen_at=seen)
        book, events = silence.on_signal(state.book, subject, event.event_id, t, now)
        return self._alerts(msgspec.structs.replace(state, book=book, track=track), events)

    def apply_checkin(self, state: SubjectState, event: CheckIn) -> Outcome:
        subject, now = self.subject(event.subject_id), self.clock.now()
        terminal = self.registry.terminals[event.terminal_id]
        scored = self._ledger(
            state, self.ledger.on_checkin(state.ledger, event, subject, terminal, now)
        )
        book, events = checkins.on_checkin(
            scored.state.book, subject, event.event_id, event.occurred_at, now
        )
        return self._merge(
            scored, self._alerts(msgspec.structs.replace(scored.state, book=book), events)
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

    def apply_action(self, state: SubjectState, action: AlertAction) -> Outcome:
        """An officer acknowledges, dispatches or resolves an alert (verified -> points)."""
        result = lifecycle.act(
            state.book, self.subject(action.subject_id), action, self.clock.now()
        )
        if isinstance(result, str):
            return Outcome(state, rejected=Rejection("invalid_action", result))
        book, events = result
        return self._alerts(msgspec.structs.replace(state, book=book), events)

    def apply_sighting(self, state: SubjectState, seen: Sighting) -> Outcome:
        subject, now = self.subject(seen.subject_id), self.clock.now()
        limits, period = self.limits(subject, seen.occurred_at)
        others = ", ".join(seen.others)
        book, events = lifecycle.raise_alert(
            state.book,
            subject,
            "gathering",
            "high",
            "gathering/1",
            [seen.event_id],
            seen.since,
            now,
            limits,
            period,
            (f"与同案人员 {others} 聚集", f"together with co-offender {others}"),
            (seen.lat, seen.lon, 0.0),
        )
        new = msgspec.structs.replace(state, book=book, sighted_at=seen.occurred_at)
        return self._alerts(new, events)

    def gather(self, cells: dict[str, gathering.CellState], fix: LocationFix) -> list[Sighting]:
        """The cell side of the gathering detector (state: this worker's cells, in memory)."""
        subject = self.registry.subjects.get(fix.subject_id)
        if subject is None or subject.case_id is None:
            return []
        limits, _ = self.limits(subject, fix.occurred_at)
        dwell = timedelta(seconds=limits.gathering_dwell_s)
        out = []
        for cell in gathering.cells(fix.lat, fix.lon, limits.gathering_distance_m):
            cells[cell], seen = gathering.observe(
                cells.get(cell, gathering.CellState()),
                cell,
                fix,
                subject.case_id,
                limits.gathering_distance_m,
                dwell,
            )
            out += seen
        return list({s.event_id: s for s in out}.values())

    def tick(self, state: SubjectState, subject_id: str, tick: Tick) -> Outcome:
        """Time-driven detection as of the tick: silence, missed check-ins, overdue leave,
        unconfirmed departures, cleared gatherings, and SLAs."""
        subject, now, at = self.subject(subject_id), self.clock.now(), tick.at
        limits, period = self.limits(subject, at)
        book, events = lifecycle.overdue(state.book, subject, at)
        book, more = silence.on_tick(state.track, book, subject, limits, period, at, now)
        events += more
        level = state.ledger.level or subject.level
        kind = self.ruleset.levels[level].checkin_period  # type: ignore[index]
        book, missed, more = checkins.on_tick(
            book,
            state.missed_period,
            state.ledger.reports,
            state.watching_since,
            subject,
            kind,
            limits,
            period,
            at,
            now,
        )
        events += more
        if self.county is not None:
            book, more = leave.on_tick(
                book,
                state.track,
                self.county,
                self.registry.leaves.get(subject_id, ()),
                subject,
                limits,
                period,
                at,
                now,
            )
            events += more
        boundary, book, more = out_of_bounds.dwell_expired(
            state.boundary, book, subject, limits, period, at, now
        )
        events += more
        sighted = state.sighted_at
        if sighted is not None and at - sighted > 2 * timedelta(seconds=limits.gathering_dwell_s):
            book, more = lifecycle.clear(
                book,
                subject,
                "gathering",
                f"apart:{at.isoformat()}",
                at,
                now,
                ("已分开", "apart again"),
            )
            events += more
            sighted = None
        if not events and missed == state.missed_period and boundary is state.boundary:
            return Outcome(state)
        new = msgspec.structs.replace(
            state, book=book, missed_period=missed, boundary=boundary, sighted_at=sighted
        )
        return self._alerts(new, events)

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
