"""Time-driven detection and the monthly close, per partition, on the control topic.

Each worker ticks the control partitions it owns; a tick advances event time for that
partition by the one watermark rule (:class:`alerts.clock.Watermark`): to the lowest point
the inputs with records still waiting have reached, or to the tick's time when all are
caught up. Then every deadline up to it is handled, alerts past their SLA escalate, and the
partition's event time is marked to every group partition (gathering's watermark).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from faust.types import EventT, StreamT

from models.closes import record_close
from models.events import MonthClose, RegisterChanged, Rejection, Tick, encode
from streams.control import close_record, due_close, partition_of
from streams.gathering import mark_record
from streams.guard import blocking, guarded, persist
from streams.inputs import release
from streams.worker import Worker, log


def register(w: Worker) -> None:
    settings, names = w.settings, w.settings.topics
    n = settings.partitions

    async def on_control(stream: StreamT[bytes]) -> None:
        """Month closes and ticks for one partition: for every subject whose key maps to it."""
        async for event in stream.events():
            record = w.pipeline.validate_control(event.value)
            if isinstance(record, Rejection):
                await w.dead_letter(event, record)
                continue
            partition = event.message.partition
            if isinstance(record, RegisterChanged):  # before the partition's next record
                await w.changed(record)
                continue
            async with w.turn(partition):  # after the records other agents released
                at = await _decide(w, event, record, partition)
            if at is not None:
                mark = mark_record(partition, at)
                for group_partition in range(n):
                    await w.topic("groups").send(key=None, value=mark, partition=group_partition)

    w.app.agent(w.topic("control"), name="control")(on_control)

    async def send_ticks() -> None:
        """Time-driven detection runs even when no record arrives: each worker ticks the
        control partitions it owns."""
        at = w.clock.now()
        tick = encode(Tick(event_id=f"tick:{at.isoformat()}", at=at))
        owned = {tp.partition for tp in w.app.consumer.assignment() if tp.topic == names.control}
        for partition in sorted(owned):
            await w.topic("control").send(key=None, value=tick, partition=partition)

    if settings.tick_interval_s > 0:
        w.app.timer(interval=settings.tick_interval_s, name="ticks")(guarded("ticks", send_ticks))

    closed: dict[str, str] = {}

    async def month_close() -> None:
        """After a local month ends (plus the grace period), ask every partition to close it,
        unless it ended before ccwatch began watching. Every worker may ask; a close is
        idempotent, so the first one counts."""
        now = w.clock.now()
        grace = timedelta(seconds=settings.close_grace_s)
        month = due_close(now, grace, w.pipeline.registry.watch_started)
        if month is None or closed.get("month") == month:
            return
        # Recorded first (the first request counts): later events of the month are then
        # booked in the first open one. A database error is retried at the next run.
        await blocking(record_close, w.sink.engine, month, "timer", now, timeout=w.db_timeout)
        for partition in range(n):
            record = encode(close_record(month, "timer"))
            await w.topic("control").send(key=None, value=record, partition=partition)
        closed["month"] = month

    if settings.close_timer:
        w.app.timer(interval=60.0, name="month-close")(guarded("month-close", month_close))


async def _decide(
    w: Worker, event: EventT[bytes], record: Tick | MonthClose, partition: int
) -> datetime | None:
    """A tick's time-driven decisions (after the held records it releases), or a month's
    close, for every subject of the partition; the event time a tick reached (None when
    it reached none, and for a close)."""
    n, count = w.settings.partitions, 0
    at: datetime | None = None
    as_of: Tick | None = None
    if isinstance(record, Tick):
        lagging = w.lagging(partition, tick=True)
        found, ready = w.flow(partition).tick(record.at, lagging)
        await release(w, partition, ready)  # held records up to it come first
        if found is None:
            return None
        at, as_of = found, msgspec.structs.replace(record, at=found)
    for subject_id in sorted(w.pipeline.registry.subjects):
        key = subject_id.encode()
        if partition_of(key, n) != partition:
            continue
        current = w.current(key)
        if w.stale(event):
            return None  # a rebalance while ticking: the partition's owner ticks again
        if isinstance(record, MonthClose):
            outcome = w.pipeline.close_month(current, subject_id, record)
        else:
            assert as_of is not None
            outcome = w.pipeline.tick(current, subject_id, as_of)
        await persist("publishing a tick", w.publish, key, current, outcome)
        count += 1
    if isinstance(record, MonthClose):
        log.info("closed %s for %d subjects of partition %d", record.month, count, partition)
    return at
