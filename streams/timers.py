"""Housekeeping timers: fresh reference data, daily zero reports, and gauges."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from models.localtime import local
from models.registry import load_registry
from streams import metrics
from streams.worker import INPUTS, Worker, short


def register(w: Worker) -> None:
    inputs = {f"{w.settings.topic_prefix}.{name}" for name in (*INPUTS, "control")}

    async def refresh_registry() -> None:
        """Security periods, leaves, zones and subjects take effect without a restart."""
        w.pipeline.use(await asyncio.to_thread(load_registry, w.sink.engine))

    async def zero_reports() -> None:
        """Yesterday's: every office's daily report in security periods (idempotent, so
        every worker may write it)."""
        now = w.clock.now()
        day = local(now).date() - timedelta(days=1)
        await asyncio.to_thread(w.sink.write_zero_reports, day, w.pipeline.registry.periods, now)

    async def gauges() -> None:
        """Consumer lag of the input topics per assigned partition (not the tables'
        changelogs, which are read only on recovery), and open alerts by type and zone."""
        consumer = w.app.consumer
        metrics.LAG.clear()  # partitions this worker no longer owns must not linger
        for tp in consumer.assignment():
            if tp.topic not in inputs:
                continue
            done = w.offsets.get((tp.topic, tp.partition))
            high = w.highwater(tp.topic, tp.partition)
            if high is None:
                continue
            position = done + 1 if done is not None else await consumer.position(tp)
            if position is not None:
                metrics.LAG.labels(short(tp.topic), str(tp.partition)).set(max(high - position, 0))
        for (kind, zone), n in (await asyncio.to_thread(w.sink.open_alert_counts)).items():
            metrics.OPEN_ALERTS.labels(kind, zone).set(n)

    w.app.timer(interval=w.settings.registry_refresh_s, name="refresh-registry")(refresh_registry)
    w.app.timer(interval=600.0, name="zero-reports")(zero_reports)
    w.app.timer(interval=15.0, name="gauges")(gauges)
