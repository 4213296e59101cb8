"""SIGTERM is honoured within seconds even with the broker gone (a lost broker ending the
worker and its recovery are a case of the fault suite: tests/faults)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccwatch.broker import EmbeddedBroker
from tests.integration.harness import System


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
    yield broker
    broker.stop()


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
