"""The sinks: output records decoded in batches and written in one transaction each, and
the map's positions written once a second."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from models.events import AlertEvent, LocationFix, PointsEntry, Recommendation, Rejection, decode
from streams import metrics
from streams.worker import Worker, log

R = TypeVar("R", AlertEvent, PointsEntry, Recommendation, LocationFix)


def register(w: Worker) -> None:
    size, within = w.settings.sink_batch_size, w.settings.sink_batch_window_s

    def sink_agent(name: str, kind: type[R], write: Callable[[list[R]], int]) -> None:
        async def drain(stream: Any) -> None:
            """Decode each batch of output records and write it in one transaction."""
            async for batch in stream.take_events(size, within=within):
                records: list[R] = []
                for event in batch:
                    record = decode(event.value, kind)
                    if isinstance(record, Rejection):
                        await w.reject(event, record)
                    else:
                        records.append(record)
                metrics.SINK_BATCH.labels(write.__name__).observe(len(records))
                await with_retry(write, records)

        w.app.agent(w.topic(name), name=f"{name}-sink")(drain)

    sink_agent("alerts", AlertEvent, w.sink.write_alerts)
    sink_agent("points", PointsEntry, w.sink.write_points)
    sink_agent("recommendations", Recommendation, w.sink.write_recommendations)

    async def positions() -> None:
        """The map's positions: one batched write a second, never one per fix."""
        if w.fixes:
            batch = w.fixes[:]
            w.fixes.clear()
            await with_retry(w.sink.write_positions, batch)

    w.app.timer(interval=1.0, name="positions")(positions)


async def with_retry(write: Callable[[list[Any]], int], records: list[Any]) -> None:
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
