"""Order independence as a property: a generated day of records gives the same alerts
(same ids) whether it is applied in event-time order or delivered shuffled to a worker.

The worker model below drives the same pure parts as streams/ (alerts.order.Partition
for each input's hold-and-release, the pipeline's steps and ticks, the group detector
with its watermark) over a backlog: every record is on the broker before the worker
starts, topics are read in a random interleaving, and within a topic each record may come
up to the policy's lateness after newer ones (network and upload delays). What is beyond
that bound is late by definition (docs/detection.md) and not generated here.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.clock import ManualClock
from alerts.gathering import GroupBuffer, group_push, group_release, group_watermark
from alerts.order import Partition
from models.events import (
    AlertAction,
    AlertEvent,
    CheckIn,
    DeviceEvent,
    LocationFix,
    Tick,
    encode,
)
from models.values import Days, OrderRef
from scoring.rules import load_ruleset
from streams.pipeline import EMPTY_STATE, Outcome, Pipeline, SubjectState
from streams.replay import LogRecord, replay
from tests.examples import examples
from tests.factories import T0, registry, signed

M = timedelta(minutes=1)
SUBJECTS = ("SS-0007", "SS-0008", "SS-0010", "SS-0012")  # 0010 and 0012: co-offenders
PLACES = [
    (30.712, 122.451),  # Caiyuan
    (30.7150, 122.4550),  # the co-offenders' meeting spot
    (30.7165, 122.4560),  # SS-0010's forbidden internet cafe
    (30.530, 122.300),  # open sea, inside
    (30.517, 122.300),  # 330 m outside
    (30.490, 122.300),  # 3.3 km outside
    (30.400, 122.300),  # 13 km outside
    (30.850, 121.850),  # Luchao port, Shanghai (an exit)
]
ACCURACY = [10.0, 15.0, 60.0, 250.0, 1500.0, 4600.0]
TOPIC: dict[type[Any], str] = {
    CheckIn: "checkins",
    LocationFix: "locations",
    DeviceEvent: "devices",
}


@st.composite
def days(draw: st.DrawFn) -> list[Any]:
    """A day (about 10 hours) of records for a few subjects."""
    out: list[Any] = []
    for who in SUBJECTS:
        at, n = draw(st.integers(0, 60)) * M, 0
        while at < 600 * M:
            n += 1
            kind = draw(st.sampled_from(["fix"] * 8 + ["checkin", "off", "on"]))
            when = T0 + at
            if kind == "fix":
                lat, lon = draw(st.sampled_from(PLACES))
                out.append(
                    LocationFix(
                        event_id=f"{who}-f{n}",
                        subject_id=who,
                        device_id=f"P-{who}",
                        occurred_at=when,
                        lat=lat + draw(st.integers(-3, 3)) * 0.0001,
                        lon=lon,
                        accuracy_m=draw(st.sampled_from(ACCURACY)),
                        source="gps",
                    )
                )
            elif kind == "checkin":
                out.append(
                    CheckIn(
                        event_id=f"{who}-c{n}",
                        subject_id=who,
                        terminal_id="T-caiyuan-1",
                        occurred_at=when,
                        method="face",
                        match_score=0.95,
                    )
                )
            else:
                out.append(
                    DeviceEvent(
                        event_id=f"{who}-d{n}",
                        subject_id=who,
                        device_id=f"P-{who}",
                        occurred_at=when,
                        event="power_off" if kind == "off" else "power_on",
                    )
                )
            at += draw(st.sampled_from([60, 30, 15, 10, 5, 5, 2, 1, 200])) * M
    return out


def ticks() -> list[Tick]:
    return [Tick(event_id=f"tick-{i}", at=T0 + i * 10 * M) for i in range(1, 65)]


# SS-0007's prohibition order: at home (Caiyuan) from 14:00 to 18:00, and not to meet
# SS-0008 or SS-0010 (which joins all four in one group, watched for both kinds).
ORDER = OrderRef(
    "po-7", "SS-0007", Days(date(2026, 11, 1)), (14, 18), (30.712, 122.451), 300.0,
    ("SS-0008", "SS-0010"),
)  # fmt: skip


def pipeline(clock: ManualClock) -> Pipeline:
    return Pipeline(replace(registry(), orders={"SS-0007": (ORDER,)}), load_ruleset(), clock, 1e9)


def signature(alerts: list[AlertEvent]) -> set[tuple[Any, ...]]:
    """What must not depend on order: ids, steps, evidence, event times, rules. Processing
    times (recorded_at, SLA deadlines) and SLA escalations are processing-time facts."""
    return {
        (a.alert_id, a.transition_id, a.transition, a.rule, tuple(a.evidence), a.occurred_at)
        for a in alerts
        if not (a.transition == "escalated" and a.evidence == ["sla"])
    }


def in_order(records: list[Any], actions: list[AlertAction] = ()) -> list[AlertEvent]:  # type: ignore[assignment]
    """The reference: replay, which applies records in event-time order."""
    log = [LogRecord(TOPIC[type(r)], r.subject_id.encode(), encode(signed(r))) for r in records]
    log += [LogRecord("alert-actions", a.subject_id.encode(), encode(a)) for a in actions]
    log += [LogRecord("control", None, encode(t)) for t in ticks()]
    clock = ManualClock(T0 + 30 * 60 * M)
    p = pipeline(clock)
    alerts: list[AlertEvent] = []

    class Sink:
        def write_alerts(self, rows: list[AlertEvent]) -> int:
            alerts.extend(rows)
            return len(rows)

        def write_points(self, rows: list[Any]) -> int:
            return 0

        write_recommendations = write_points

    replay(log, p, Sink())  # type: ignore[arg-type]
    return alerts


@dataclass
class Queued:
    topic: str
    record: Any


def delivered(records: list[Any], actions: list[AlertAction], rnd: random.Random) -> list[Queued]:
    """A backlog as a worker reads it: each topic in its own order, each record up to the
    lateness after newer ones of its topic, topics interleaved at random."""
    lateness = pipeline(ManualClock(T0)).policy.lateness_s
    queues: dict[str, list[Any]] = defaultdict(list)
    items = [*records, *actions]
    for r in items:
        topic = "alert-actions" if isinstance(r, AlertAction) else TOPIC[type(r)]
        queues[topic].append(r)
    queues["control"] = ticks()
    for q in queues.values():
        delay = {id(r): rnd.uniform(0, lateness) for r in q}
        q.sort(key=lambda r: _time(r) + timedelta(seconds=delay[id(r)]))
    out = []
    while any(queues.values()):
        topic = rnd.choice([t for t, q in queues.items() if q])
        out.append(Queued(topic, queues[topic].pop(0)))
    return out


def _time(record: Any) -> datetime:
    return record.at if isinstance(record, Tick) else record.occurred_at


def worker(queued: list[Queued]) -> list[AlertEvent]:
    """One partition's worker over the backlog, as streams/inputs, ticks and gathering do."""
    clock = ManualClock(T0)
    p = pipeline(clock)
    lateness = timedelta(seconds=p.policy.lateness_s)
    wait = timedelta(seconds=p.policy.group_wait_s)
    flow: Partition[Any] = Partition(lateness)
    states: dict[str, SubjectState] = {}
    groups: dict[str, GroupBuffer] = {}
    alerts: list[AlertEvent] = []
    remaining: defaultdict[str, int] = defaultdict(int)
    for q in queued:
        remaining[q.topic] += 1

    def keep(who: str, outcome: Outcome) -> None:
        states[who] = outcome.state
        alerts.extend(outcome.alerts)

    def gather(group: str, marks: datetime | None) -> None:
        buf = groups[group]
        watermark = group_watermark(buf, p.members(group), marks, wait)
        if watermark is not None:
            groups[group], seen = group_release(buf, watermark, p.group_limits(group))
            for s in seen:
                keep(s.subject_id, p.apply_sighting(states.get(s.subject_id, EMPTY_STATE), s))

    def apply(record: Any) -> None:
        clock.set(max(clock.now(), record.occurred_at))
        state = states.get(record.subject_id, EMPTY_STATE)
        steps: dict[type[Any], Any] = {
            CheckIn: p.apply_checkin,
            LocationFix: p.apply_location,
            DeviceEvent: p.apply_device,
            AlertAction: p.apply_action,
        }
        step = steps[type(record)]
        keep(record.subject_id, step(state, record))
        group = p.group_of(record.subject_id) if isinstance(record, LocationFix) else None
        if group is not None:
            pushed = group_push(groups.get(group, GroupBuffer()), record)
            if pushed is not None:
                groups[group] = pushed
                gather(group, None)

    def tick(at: datetime) -> None:
        clock.set(max(clock.now(), at))
        lagging = [t for t, n in remaining.items() if n and t != "control"]
        now, ready = flow.tick(at, lagging)
        for record in ready:
            apply(record)
        if now is None:
            return
        for who in SUBJECTS:
            keep(who, p.tick(states.get(who, EMPTY_STATE), who, Tick(event_id="t", at=now)))
        for group in sorted(groups):
            gather(group, now)

    for q in queued:
        remaining[q.topic] -= 1
        if q.topic == "control":
            tick(q.record.at)
            continue
        lagging = [t for t, n in remaining.items() if n and t != "control"]
        for record in flow.arrive(
            q.topic, q.record.occurred_at, q.record.event_id, q.record, lagging
        ):
            apply(record)
    tick(ticks()[-1].at)  # the worker's next tick, with nothing left on the broker
    return alerts


