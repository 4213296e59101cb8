"""One subject's detection: its inputs in event-time order, its detectors woken at their
deadlines. Pure: the same inputs give the same decisions whenever they are processed.

Adding a detector is one module in alerts/ and one line in :data:`DETECTORS`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from alerts import (
    checkins,
    curfew,
    forbidden,
    gathering,
    implausible,
    leave,
    no_contact,
    out_of_bounds,
    separation,
    silence,
)
from alerts.lifecycle import AlertBook
from alerts.policy import Policy, in_force
from alerts.protocol import Context, Detector, Input, Time, View, when
from alerts.track import Track, follow, heard, restored
from models.events import AlertEvent, CheckIn, DeviceEvent, LocationFix
from models.values import SecurityPeriod, SubjectRef

DETECTORS: tuple[Detector, ...] = (
    implausible.DETECTOR,
    silence.DETECTOR,
    leave.DETECTOR,  # before out_of_bounds: an overstay covers the trip
    out_of_bounds.DETECTOR,
    forbidden.DETECTOR,
    curfew.DETECTOR,  # after out_of_bounds: an out-of-bounds alert covers the absence
    checkins.DETECTOR,
    separation.DETECTOR,
    gathering.DETECTOR,
    no_contact.DETECTOR,
)
# The detectors that judge without the subject's positions (check-ins at a kiosk). The
# others judge only while an e-positioning approval is in force (art. 29): at a time without
# one their states and the track are forgotten, so nothing from before an approval ended (a
# dwell under way, the silence since the last fix) is judged after it (:func:`judging`).
UNPOSITIONED: tuple[Detector, ...] = (checkins.DETECTOR,)
MAX_WAKES = 10_000  # deadlines handled in one advance: a guard against a detector bug
log = logging.getLogger(__name__)


class Detection(msgspec.Struct, frozen=True, omit_defaults=True):
    """What detection remembers about one subject."""

    book: AlertBook = AlertBook()
    track: Track = Track()  # high-churn: stored only at checkpoints (alerts.track)
    at: datetime | None = None  # event time the subject has been judged up to
    # Event time of the subject's first record (stored under its former name).
    first_record: datetime | None = msgspec.field(default=None, name="watching_since")
    states: dict[str, Any] = {}  # detector name -> its state (default states left out)


@dataclass(frozen=True, slots=True)
class Env:
    """Everything but the state that one subject is judged with."""

    subject: SubjectRef
    view: View
    policy: Policy
    periods: tuple[SecurityPeriod, ...]
    now: datetime  # processing time
    watch_started: datetime | None = None  # when ccwatch began watching (the registry's)


BY_NAME: dict[str, Detector] = {d.name: d for d in DETECTORS}


def typed(det: Detection) -> Detection:
    """Each detector's state as its own type (as decoded from the table, they are plain)."""
    states = {k: state_of(det, BY_NAME[k]) for k in det.states if k in BY_NAME}
    return msgspec.structs.replace(det, states=states)


def restore(det: Detection) -> Detection:
    """A subject's detection as read back from its last stored version (after a restart,
    or when its partition moves): the track may be stale, unless it was stored when the
    device went quiet (then nothing was heard from it since)."""
    quiet = state_of(det, silence.DETECTOR)
    if det.track.seen_at is None or quiet.since == det.track.seen_at:
        return det
    return msgspec.structs.replace(det, track=restored(det.track))


_INITIAL: dict[str, Any] = {}


def initial(detector: Detector) -> Any:
    """A detector's state before anything happened (immutable: one shared copy)."""
    found = _INITIAL.get(detector.name)
    if found is None:
        found = _INITIAL[detector.name] = detector.State()
    return found


def state_of(det: Detection, detector: Detector) -> Any:
    found = det.states.get(detector.name)
    if found is None:
        return initial(detector)
    if not isinstance(found, detector.State):  # as decoded from the table
        return msgspec.convert(found, detector.State)
    return found


def context(
    env: Env,
    det: Detection,
    at: datetime,
    track: Track | None = None,
    plausible: bool = True,
    late: bool = False,
) -> Context:
    limits, period = in_force(env.policy, env.periods, at, env.subject.office_id)
    return Context(
        env.subject,
        env.view,
        at,
        limits,
        period,
        env.now,
        det.track if track is None else track,
        plausible,
        watching_since(det, env),
        late,
    )


def watching_since(det: Detection, env: Env) -> datetime | None:
    """Since when ccwatch has watched the subject: from its first record, and not before
    ccwatch began watching at all (the ledger's bound too). None: not yet."""
    if det.first_record is None or env.watch_started is None:
        return det.first_record
    return max(det.first_record, env.watch_started)


