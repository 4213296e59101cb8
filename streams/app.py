"""The Faust app: built from thin wiring modules around the pure core.

- :mod:`streams.inputs`: the input agents (validate, decide, publish; fixes to groups);
- :mod:`streams.gathering`: co-offenders' fixes judged by group, sightings back;
- :mod:`streams.ticks`: time-driven detection and the monthly close per partition;
- :mod:`streams.outputs`: batched, idempotent database sinks and the map's positions;
- :mod:`streams.timers`: reference data refresh, zero reports, gauges;
- :mod:`streams.watchdog`: a worker whose broker is lost exits for its supervisor.

Nothing a timer, a sink or the broker does may end or wedge the worker
(:mod:`streams.guard`).

Every decision is made in :mod:`streams.pipeline` and below it in alerts/ and scoring/.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import faust
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from alerts.clock import Clock, SystemClock
from alerts.policy import INPUTS
from ccwatch.settings import Settings
from models.closes import record_watch_start
from models.registry import load_registry, load_snapshot, save_snapshot
from models.values import Registry
from scoring.rules import load_ruleset
from streams import gathering, inputs, metrics, outputs, ticks, timers, watchdog
from streams.datadir import claim_slot
from streams.guard import describe
from streams.pipeline import Pipeline
from streams.sink import DatabaseSink
from streams.topics import TABLES, absent, changelogs, ensure_topics
from streams.transport import install
from streams.worker import Worker

log = logging.getLogger("streams")


def create_app(settings: Settings, clock: Clock | None = None, fresh: bool = False) -> faust.App:
    """Build the worker app for ``settings`` (the broker address must be set); ``fresh``:
    the broker's topics were just created, so tables kept on disk are of a lost log."""
    return build_worker(settings, clock, fresh).app


def build_worker(settings: Settings, clock: Clock | None = None, fresh: bool = False) -> Worker:
    """The app with its shared parts (the agents' tests drive it with test_context)."""
    assert settings.kafka_bootstrap, "create_app needs a broker address"
    engine = settings.engine()
    clock = clock or SystemClock()
    pipeline = Pipeline(
        first_registry(engine, settings.registry_snapshot, clock.now()),
        load_ruleset(settings.ruleset),
        clock,
        settings.max_clock_skew_s,
        max_event_age_s=settings.max_event_age_s,
    )
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{b.strip()}" for b in settings.kafka_bootstrap.split(",")],
        # On disk, a restart reads only the changelog's tail (docs/runbook.md, Restart time).
        store="rocksdb://" if settings.table_store == "rocksdb" else "memory://",
        datadir=_datadir(settings, fresh),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_disable_leader=True,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 4),
        consumer_auto_offset_reset="earliest",
        producer_linger=0.05,
        # One record per producer batch: brokers whose ListOffsets answers the base offset
        # of the last batch (tansu) otherwise stop table recovery early (broker-notes.md).
        producer_max_batch_size=settings.producer_max_batch_size,
        # Held records stay unacknowledged until applied; a rebalance must not wait for them
        # (they are delivered again to the partition's next owner).
        stream_wait_empty=False,
        web_enabled=False,
        web_host=settings.web_host,
    )
    install(app, idempotent=settings.producer_idempotence)
    w = Worker(app, settings, pipeline, DatabaseSink(engine), clock)
    # Keyed by subject id (raw bytes, so each changelog record stays in its source
    # partition); written only when a subject's decisions change, never per event.
    w.tables["subjects"] = app.Table(
        TABLES[0],
        default=None,
        partitions=settings.partitions,
        key_type=bytes,
        value_type=bytes,
    )

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget(sender: Any, *args: Any, **kwargs: Any) -> None:
        w.live.clear()  # another worker may own them next: read the table again
        w.offsets.clear()
        w.polls.clear()
        w.assigned.clear()
        w.flows.clear()  # held records are not acknowledged: delivered again to the owner
        w.tickets.clear()
        w.validated.clear()

    for module in (inputs, gathering, ticks, outputs, timers, watchdog):
        module.register(w)

    if settings.ready_file:
        ready_file = settings.ready_file

        @app.on_rebalance_complete.connect  # type: ignore[arg-type]
        async def mark_ready(sender: Any, **kwargs: Any) -> None:
            ready_file.parent.mkdir(parents=True, exist_ok=True)
            ready_file.touch()

    metrics.start_at_zero(pipeline.steps(), (rule.id for rule in pipeline.ruleset.rules))
    return w


def first_registry(engine: Engine, snapshot: Path, started_at: datetime | None = None) -> Registry:
    """The reference data to start with: from the database; while it is down, the copy the
    worker kept; with neither, wait for the database (each try logged). The first worker
    to start on a database records that ccwatch watches it from ``started_at``."""
    delay = 1.0
    while True:
        try:
            first = started_at is not None and record_watch_start(engine, started_at)
            registry = load_registry(engine)
            if first:
                log.info("first start on this database: watching from %s", registry.watch_started)
        except SQLAlchemyError as exc:
            kept = load_snapshot(snapshot)
            if kept is not None:
                log.warning("database unavailable (%s): starting with %s", describe(exc), snapshot)
                return kept
            log.warning("database unavailable (%s); retrying in %.0f s", describe(exc), delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
        else:
            save_snapshot(registry, snapshot)
            return registry


def _datadir(settings: Settings, fresh: bool) -> Path:
    path = settings.data_dir / "faust" / settings.app_id
    if settings.table_store == "rocksdb":
        return claim_slot(path, empty=fresh)  # one process per RocksDB database
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_worker(settings: Settings) -> None:
    """Create the topics if missing, then run a worker in this process until interrupted."""
    stamped: dict[str, str] = {"message.timestamp.type": settings.input_timestamp_type}
    # Tables kept on disk belong to changelogs the broker no longer has (a broker that lost
    # its data) or never had: start them empty (else Faust refuses offsets ahead of the log).
    fresh = bool(absent(settings.kafka_bootstrap, changelogs(settings.app_id)))
    ensure_topics(
        settings.kafka_bootstrap,
        settings.topics.all(),
        settings.partitions,
        settings.replication_factor,
        {f"{settings.topic_prefix}.{name}": stamped for name in INPUTS},
    )
    with contextlib.suppress(ImportError):  # a faster event loop where available
        import uvloop

        uvloop.install()
    app = create_app(settings, fresh=fresh)
    if settings.metrics_port:
        metrics.serve(settings.web_host, settings.metrics_port)
    worker = _Worker(app, loglevel=settings.log_level, redirect_stdouts=False)
    worker.grace_s, worker.ready_file = settings.shutdown_grace_s, settings.ready_file
    worker.execute_from_commandline()


class _Worker(faust.Worker):
    """Honours SIGTERM within a grace period: a graceful stop that waits on a lost broker
    or database is cut short (nothing unacknowledged is lost by exiting)."""

    grace_s: float = 10.0
    ready_file: Path | None = None

    def _on_sigterm(self) -> None:
        self._stop_within()
        super()._on_sigterm()

    def _on_sigint(self) -> None:
        self._stop_within()
        super()._on_sigint()

    def _stop_within(self) -> None:
        if self.ready_file is not None:
            self.ready_file.unlink(missing_ok=True)
        timer = threading.Timer(self.grace_s, os._exit, args=(0,))
        timer.daemon = True
        timer.start()
