"""The Faust app: built from thin wiring modules around the pure core.

- :mod:`streams.inputs`: the input agents (validate, decide, publish; fixes to groups);
- :mod:`streams.gathering`: co-offenders' fixes judged by group, sightings back;
- :mod:`streams.ticks`: time-driven detection and the monthly close per partition;
- :mod:`streams.outputs`: batched, idempotent database sinks and the map's positions;
- :mod:`streams.timers`: reference data refresh, zero reports, gauges.

Every decision is made in :mod:`streams.pipeline` and below it in alerts/ and scoring/.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import faust

from alerts.clock import Clock, SystemClock
from ccwatch.settings import Settings
from models.db import make_engine
from models.registry import load_registry
from scoring.rules import load_ruleset
from streams import gathering, inputs, metrics, outputs, ticks, timers
from streams.pipeline import Pipeline
from streams.sink import DatabaseSink
from streams.topics import ensure_topics
from streams.worker import Worker


def create_app(settings: Settings, clock: Clock | None = None) -> faust.App:
    """Build the worker app for ``settings`` (the broker address must be set)."""
    return build_worker(settings, clock).app


def build_worker(settings: Settings, clock: Clock | None = None) -> Worker:
    """The app with its shared parts (the agents' tests drive it with test_context)."""
    assert settings.kafka_bootstrap, "create_app needs a broker address"
    engine = make_engine(settings.database_url)
    clock = clock or SystemClock()
    pipeline = Pipeline(
        load_registry(engine),
        load_ruleset(settings.ruleset),
        clock,
        settings.max_clock_skew_s,
        max_event_age_s=settings.max_event_age_s,
    )
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{b.strip()}" for b in settings.kafka_bootstrap.split(",")],
        store="memory://",
        datadir=_datadir(settings),
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
    w = Worker(app, settings, pipeline, DatabaseSink(engine), clock)
    # Keyed by subject id (raw bytes, so each changelog record stays in its source
    # partition); written only when a subject's decisions change, never per event.
    w.tables["subjects"] = app.Table(
        "subject-state",
        default=None,
        partitions=settings.partitions,
        key_type=bytes,
        value_type=bytes,
    )

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget(sender: Any, *args: Any, **kwargs: Any) -> None:
        w.live.clear()  # another worker may own them next: read the table again
        w.offsets.clear()
        w.assigned.clear()
        w.flows.clear()  # held records are not acknowledged: delivered again to the owner
        w.tickets.clear()

    for module in (inputs, gathering, ticks, outputs, timers):
        module.register(w)

    if settings.ready_file:
        ready_file = settings.ready_file

        @app.on_rebalance_complete.connect  # type: ignore[arg-type]
        async def mark_ready(sender: Any, **kwargs: Any) -> None:
            ready_file.parent.mkdir(parents=True, exist_ok=True)
            ready_file.touch()

    return w


def _datadir(settings: Settings) -> Path:
    path = settings.data_dir / "faust" / settings.app_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_worker(settings: Settings) -> None:
    """Create the topics if missing, then run a worker in this process until interrupted."""
    ensure_topics(
        settings.kafka_bootstrap,
        settings.topics.all(),
        settings.partitions,
        settings.replication_factor,
    )
    with contextlib.suppress(ImportError):  # a faster event loop where available
        import uvloop

        uvloop.install()
    app = create_app(settings)
    if settings.metrics_port:
        metrics.serve(settings.web_host, settings.metrics_port)
    worker = faust.Worker(app, loglevel=settings.log_level, redirect_stdouts=False)
    worker.execute_from_commandline()
