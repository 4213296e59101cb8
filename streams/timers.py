"""Housekeeping timers: fresh reference data, daily zero reports, and gauges.

Each is guarded (:func:`streams.guard.guarded`): a database that is down, slow or frozen
costs a metric and a log line, never the worker; the next interval tries again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from faust.types import TP

from alerts.policy import INPUTS
from models.localtime import local
from streams import metrics
from streams.guard import blocking, guarded
from streams.worker import Worker, short


def register(w: Worker) -> None:
    inputs = {f"{w.settings.topic_prefix}.{name}" for name in (*INPUTS, "control")}

    async def zero_reports() -> None:
        """Yesterday's: every office's daily report in security periods (idempotent, so
        every worker may write it)."""
        now = w.clock.now()
        day = local(now).date() - timedelta(days=1)
        periods = w.pipeline.registry.periods
        await blocking(w.sink.write_zero_reports, day, periods, now, timeout=w.db_timeout)

    async def gauges() -> None:
        """Consumer lag of the input topics per assigned partition (not the tables'
        changelogs, which are read only on recovery), and open alerts by type and zone."""
        lags: dict[tuple[str, str], int] = {}
        consumer = w.app.consumer
        for tp in consumer.assignment():
            if tp.topic not in inputs:
                continue
            high = w.highwater(tp.topic, tp.partition)
            done = w.offsets.get((tp.topic, tp.partition))
            position = done + 1 if done is not None else w.committed(tp.topic, tp.partition)
            if position is None:  # nothing processed or committed yet: where it reads from
                position = await _position(consumer, tp)
            if isinstance(high, int) and isinstance(position, int):
                lags[short(tp.topic), str(tp.partition)] = max(high - position, 0)
        metrics.LAG.clear()  # partitions this worker no longer owns must not linger
        for labels, lag in lags.items():
            metrics.LAG.labels(*labels).set(lag)
        counts = await blocking(w.sink.open_alert_counts, timeout=w.db_timeout)
        for (kind, zone), n in counts.items():
            metrics.OPEN_ALERTS.labels(kind, zone).set(n)

    for interval, name, step in (
        (w.settings.registry_refresh_s, "refresh-registry", w.refresh_registry),
        (600.0, "zero-reports", zero_reports),
        (15.0, "gauges", gauges),
    ):
        w.app.timer(interval=interval, name=name)(guarded(name, step))


async def _position(consumer: Any, tp: TP) -> int | None:
    """The consumer's position in a partition, or None while it has none (moved, reset)."""
    try:
        found = await consumer.position(tp)
    except Exception:  # a partition that moved meanwhile: no figure this time
        return None
    return found if isinstance(found, int) else None
