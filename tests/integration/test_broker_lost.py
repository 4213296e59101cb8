"""A worker whose broker is lost leaves (ready file cleared, status 69) instead of living
on half alive, and a worker started again on the restarted broker works."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaProducer

from ccwatch.broker import EmbeddedBroker
from streams.watchdog import EXIT_BROKER_LOST
from tests.integration.harness import System
from tests.integration.test_detection import fix
from tests.integration.test_recovery import FAR_OUT, transitions


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
    yield broker
    broker.stop()


def test_a_lost_broker_ends_the_worker_and_a_restart_recovers(
    own_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    system = System(
        own_broker.bootstrap, f"sqlite:///{tmp_path / 'ccwatch.db'}", tmp_path, broker_lost_s=4.0
    )
    try:
        system.start_worker()
        ready = tmp_path / "ready-0"
        assert ready.exists()
        own_broker.stop()
        stopped = time.monotonic()
        worker = system.workers[0]
        while worker.poll() is None and time.monotonic() - stopped < 60:
            time.sleep(0.2)
        assert worker.returncode == EXIT_BROKER_LOST, system.log()[-2000:]
        assert not ready.exists()
        system.workers.clear()

        own_broker.start()  # empty: an in-memory broker lost its topics
        system.start_worker()  # creates them again, as a supervisor's restart would
        system.producer.close()
        system.producer = KafkaProducer(bootstrap_servers=own_broker.bootstrap, acks="all")
        now = datetime.now(UTC)
        t = system.settings.topics
        system.send(t.locations, b"SS-0003", fix(1, "SS-0003", now - timedelta(minutes=5), FAR_OUT))
        system.wait_for("an alert after the restart", lambda: transitions(system, "SS-0003"), 60)
    finally:
        system.close()


def test_sigterm_is_honoured_within_seconds_with_the_broker_gone(
    own_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    system = System(
        own_broker.bootstrap,
        f"sqlite:///{tmp_path / 'ccwatch.db'}",
        tmp_path,
        broker_lost_s=600.0,
        shutdown_grace_s=3.0,
    )
    try:
        system.start_worker()
        own_broker.stop()
        time.sleep(2)
        worker = system.workers[0]
        asked = time.monotonic()
        worker.terminate()
        worker.wait(30)
        assert time.monotonic() - asked < 10
        assert not (tmp_path / "ready-0").exists()
        system.workers.clear()
    finally:
        system.close()
