"""A whole simulated day through the system, then every record delivered again."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import partial

from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.clock import ManualClock
from ccwatch.reference import ABSCONDER_ID
from models.events import AlertEvent, PointsEntry, decode
from models.records import Alert, AlertTransitionRow, PointsEntryRow
from models.registry import load_registry
from scoring.rules import load_ruleset
from streams.pipeline import EMPTY_STATE, Pipeline, SubjectState
from terminals.producer import make_producer, send_events
from terminals.simulator import simulate_day
from tests.factories import SOME_DAY
from tests.integration.harness import System


def expected(system: System) -> tuple[set[str], set[str]]:
    """Points entry ids and alert ids that the pure pipeline makes of the same day."""
    pipeline = Pipeline(
        load_registry(system.engine), load_ruleset(), ManualClock(datetime.now(UTC)), 300
    )
    states: dict[str, SubjectState] = {}
    points, alerts = set(), set()
    for e in simulate_day(SOME_DAY):
        validate = pipeline.validate_checkin if e.kind == "checkin" else pipeline.validate_location
        event = validate(e.value, e.key)
        if hasattr(event, "reason"):
            continue
        apply = pipeline.apply_checkin if e.kind == "checkin" else pipeline.apply_location
        outcome = apply(states.get(event.subject_id, EMPTY_STATE), event)  # type: ignore[arg-type]
        states[event.subject_id] = outcome.state
        points |= {p.entry_id for p in outcome.points}
        alerts |= {a.alert_id for a in outcome.alerts}
    return points, alerts


def snapshot(system: System) -> tuple[set[str], set[str], set[str]]:
    with Session(system.engine) as s:
        return (
            set(s.scalars(select(PointsEntryRow.id))),
            set(s.scalars(select(Alert.id))),
            set(s.scalars(select(AlertTransitionRow.id))),
        )


def test_a_day_lands_exactly_once_even_when_redelivered(system: System) -> None:
    events = simulate_day(SOME_DAY)
    send_events(make_producer(system.settings.kafka_bootstrap), system.settings.topics, events)
    want_points, want_alerts = expected(system)
    assert len(want_points) > 10 and len(want_alerts) == 1

    system.wait_for(
        "the day in the database", lambda: snapshot(system)[:2] == (want_points, want_alerts), 60
    )
    with Session(system.engine) as s:
        [alert] = s.scalars(select(Alert)).all()
    assert alert.subject_id == ABSCONDER_ID and alert.state == "open"
    first = snapshot(system)
    dead = system.wait_for(
        "the faulty records", lambda: len(system.records(system.settings.topics.dead_letter)) >= 4
    )
    assert dead

    # A crash that loses every offset and all state: a new consumer group reads it all again.
    topics = system.settings.topics
    system.stop_workers()
    system.start_worker(app_id=f"{system.settings.app_id}-again")
    for topic, n in ((topics.points, len(first[0])), (topics.alerts, len(first[2]))):
        system.wait_for(f"{topic} published twice", partial(published, system, topic, 2 * n), 60)
    # The same evidence makes the same ids, so the database has nothing new to take.
    assert ids(system.records(topics.points)) == first[0]
    assert ids(system.records(topics.alerts)) == first[2]
    time.sleep(2 * system.settings.sink_batch_window_s + 1)
    assert snapshot(system) == first


def published(system: System, topic: str, n: int) -> bool:
    return len(system.records(topic)) >= n


def ids(records: list[ConsumerRecord]) -> set[str]:
    out = set()
    for r in records:
        entry = decode(r.value, PointsEntry)
        if isinstance(entry, PointsEntry):
            out.add(entry.entry_id)
        else:
            alert = decode(r.value, AlertEvent)
            assert isinstance(alert, AlertEvent)
            out.add(alert.transition_id)
    return out
