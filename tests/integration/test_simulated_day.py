"""A whole simulated day through the system, then every record delivered again."""

from __future__ import annotations

import time
from functools import partial

from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alerts.clock import SystemClock
from ccwatch.reference import ABSCONDER_ID
from ccwatch.seed import seed
from models.db import make_engine, migrate
from models.events import AlertEvent, PointsEntry, decode
from models.records import Alert, AlertTransitionRow, PointsEntryRow
from models.registry import load_registry
from scoring.rules import load_ruleset
from streams.pipeline import Pipeline
from streams.replay import LogRecord, replay
from streams.sink import DatabaseSink
from terminals.producer import make_producer, send_events, topic_of
from terminals.simulator import SimEvent, simulate_days
from tests.factories import SOME_DAY, keyring
from tests.integration.harness import System


def replayed(system: System, events: list[SimEvent]) -> tuple[set[str], set[str], set[str]]:
    """What an in-process replay of the same events puts into a fresh database."""
    url = f"sqlite:///{system.workdir / 'replay.db'}"
    migrate(url)
    engine = make_engine(url)
    seed(engine)
    pipeline = Pipeline(load_registry(engine), load_ruleset(), SystemClock(), 300)
    prefix = f"{system.settings.topic_prefix}."
    records = [
        LogRecord(topic_of(system.settings.topics, e).removeprefix(prefix), e.key, e.value)
        for e in events
    ]
    replay(records, pipeline, DatabaseSink(engine))
    return snapshot(engine)


def snapshot(engine: Engine) -> tuple[set[str], set[str], set[str]]:
    with Session(engine) as s:
        return (
            set(s.scalars(select(PointsEntryRow.id))),
            set(s.scalars(select(Alert.id))),
            set(s.scalars(select(AlertTransitionRow.id))),
        )


def test_days_land_exactly_once_as_a_replay_would_make_them(system: System) -> None:
    events = simulate_days(SOME_DAY, 3, keys=keyring())
    # Three days sent at full speed are a backlog, as after an outage: all on the broker
    # before the worker reads it (a producer racing the worker would put records hours of
    # event time out of order across topics, beyond the lateness the workers allow).
    system.stop_workers()
    send_events(make_producer(system.settings.kafka_bootstrap), system.settings.topics, events)
    system.start_worker()
    want = replayed(system, events)
    assert len(want[0]) > 10 and len(want[1]) == 1

    system.wait_for("the days in the database", lambda: snapshot(system.engine) == want, 60)
    with Session(system.engine) as s:
        [alert] = s.scalars(select(Alert)).all()
    assert alert.subject_id == ABSCONDER_ID and alert.state == "open"
    first = snapshot(system.engine)
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
    assert snapshot(system.engine) == first


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
