"""The Kafka settings that keep data, as the worker applies them (docs/runbook.md, "Production
settings"): the producer waits for all in-sync replicas, is idempotent when
CCWATCH_PRODUCER_IDEMPOTENCE is on (docker-compose.yml), and the table's changelog is created
compacted with CCWATCH_REPLICATION_FACTOR replicas. Also: counters at 0 once built."""

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
from streams.transport import IdempotentProducer
from streams.worker import Worker


def built(tmp_path: Path, **settings: Any) -> Worker:
    url = f"sqlite:///{tmp_path / 'ccwatch.db'}"
    migrate(url)
    seed(make_engine(url))
    return build_worker(
        Settings(
            kafka_bootstrap="127.0.0.1:9",  # never dialled
            database_url=url,
            data_dir=tmp_path,
            metrics_port=0,
            **settings,
        )
    )


def producer_config(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    producer = built(tmp_path, **settings).app.producer
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
    built(tmp_path)
    text = generate_latest(metrics.REGISTRY).decode()
    assert 'ccwatch_timer_failures_total{timer="gauges"} 0.0' in text
    assert 'ccwatch_points_entries_total{rule="checkin.on_time"}' in text
    assert 'ccwatch_events_consumed_total{outcome="ok",reason="",topic="locations"}' in text


def test_the_changelog_is_compacted_and_replicated(tmp_path: Path) -> None:
    w = built(tmp_path, replication_factor=3)
    changelog = w.tables["subjects"].changelog_topic
    assert changelog.get_topic_name() == "ccwatch-subject-state-changelog"  # docs/runbook.md
    assert changelog.compacting is True
    assert not changelog.deleting and not changelog.retention
    # Faust creates it with this configuration and the app's replication factor.
    config = w.app.transport._topic_config(  # type: ignore[attr-defined]
        compacting=changelog.compacting, deleting=changelog.deleting
    )
    assert config == {"cleanup.policy": "compact"}
    assert changelog.replicas in (None, 0) and w.app.conf.topic_replication_factor == 3
