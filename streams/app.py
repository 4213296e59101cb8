"""The Faust app: input topics keyed by subject id, one state table, outputs and sinks.

Thin wiring: every decision is made in :mod:`streams.pipeline` (and below it in alerts/
and scoring/); this module moves bytes between Kafka, the table and the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import faust
import msgspec
from faust.types import EventT, StreamT, TopicT

from alerts import gathering
from alerts.clock import Clock, SystemClock, Watermark
from ccwatch.settings import Settings
from models.db import make_engine
from models.events import (
    Activity,
    AlertAction,
    AlertEvent,
    CheckIn,
    Decision,
    DeviceEvent,
    LocationFix,
    MonthClose,
    PointsEntry,
    Recommendation,
    Rejection,
    Sighting,
    Tick,
    decode,
    decode_control,
    encode,
)
from models.localtime import local
from models.registry import load_registry
from scoring.rules import load_ruleset
from streams import metrics
from streams.control import close_record, due_close, partition_of
from streams.pipeline import Outcome, Pipeline, SubjectState, dump_state, load_state
from streams.sink import DatabaseSink
from streams.topics import ensure_topics

log = logging.getLogger(__name__)
MAX_BUFFERED_FIXES = 100_000  # positions for the map are a copy; the topic keeps them all
R = TypeVar("R", AlertEvent, PointsEntry, Recommendation, LocationFix)
V = TypeVar("V", CheckIn, LocationFix, Activity, Decision, AlertAction, DeviceEvent)


def create_app(settings: Settings, clock: Clock | None = None) -> faust.App:
    """Build the worker app for ``settings`` (the broker address must be set)."""
    assert settings.kafka_bootstrap, "create_app needs a broker address"
    names = settings.topics
    engine = make_engine(settings.database_url)
    clock = clock or SystemClock()
    pipeline = Pipeline(
        load_registry(engine), load_ruleset(settings.ruleset), clock, settings.max_clock_skew_s
    )
    sink = DatabaseSink(engine)

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
        web_enabled=False,
        web_host=settings.web_host,
    )

    def raw_topic(name: str) -> TopicT:
        return app.topic(
            name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
        )

    checkins, locations = raw_topic(names.checkins), raw_topic(names.locations)
    activities, decisions = raw_topic(names.activities), raw_topic(names.decisions)
    actions, devices = raw_topic(names.actions), raw_topic(names.devices)
    control = raw_topic(names.control)
    cells, sightings = raw_topic(names.cells), raw_topic(names.sightings)
    alerts, points = raw_topic(names.alerts), raw_topic(names.points)
    recommendations = raw_topic(names.recommendations)
    dead_letter = raw_topic(names.dead_letter)
    # Keyed by subject id (raw bytes, so each changelog record stays in its source
    # partition); written only when a subject's decisions change, never per event.
    state = app.Table(
        "subject-state",
        default=None,
        partitions=settings.partitions,
        key_type=bytes,
        value_type=bytes,
    )

    async def reject(event: EventT[Any], why: Rejection) -> None:
        msg = event.message
        log.warning("dead-letter %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, why.detail)
        metrics.EVENTS.labels(_short(msg.topic), "dead_lettered", why.reason).inc()
        await dead_letter.send(
            key=msg.key,
            value=msg.value,
            headers=[
                ("ccwatch.reason", why.reason.encode()),
                ("ccwatch.detail", why.detail.encode()),
                ("ccwatch.topic", msg.topic.encode()),
                ("ccwatch.partition", str(msg.partition).encode()),
                ("ccwatch.offset", str(msg.offset).encode()),
            ],
        )

    # How far event time has got in each input topic's partition. Topics are co-partitioned
    # (partition p of each holds the same subjects), and a partition's ticks run at the
    # lowest of its inputs' watermarks: never ahead of what has been processed.
    watermarks: defaultdict[tuple[str, int], Watermark] = defaultdict(Watermark)
    # Subjects' states as of their latest record; the table holds the durable version.
    live: dict[bytes, SubjectState] = {}

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget(sender: Any, *args: Any, **kwargs: Any) -> None:
        live.clear()  # another worker may own them next: read the table again

    def current_state(key: bytes) -> SubjectState:
        found = live.get(key)
        return found if found is not None else load_state(state.get(key))

    async def publish(key: bytes, current: SubjectState, outcome: Outcome) -> None:
        """Keep the subject's new state, store it when it must survive a restart, and
        publish what was decided."""
        live[key] = outcome.state
        if outcome.durable(current):
            state[key] = dump_state(outcome.state)
        for alert in outcome.alerts:
            await alerts.send(key=key, value=encode(alert))
            _count_alert(alert)
        for entry in outcome.points:
            await points.send(key=key, value=encode(entry))
            metrics.POINTS.labels(entry.rule_id).inc()
        for rec in outcome.recommendations:
            await recommendations.send(key=key, value=encode(rec))

    async def process(
        stream: StreamT[bytes],
        validate: Callable[[bytes, bytes | None], V | Rejection],
        apply: Callable[[SubjectState, V], Outcome],
    ) -> None:
        """Validate each record, apply it to its subject's state, publish what it decides."""
        ok: Any = None  # this stream's "ok" counter, looked up once
        seconds: Any = None
        async for event in stream.events():
            started = time.perf_counter()
            if ok is None:
                topic = _short(event.message.topic)
                ok = metrics.EVENTS.labels(topic, "ok", "")
                seconds = metrics.PROCESSING.labels(topic)
            valid = validate(event.value, event.key)
            if isinstance(valid, Rejection):
                await reject(event, valid)
                continue
            msg = event.message
            watermarks[msg.topic, msg.partition].saw(valid.occurred_at, time.monotonic())
            current = current_state(event.key)
            try:
                outcome = apply(current, valid)
            except Exception as exc:  # a bug must not stop the partition: park the record
                log.exception("processing failed")
                await reject(event, Rejection("processing_error", repr(exc)))
                continue
            if outcome.rejected is not None:
                await reject(event, outcome.rejected)
            else:
                ok.inc()
            await publish(event.key, current, outcome)
            seconds.observe(time.perf_counter() - started)
            if isinstance(valid, LocationFix):
                fixes.append(valid)  # for the map; written in batches by a timer
                if len(fixes) > MAX_BUFFERED_FIXES:  # the database is down: keep the newest
                    del fixes[: len(fixes) - MAX_BUFFERED_FIXES]
                if cells_wanted(valid):
                    await cells.send(key=cell_key(valid), value=event.value)

    @app.agent(checkins, name="checkins")
    async def on_checkins(stream: StreamT[bytes]) -> None:
        await process(stream, pipeline.validate_checkin, pipeline.apply_checkin)

    @app.agent(locations, name="locations")
    async def on_locations(stream: StreamT[bytes]) -> None:
        await process(stream, pipeline.validate_location, pipeline.apply_location)

    @app.agent(activities, name="activities")
    async def on_activities(stream: StreamT[bytes]) -> None:
        await process(stream, pipeline.validate_activity, pipeline.apply_activity)

    @app.agent(decisions, name="decisions")
    async def on_decisions(stream: StreamT[bytes]) -> None:
        await process(stream, pipeline.validate_decision, pipeline.apply_decision)

    @app.agent(actions, name="alert-actions")
    async def on_actions(stream: StreamT[bytes]) -> None:
        await process(stream, pipeline.validate_action, pipeline.apply_action)

    @app.agent(devices, name="devices")
    async def on_devices(stream: StreamT[bytes]) -> None:
        await process(stream, pipeline.validate_device, pipeline.apply_device)

    def cells_wanted(fix: LocationFix) -> bool:
        subject = pipeline.registry.subjects.get(fix.subject_id)
        return subject is not None and subject.case_id is not None

    def cell_key(fix: LocationFix) -> bytes:
        limits, _ = pipeline.limits(pipeline.subject(fix.subject_id), fix.occurred_at)
        return gathering.cells(fix.lat, fix.lon, limits.gathering_distance_m)[0].encode()

    # Gathering: co-offenders' fixes repartitioned by space; presence is short-lived, so a
    # cell's state lives in memory only and rebuilds within minutes after a restart.
    cell_states: dict[str, gathering.CellState] = {}

    @app.agent(cells, name="cells")
    async def on_cells(stream: StreamT[bytes]) -> None:
        async for value in stream:
            fix = decode(value, LocationFix)
            if isinstance(fix, Rejection):
                continue  # validated before it was repartitioned
            for seen in pipeline.gather(cell_states, fix):
                await sightings.send(key=seen.subject_id.encode(), value=encode(seen))

    @app.agent(sightings, name="sightings")
    async def on_sightings(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            seen = decode(event.value, Sighting)
            if isinstance(seen, Rejection) or seen.subject_id not in pipeline.registry.subjects:
                continue
            current = current_state(event.key)
            await publish(event.key, current, pipeline.apply_sighting(current, seen))

    @app.agent(control, name="control")
    async def on_control(stream: StreamT[bytes]) -> None:
        """Month closes and ticks for one partition: for every subject whose key maps to it."""
        async for event in stream.events():
            record = decode_control(event.value)
            if isinstance(record, Rejection):
                await reject(event, record)
                continue
            partition, n = event.message.partition, 0
            if isinstance(record, Tick):
                wall = time.monotonic()
                at = min(
                    (
                        w.horizon(record.at, wall)
                        for (_, p), w in watermarks.items()
                        if p == partition
                    ),
                    default=record.at,
                )
                as_of = msgspec.structs.replace(record, at=at)
            for subject_id in sorted(pipeline.registry.subjects):
                key = subject_id.encode()
                if partition_of(key, settings.partitions) != partition:
                    continue
                current = current_state(key)
                if isinstance(record, MonthClose):
                    outcome = pipeline.close_month(current, subject_id, record)
                else:
                    outcome = pipeline.tick(current, subject_id, as_of)
                await publish(key, current, outcome)
                n += 1
            if isinstance(record, MonthClose):
                log.info("closed %s for %d subjects of partition %d", record.month, n, partition)

    async def send_ticks() -> None:
        """Time-driven detection runs even when no record arrives: each worker ticks the
        control partitions it owns."""
        at = clock.now()
        tick = encode(Tick(event_id=f"tick:{at.isoformat()}", at=at))
        owned = {tp.partition for tp in app.consumer.assignment() if tp.topic == names.control}
        for partition in sorted(owned):
            await control.send(key=None, value=tick, partition=partition)

    if settings.tick_interval_s > 0:
        app.timer(interval=settings.tick_interval_s, name="ticks")(send_ticks)

    async def drain(stream: Any, kind: type[R], write: Callable[[list[R]], int]) -> None:
        """Decode each batch of output records and write it in one transaction."""
        size, within = settings.sink_batch_size, settings.sink_batch_window_s
        async for batch in stream.take_events(size, within=within):
            records: list[R] = []
            for event in batch:
                record = decode(event.value, kind)
                if isinstance(record, Rejection):
                    await reject(event, record)
                else:
                    records.append(record)
            metrics.SINK_BATCH.labels(write.__name__).observe(len(records))
            await _with_retry(write, records)

    @app.agent(alerts, name="alert-sink")
    async def alert_sink(stream: StreamT[bytes]) -> None:
        await drain(stream, AlertEvent, sink.write_alerts)

    @app.agent(points, name="points-sink")
    async def points_sink(stream: StreamT[bytes]) -> None:
        await drain(stream, PointsEntry, sink.write_points)

    @app.agent(recommendations, name="recommendations-sink")
    async def recommendations_sink(stream: StreamT[bytes]) -> None:
        await drain(stream, Recommendation, sink.write_recommendations)

    @app.timer(interval=settings.registry_refresh_s, name="refresh-registry")  # type: ignore[untyped-decorator]
    async def refresh_registry() -> None:
        """Security periods, leaves, zones and subjects take effect without a restart."""
        pipeline.use(await asyncio.to_thread(load_registry, engine))

    @app.timer(interval=600.0, name="zero-reports")  # type: ignore[untyped-decorator]
    async def zero_reports() -> None:
        """Yesterday's and today's so far: every office's daily report in security periods
        (idempotent, so every worker may write it)."""
        now = clock.now()
        for day in (local(now).date() - timedelta(days=1),):
            await asyncio.to_thread(sink.write_zero_reports, day, pipeline.registry.periods, now)

    async def month_close() -> None:
        """After a local month ends (plus the grace period), ask every partition to close it.
        Every worker may ask; a close is idempotent, so the first one counts."""
        month = due_close(clock.now(), timedelta(seconds=settings.close_grace_s))
        if app_state.get("closed") == month:
            return
        for partition in range(settings.partitions):
            await control.send(
                key=None, value=encode(close_record(month, "timer")), partition=partition
            )
        app_state["closed"] = month

    fixes: list[LocationFix] = []

    @app.timer(interval=1.0, name="positions")  # type: ignore[untyped-decorator]
    async def positions() -> None:
        """The map's positions: one batched write a second, never one per fix."""
        if fixes:
            batch = fixes[:]
            fixes.clear()
            await _with_retry(sink.write_positions, batch)

    @app.timer(interval=15.0, name="gauges")  # type: ignore[untyped-decorator]
    async def gauges() -> None:
        """Consumer lag per assigned partition, and open alerts by type and zone."""
        consumer = app.consumer
        metrics.LAG.clear()  # partitions this worker no longer owns must not linger
        for tp in consumer.assignment():
            position = await consumer.position(tp)
            if position is not None:
                lag = max(consumer.highwater(tp) - position, 0)
                metrics.LAG.labels(_short(tp.topic), str(tp.partition)).set(lag)
        for (kind, zone), n in (await asyncio.to_thread(sink.open_alert_counts)).items():
            metrics.OPEN_ALERTS.labels(kind, zone).set(n)

    app_state: dict[str, str] = {}
    if settings.close_timer:
        app.timer(interval=60.0, name="month-close")(month_close)

    if settings.ready_file:
        ready_file = settings.ready_file

        @app.on_rebalance_complete.connect  # type: ignore[arg-type]
        async def mark_ready(sender: Any, **kwargs: Any) -> None:
            ready_file.parent.mkdir(parents=True, exist_ok=True)
            ready_file.touch()

    return app


def _short(topic: str) -> str:
    """The topic without its deployment prefix: a bounded metric label."""
    return topic.rsplit(".", 1)[-1]


def _count_alert(alert: AlertEvent) -> None:
    metrics.TRANSITIONS.labels(alert.alert_type, alert.transition).inc()
    if alert.transition == "opened":
        metrics.ALERTS.labels(alert.alert_type, alert.severity).inc()
        delay = (datetime.now(UTC) - alert.occurred_at).total_seconds()
        metrics.ALERT_LATENCY.labels(alert.alert_type).observe(max(delay, 0.0))
    elif alert.transition == "escalated" and alert.evidence[0].startswith("sla:"):
        metrics.SLA_BREACHES.labels(alert.alert_type).inc()


def _datadir(settings: Settings) -> Path:
    path = settings.data_dir / "faust" / settings.app_id
    path.mkdir(parents=True, exist_ok=True)
    return path


async def _with_retry(write: Callable[[list[R]], int], records: list[R]) -> None:
    """Write a batch in a thread, retrying with capped backoff: records are never dropped."""
    delay = 0.5
    while True:
        try:
            await asyncio.to_thread(write, records)
            return
        except Exception:
            metrics.SINK_FAILURES.labels(write.__name__).inc()
            log.exception("%s failed; retrying in %.1f s", write.__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


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
