"""The sinks: output records (and the map's positions, read from the locations topic)
decoded in batches and written in one transaction each.

A batch's records are acknowledged to Kafka only once written, so no exit (an exception,
SIGTERM, a rebalance, SIGKILL) loses one: Kafka delivers it again and the writes are
idempotent. Database errors are retried with backoff; a record the database rejects for
good is found by halving its batch and dead-lettered with the reason, and the rest goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from faust.types import EventT, StreamT

from models.events import AlertEvent, LocationFix, PointsEntry, Recommendation, Rejection, decode
from streams import metrics
from streams.guard import Gave, retrying
from streams.worker import Worker

MAX_POSITIONS_AHEAD = 200_000  # fixes read but not yet written for the map (~60 MB)
R = TypeVar("R", AlertEvent, PointsEntry, Recommendation, LocationFix)
Read = Callable[[EventT[bytes]], Any]


def register(w: Worker) -> None:
    def output(kind: type[R]) -> Read:
        return lambda event: decode(event.value, kind)

    _sink(w, "alerts", output(AlertEvent), w.sink.write_alerts, dead_letter_invalid=True)
    _sink(w, "points", output(PointsEntry), w.sink.write_points, dead_letter_invalid=True)
    _sink(
        w,
        "recommendations",
        output(Recommendation),
        w.sink.write_recommendations,
        dead_letter_invalid=True,
    )
    # The map's positions: valid fixes straight from the input topic (its input agent
    # dead-letters the others), so a crash or an outage loses none; a fix taken without an
    # e-positioning approval is not kept. The input agent's validation is taken when it
    # validated the record first.
    _sink(
        w,
        "locations",
        lambda event: w.pipeline.validate_positions(
            event.value,
            event.key,
            w.validated.take(event.message.partition, event.message.offset),
        ),
        w.sink.write_positions,
        dead_letter_invalid=False,
        agent="positions-sink",
        # The map shares the locations topic with detection: while the database is away it
        # reads on (holding up to this many fixes unacknowledged) rather than hold back the
        # locations input agent, whose stalled input ticks would otherwise pass.
        ahead=MAX_POSITIONS_AHEAD,
    )


def _sink(
    w: Worker,
    topic: str,
    read: Read,
    write: Callable[[list[Any]], int],
    *,
    dead_letter_invalid: bool,
    agent: str | None = None,
    ahead: int = 0,
) -> None:
    size, within = w.settings.sink_batch_size, w.settings.sink_batch_window_s

    async def drain(stream: StreamT[bytes]) -> None:
        """Read batches while a writer writes them in order, acknowledging each once
        written; reading waits only when ``ahead`` records wait to be written."""
        waiting: asyncio.Queue[tuple[list[EventT[bytes]], list[Any]]]
        waiting = asyncio.Queue(maxsize=max(1, ahead // size))

        async def writer() -> None:
            while True:
                events, batch = await waiting.get()
                await store(w, write, batch)
                for event in events:
                    await stream.ack(event)

        writing = asyncio.ensure_future(writer())
        try:
            async for events in stream.noack_take(size, within=within):  # type: ignore[attr-defined]
                batch: list[tuple[EventT[bytes], Any]] = []
                for event in events:
                    record = read(event)
                    if isinstance(record, list):  # a batched upload's fixes (the map's)
                        batch += [(event, r) for r in record if not isinstance(r, Rejection)]
                    elif not isinstance(record, Rejection):
                        batch.append((event, record))
                    elif await w.told(event):  # a register change: what follows waits for it
                        continue
                    elif dead_letter_invalid:
                        await w.dead_letter(event, record)
                await waiting.put((events, batch))
        finally:  # what is not written is not acknowledged: delivered again
            writing.cancel()

    w.app.agent(w.topic(topic), name=agent or f"{topic}-sink")(drain)


async def store(
    w: Worker, write: Callable[[list[Any]], int], batch: list[tuple[EventT[bytes], Any]]
) -> None:
    """Write ``batch`` in one transaction, retrying while the database is unavailable; when
    it rejects the batch for good, halve it until each bad record is set aside."""
    sink = write.__name__
    metrics.SINK_BATCH.labels(sink).observe(len(batch))
    failures = metrics.SINK_FAILURES.labels(sink).inc
    parts = [batch]
    while parts:
        part = parts.pop(0)
        if not part:
            continue
        try:
            records = [record for _, record in part]
            await retrying(sink, write, records, timeout=w.db_timeout, failures=failures)
        except Gave as why:
            if len(part) > 1:
                parts[:0] = [part[: len(part) // 2], part[len(part) // 2 :]]
                continue
            metrics.POISON_ROWS.labels(sink).inc()
            await w.dead_letter(part[0][0], Rejection("database_rejected", str(why)))
    metrics.SINK_LAST_SUCCESS.labels(sink).set_to_current_time()
