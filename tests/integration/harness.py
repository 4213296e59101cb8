"""A real system for integration tests: worker processes on their own topics and database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from ccwatch.seed import seed
from ccwatch.settings import Settings
from models.closes import record_watch_start
from models.db import make_engine, migrate
from streams.topics import ensure_topics
from tests.factories import WATCHED_SINCE

REPO = Path(__file__).parents[2]


class System:
    """Topics under a unique prefix, a migrated and seeded database, worker processes."""

    def __init__(
        self,
        bootstrap: str,
        database_url: str,
        workdir: Path,
        watched_since: datetime | None = WATCHED_SINCE,
        **settings: Any,
    ) -> None:
        """``watched_since``: when ccwatch began watching the database (None: never, so
        the first worker's start records it)."""
        tag = uuid.uuid4().hex[:8]
        self.workdir = workdir
        defaults: dict[str, Any] = dict(
            kafka_bootstrap=bootstrap,
            database_url=database_url,
            topic_prefix=f"t{tag}",
            app_id=f"ccwatch-{tag}",
            partitions=4,
            session_timeout_s=6.0,
            data_dir=workdir,
            registry_refresh_s=2.0,
            sink_batch_window_s=0.2,
            close_timer=False,
            tick_interval_s=0,
            metrics_port=0,
        )
        self.settings = Settings(**(defaults | settings))
        migrate(database_url)
        self.engine = make_engine(database_url)
        seed(self.engine)
        if watched_since is not None:
            record_watch_start(self.engine, watched_since)
        s = self.settings
        ensure_topics(bootstrap, s.topics.all(), s.partitions)
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
        self.workers: list[subprocess.Popen[bytes]] = []
        self._consumers: dict[str, KafkaConsumer] = {}
        self._seen: dict[str, list[ConsumerRecord]] = {}

    def start_worker(
        self, app_id: str | None = None, timeout_s: float = 90, **env_over: str
    ) -> None:
        """Start a worker process and wait until it has joined its consumer group."""
        n = len(self.workers)
        ready = self.workdir / f"ready-{n}"
        ready.unlink(missing_ok=True)
        env = {**os.environ, **self.settings.environment(), "CCWATCH_READY_FILE": str(ready)}
        if app_id:
            env["CCWATCH_APP_ID"] = app_id
        env.update({f"CCWATCH_{k.upper()}": v for k, v in env_over.items()})
        log = open(self.workdir / f"worker-{n}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "ccwatch", "worker"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(proc)
        deadline = time.monotonic() + timeout_s
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start: {self.log(n)[-3000:]}")
            time.sleep(0.1)

    def log(self, n: int = 0) -> str:
        return (self.workdir / f"worker-{n}.log").read_text("utf-8", "replace")

    def stop_workers(self) -> None:
        for proc in self.workers:
            proc.terminate()
        for proc in self.workers:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.workers.clear()

    def close(self) -> None:
        self.stop_workers()
        self.producer.close()
        for consumer in self._consumers.values():
            consumer.close()
        self.engine.dispose()

    # Kafka --------------------------------------------------------------------------
    def send(
        self, topic: str, key: bytes | None, value: bytes, received_at: datetime | None = None
    ) -> None:
        """Send a record, stamped (its broker timestamp) as reaching Kafka at
        ``received_at``: by default at its event time, as a terminal that delivers at once."""
        at = received_at or _occurred_at(value)
        stamp = int(at.timestamp() * 1000) if at is not None else None
        self.producer.send(topic, key=key, value=value, timestamp_ms=stamp)
        self.producer.flush()

    def records(self, topic: str) -> list[ConsumerRecord]:
        """Every record of ``topic`` so far (read from the start, accumulated)."""
        if topic not in self._consumers:
            consumer = KafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                group_id=None,
                auto_offset_reset="earliest",
            )
            parts = [TopicPartition(topic, p) for p in range(self.settings.partitions)]
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            self._consumers[topic], self._seen[topic] = consumer, []
        for batch in self._consumers[topic].poll(timeout_ms=200).values():
            self._seen[topic].extend(batch)
        return list(self._seen[topic])

    def wait_for(self, what: str, check: Callable[[], Any], timeout_s: float = 30) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}\n{self.log()[-2000:]}")


def _occurred_at(value: bytes) -> datetime | None:
    try:
        found = msgspec.json.decode(value).get("occurred_at")
        return datetime.fromisoformat(found) if isinstance(found, str) else None
    except (msgspec.DecodeError, AttributeError, ValueError):
        return None
