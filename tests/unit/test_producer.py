"""The worker's producer: acks=all always, idempotent when CCWATCH_PRODUCER_IDEMPOTENCE is on
(docker-compose.yml), and the labelled counters at 0 once the worker is built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from ccwatch.seed import seed
from ccwatch.settings import Settings
from models.db import make_engine, migrate
from streams import metrics
from streams.app import build_worker
from streams.producer import IdempotentProducer


def producer_config(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path / 'ccwatch.db'}"
    migrate(url)
    seed(make_engine(url))
    w = build_worker(
        Settings(
            kafka_bootstrap="127.0.0.1:9",  # never dialled
            database_url=url,
            data_dir=tmp_path,
            metrics_port=0,
            **settings,
        )
    )
    producer = w.app.producer
    config = {**producer._settings_default(), **producer._settings_extra()}  # type: ignore[attr-defined]
    config["type"] = type(producer)
    return config


@pytest.mark.parametrize("idempotence", [False, True])
def test_the_producer_waits_for_all_in_sync_replicas(tmp_path: Path, idempotence: bool) -> None:
    config = producer_config(tmp_path, producer_idempotence=idempotence)
    assert config["acks"] in (-1, "all")


def test_idempotence_is_off_by_default_for_tansu(tmp_path: Path) -> None:
    config = producer_config(tmp_path)
    assert not config.get("enable_idempotence")


def test_idempotence_when_asked(tmp_path: Path) -> None:
    config = producer_config(tmp_path, producer_idempotence=True)
    assert config["type"] is IdempotentProducer
    assert config["enable_idempotence"] is True
    assert config["acks"] == "all"


def test_a_built_worker_exposes_its_counters_at_zero(tmp_path: Path) -> None:
    producer_config(tmp_path)
    text = generate_latest(metrics.REGISTRY).decode()
    assert 'ccwatch_timer_failures_total{timer="gauges"} 0.0' in text
    assert 'ccwatch_points_entries_total{rule="checkin.on_time"}' in text
    assert 'ccwatch_events_consumed_total{outcome="ok",reason="",topic="locations"}' in text