def officers(alerts: list[AlertEvent], rnd: random.Random) -> list[AlertAction]:
    """Officers acknowledge or resolve some of the alerts a few minutes after they open."""
    out = []
    for a in alerts:
        if a.transition != "opened" or rnd.random() < 0.5:
            continue
        action = rnd.choice(["acknowledge", "resolve"])
        out.append(
            AlertAction(
                event_id=f"act-{a.alert_id}",
                subject_id=a.subject_id,
                alert_id=a.alert_id,
                action=action,  # type: ignore[arg-type]
                officer_id="O-caiyuan-1",
                occurred_at=a.occurred_at + rnd.choice([3, 7, 20]) * M,
                outcome="verified_violation" if action == "resolve" else None,
            )
        )
    return out


@settings(
    max_examples=examples(short=50, thorough=200),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(day=days(), seed=st.integers(0, 2**32 - 1))
def test_shuffled_delivery_gives_the_alerts_of_in_order_delivery(day: list[Any], seed: int) -> None:
    rnd = random.Random(seed)
    actions = officers(in_order(day), rnd)
    expected = signature(in_order(day, actions))
    assert signature(worker(delivered(day, actions, rnd))) == expected


@settings(
    max_examples=examples(short=25, thorough=100),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(day=days(), seed=st.integers(0, 2**32 - 1))
def test_replay_in_any_arrival_order_gives_the_same_alerts(day: list[Any], seed: int) -> None:
    shuffled = random.Random(seed).sample(day, len(day))
    assert signature(in_order(shuffled)) == signature(in_order(day))