def observe(
    env: Env, det: Detection, item: Input, late: bool = False
) -> tuple[Detection, list[AlertEvent]]:
    """Apply one input: first every deadline up to its event time, then the input. A late
    input (beyond its lateness bound) updates the track and changes no alert. Without an
    e-positioning approval in force, only :data:`UNPOSITIONED` detectors judge it (the
    pipeline does not apply fixes and device events then)."""
    t = when(item)
    det, events = advance(env, det, t)
    det, detectors = judging(env, det, t)
    track, plausible, located = det.track, True, detectors is DETECTORS
    if located and isinstance(item, LocationFix):
        limits, _ = in_force(env.policy, env.periods, t, env.subject.office_id)
        track, plausible = follow(track, item, limits)
    elif located and isinstance(item, DeviceEvent):
        track = heard(track, item)
    first = det.first_record
    if first is None and isinstance(item, LocationFix | DeviceEvent | CheckIn):
        first = t
    det = msgspec.structs.replace(det, track=track, first_record=first)
    ctx = context(env, det, t, track, plausible, late)
    det, more = _step_all(env, det, ctx, item, detectors)
    at = t if det.at is None else max(det.at, t)
    return msgspec.structs.replace(det, at=at), events + more


def advance(
    env: Env, det: Detection, until: datetime, inclusive: bool = True
) -> tuple[Detection, list[AlertEvent]]:
    """Event time reaches ``until``: wake each detector at each of its deadlines on the
    way, in time order (and every detector at a security period's start or end)."""
    if det.at is None or det.at > until or (det.at == until and not inclusive):
        return det, []
    events: list[AlertEvent] = []
    woken: set[tuple[str, datetime]] = set()
    at: datetime = det.at
    det, detectors = judging(env, det, at)
    for _ in range(MAX_WAKES):
        ctx = context(env, det, at)
        dues: list[tuple[datetime, Detector]] = []
        for d in detectors:
            due = d.due(ctx, state_of(det, d), det.book)
            if due is not None:
                due = max(due, at)
                if (d.name, due) not in woken:
                    dues.append((due, d))
        boundary = _boundary(env, at)
        nxt = min([due for due, _ in dues] + ([boundary] if boundary else []), default=None)
        if nxt is None or nxt > until or (nxt == until and not inclusive):
            break
        if len(woken) >= MAX_WAKES - 1:
            log.error("deadline loop cut short for %s at %s", env.subject.id, nxt)
        at = nxt
        det, detectors = judging(env, msgspec.structs.replace(det, at=at), at)
        chosen = detectors if nxt == boundary else tuple(d for due, d in dues if due == nxt)
        woken.update((d.name, nxt) for d in chosen)
        det, more = _step_all(env, det, context(env, det, nxt), Time(nxt), chosen)
        events += more
    if inclusive and until > at:
        det = msgspec.structs.replace(det, at=until)
    return det, events


def next_due(env: Env, det: Detection) -> datetime | None:
    """When event time next needs to reach this subject with no input (its earliest
    deadline, or the edge of a security period or an e-positioning approval); None while it
    is not watched."""
    at = det.at
    if at is None:
        return None
    det, detectors = judging(env, det, at)
    ctx = context(env, det, at)
    dues = [d.due(ctx, state_of(det, d), det.book) for d in detectors]
    dues.append(_boundary(env, at))
    return min((max(due, at) for due in dues if due is not None), default=None)


def judging(env: Env, det: Detection, at: datetime) -> tuple[Detection, tuple[Detector, ...]]:
    """The detectors that judge at ``at``, and the detection they judge: every detector
    while an e-positioning approval is in force, otherwise those of :data:`UNPOSITIONED`
    (the track and the other detectors' states forgotten; open alerts stay open)."""
    if env.view.located(at):
        return det, DETECTORS
    kept = {d.name for d in UNPOSITIONED}
    states = {name: s for name, s in det.states.items() if name in kept}
    if states == det.states and det.track == Track():
        return det, UNPOSITIONED
    return msgspec.structs.replace(det, track=Track(), states=states), UNPOSITIONED


def _boundary(env: Env, after: datetime) -> datetime | None:
    """The next start or end of a security period covering the subject's office, or of
    one of the subject's e-positioning approvals."""
    office = env.subject.office_id
    edges = [(p.starts_at, p.ends_at) for p in env.periods if not p.offices or office in p.offices]
    edges += [(w.starts_at, w.ends_at) for w in env.view.positioning]
    return min((t for edge in edges for t in edge if t > after), default=None)


def _step_all(
    env: Env, det: Detection, ctx: Context, item: Input, detectors: tuple[Detector, ...]
) -> tuple[Detection, list[AlertEvent]]:
    book, states, events = det.book, dict(det.states), []
    for d in detectors:
        before = state_of(det, d)
        after, book, more = d.step(ctx, before, book, item)
        events += more
        if after != before:
            if after == initial(d):
                states.pop(d.name, None)
            else:
                states[d.name] = after
    if book is det.book and states == det.states:
        return det, events
    return msgspec.structs.replace(det, book=book, states=states), events
