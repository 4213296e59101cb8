"""Replay from the topics reproduces what the live worker decided: the same alerts (ids and
states, ticks and an officer's verification included) and the same points entries."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import streams.replay
from alerts.clock import SystemClock
from ccwatch.broker import EmbeddedBroker
from ccwatch.cli import app as cli
from ccwatch.reference import ABSCONDER_ID
from ccwatch.seed import seed
from models.db import make_engine, migrate
from models.events import AlertAction, encode
from models.records import Alert, PointsEntryRow
from models.registry import load_registry
from scoring.rules import load_ruleset
from streams.pipeline import Pipeline
from streams.replay import IncompleteRead, read_topics, replay
from streams.sink import DatabaseSink
from streams.topics import TopicNames, ensure_topics
from terminals.producer import make_producer, send_events
from terminals.simulator import simulate_days
from tests.factories import SOME_DAY, keyring
from tests.integration.harness import System

WORKER_SETTINGS = {"tick_interval_s": 1.0}


def decided(engine: Engine) -> tuple[set[tuple[str, str, str]], set[str]]:
    with Session(engine) as s:
        alerts = {(a.id, a.alert_type, a.state) for a in s.scalars(select(Alert))}
        return alerts, set(s.scalars(select(PointsEntryRow.id)))


def replayed(system: System, n: int) -> tuple[set[tuple[str, str, str]], set[str]]:
    url = f"sqlite:///{system.workdir / f'replay-{n}.db'}"
    migrate(url)
    engine = make_engine(url)
    seed(engine)
    pipeline = Pipeline(load_registry(engine), load_ruleset(), SystemClock(), 300)
    s = system.settings
    result = replay(
        read_topics(s.kafka_bootstrap, s.topics, s.partitions), pipeline, DatabaseSink(engine)
    )
    assert not result.not_applied
    return decided(engine)


def test_replay_from_the_topics_gives_the_live_alerts_and_entries(system: System) -> None:
    t = system.settings.topics
    # The day's records are stamped as reaching Kafka on that day (CreateTime), so they must
    # be on the broker before a tick passes them, as on-time records are: sent to a worker
    # already ticking, they would be applied in arrival order, after ticks had judged
    # silence between them (a false signal_lost that in-order replay rightly never opens).
    system.stop_workers()
    send_events(
        make_producer(system.settings.kafka_bootstrap),
        t,
        simulate_days(SOME_DAY, 1, keys=keyring()),
    )
    system.start_worker()
    opened = system.wait_for(
        "the absconder's alert",
        lambda: [a for a in decided(system.engine)[0] if a[1] == "out_of_bounds"],
        60,
    )
    [(alert_id, _, _)] = opened
    for n, action in enumerate(("acknowledge", "resolve")):
        verdict = AlertAction(
            event_id=f"officer-{n}",
            subject_id=ABSCONDER_ID,
            alert_id=alert_id,
            action=action,  # type: ignore[arg-type]
            officer_id="O-caiyuan-1",
            occurred_at=datetime.now(UTC),
            outcome="verified_violation" if action == "resolve" else None,
        )
        system.send(t.actions, ABSCONDER_ID.encode(), encode(verdict))
    system.wait_for(
        "the verification",
        lambda: (alert_id, "out_of_bounds", "resolved") in decided(system.engine)[0],
        60,
    )
    attempts = iter(range(100))
    differences: list[str] = []

    def agreed() -> tuple[set[tuple[str, str, str]], set[str]] | None:
        now = decided(system.engine)
        try:
            then = replayed(system, next(attempts))
        except IncompleteRead as e:  # a slow broker: read again
            differences.append(f"{time.strftime('%H:%M:%S')} {e}")
            return None
        if now == then:
            return now
        differences.append(
            f"{time.strftime('%H:%M:%S')} live only: {now[0] - then[0]} {now[1] - then[1]};"
            f" replayed only: {then[0] - now[0]} {then[1] - now[1]}"
        )
        return None

    try:
        # each attempt migrates, seeds and replays a fresh database: seconds each
        alerts, entries = system.wait_for("live and replayed to agree", agreed, 180)
    except AssertionError as e:
        raise AssertionError("\n".join(differences[-5:])) from e
    assert len(alerts) > 5 and {a[1] for a in alerts} >= {"out_of_bounds", "signal_lost"}
    assert any(e for e in entries)


def test_a_read_that_cannot_reach_the_end_fails_rather_than_replay_part_of_the_log(
    broker: EmbeddedBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topics = TopicNames(f"r{uuid.uuid4().hex[:8]}")
    ensure_topics(broker.bootstrap, topics.all(), 4)
    producer = make_producer(broker.bootstrap)
    for n in range(20):
        producer.send(topics.locations, key=f"S-{n}".encode(), value=b"{}")
    producer.flush()
    assert len(list(read_topics(broker.bootstrap, topics, 4, idle_s=1))) == 20
    # A fifth partition the topics do not have never answers: that is an error, not an end.
    with pytest.raises(IncompleteRead, match="locations"):
        list(read_topics(broker.bootstrap, topics, 5, idle_s=1))
    monkeypatch.setattr(streams.replay, "READ_IDLE_S", 1.0)
    env = {
        "CCWATCH_KAFKA_BOOTSTRAP": broker.bootstrap,
        "CCWATCH_TOPIC_PREFIX": topics.prefix,
        "CCWATCH_PARTITIONS": "5",
        "CCWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'replay.db'}",
    }
    answer = CliRunner().invoke(cli, ["replay", "--from-topics"], env=env)
    assert answer.exit_code == 1 and "replay stopped, nothing written" in answer.output
