"""Agents driven through Faust's own test_context (faust-streaming's testing guide): no
broker; the agent code under test is the production code. What the agents send is kept
per topic instead of being produced."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.clock import ManualClock
from ccwatch.seed import seed
from ccwatch.settings import Settings
from models.closes import record_watch_start
from models.db import make_engine, migrate
from streams.app import build_worker
from streams.worker import Worker
from tests.factories import T0, WATCHED_SINCE


def on_time(record: Any, late: timedelta = timedelta(0)) -> float:
    """A broker timestamp (seconds, as Faust gives it) for a record that reached Kafka
    ``late`` after its event time; test_context would stamp the wall clock's time."""
    return float((record.occurred_at + late).timestamp())


class Sent(defaultdict[str, list[tuple[bytes | None, bytes]]]):
    """Records sent by the agents, by topic short name (their headers in ``headers``)."""

    def __init__(self) -> None:
        super().__init__(list)
        self.headers: defaultdict[str, list[dict[str, bytes]]] = defaultdict(list)


@pytest.fixture
async def worker(tmp_path: Path) -> AsyncIterator[tuple[Worker, Sent]]:
    url = f"sqlite:///{tmp_path / 'ccwatch.db'}"
    migrate(url)
    seed(make_engine(url))
    record_watch_start(make_engine(url), WATCHED_SINCE)
    settings = Settings(
        kafka_bootstrap="127.0.0.1:9",  # never dialled: test_context has no broker
        database_url=url,
        data_dir=tmp_path,
        tick_interval_s=0,
        close_timer=False,
        metrics_port=0,
        sink_batch_window_s=0.05,
        table_store="memory",
    )
    w = build_worker(settings, ManualClock(T0 + timedelta(hours=30)))
    w.app.conf.store = "memory://"  # type: ignore[assignment]
    w.app.finalize()
    sent = Sent()
    for name in ("alerts", "points", "recommendations", "dead-letter", "groups", "sightings"):
        topic = w.topic(name)

        async def send(
            *, key: Any = None, value: Any = None, headers: Any = None, _name: str = name, **_: Any
        ) -> None:
            sent[_name].append((key, value))
            sent.headers[_name].append(dict(headers or []))

        topic.send = send  # type: ignore[method-assign,assignment]
    yield w, sent
