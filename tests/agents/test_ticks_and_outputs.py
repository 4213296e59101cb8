"""The control agent (ticks, monthly close) and the sink agents."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.events import AlertEvent, Mark, MonthClose, Tick, decode, decode_group, encode
from models.records import Alert
from streams.control import close_record, partition_of
from streams.worker import Worker
from tests.agents.conftest import Sent, on_time
from tests.factories import INSIDE, T0, fix, payload

M, H = timedelta(minutes=1), timedelta(hours=1)


async def test_a_tick_decides_silence_and_marks_every_group_partition(
    worker: tuple[Worker, Sent],
) -> None:
    w, sent = worker
    key = b"SS-0005"
    partition = partition_of(key, w.settings.partitions)
    async with w.app.agents["locations"].test_context() as ctx:
        record = fix(1, 0 * M, INSIDE, subject="SS-0005")
        await ctx.put(payload(record), key=key, partition=partition, timestamp=on_time(record))
    async with w.app.agents["control"].test_context() as ctx:
        tick = Tick(event_id="tick-1", at=T0 + 3 * H)
        await ctx.put(encode(tick), key=None, partition=partition)
    kinds = [
        a.alert_type
        for _, v in sent["alerts"]
        if isinstance(a := decode(v, AlertEvent), AlertEvent)
    ]
    assert "signal_lost" in kinds
    marks = [decode_group(v) for _, v in sent["groups"]]
    assert {m.source for m in marks if isinstance(m, Mark)} == {partition}
    lateness = timedelta(seconds=w.pipeline.policy.lateness_s)
    assert all(isinstance(m, Mark) and m.at == T0 + 3 * H - lateness for m in marks)


async def test_a_month_close_scores_the_partitions_subjects(worker: tuple[Worker, Sent]) -> None:
    w, sent = worker
    close: MonthClose = close_record("2026-11", "test")
    async with w.app.agents["control"].test_context() as ctx:
        for partition in range(w.settings.partitions):
            await ctx.put(encode(close), key=None, partition=partition)
    assert len(sent["points"]) > len(w.pipeline.registry.subjects)  # base points and more


async def test_the_alert_sink_writes_each_transition_once(worker: tuple[Worker, Sent]) -> None:
    w, _ = worker
    async with w.app.agents["locations"].test_context() as ctx:
        far = fix(1, M, (30.40, 122.30), subject="SS-0003")
        await ctx.put(payload(far), key=b"SS-0003", timestamp=on_time(far))
    alerts = worker[1]["alerts"]
    async with w.app.agents["alerts-sink"].test_context() as ctx:
        for key, value in [*alerts, *alerts]:  # a redelivery changes nothing
            await ctx.put(value, key=key)
        await asyncio.sleep(4 * w.settings.sink_batch_window_s)  # the batch window closes
    with Session(w.sink.engine) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1


async def test_a_tick_waits_for_the_records_released_before_it(
    worker: tuple[Worker, Sent],
) -> None:
    """The inputs and the ticks of a partition take turns: a tick that comes while an input
    agent is still applying records it released (each publish waits for the broker) judges
    silence only after them. Found in the fault suite: a tick raised signal_lost for a
    subject whose next fixes were released, but not yet applied, by another agent."""
    w, sent = worker
    key = b"SS-0005"
    partition = partition_of(key, w.settings.partitions)
    held: list[str] = ["checkins"]  # an input never read: the fixes wait for it
    w.lagging = lambda p, tick=False: list(held)  # type: ignore[method-assign,assignment]
    publish = w.publish

    async def as_a_broker(*args: Any) -> None:  # a send waits for the broker
        await asyncio.sleep(0.001)
        await publish(*args)

    w.publish = as_a_broker  # type: ignore[method-assign,assignment]
    fixes = [fix(i + 1, i * 15 * M, INSIDE, subject="SS-0005") for i in range(14)]
    async with (
        w.app.agents["locations"].test_context() as inputs,
        w.app.agents["control"].test_context() as control,
    ):
        for record in fixes[:-1]:  # held: T0 .. T0 + 3 h
            stamp = on_time(record)
            await inputs.put(payload(record), key=key, partition=partition, timestamp=stamp)
        held.clear()  # caught up: the last fix releases them all, and a tick comes meanwhile
        last, tick = fixes[-1], Tick(event_id="tick-1", at=T0 + 3 * H + 30 * M)
        applying = asyncio.create_task(
            inputs.put(payload(last), key=key, partition=partition, timestamp=on_time(last))
        )
        await asyncio.sleep(0.005)  # the input agent is applying what the last fix released
        await control.put(encode(tick), key=None, partition=partition)
        await applying
        for _ in range(500):  # put() returns when the record is taken, not when applied
            if w.current(key).detection.track.seen_at == last.occurred_at:
                break
            await asyncio.sleep(0.01)
    kinds = [
        a.alert_type
        for _, v in sent["alerts"]
        if isinstance(a := decode(v, AlertEvent), AlertEvent)
    ]
    assert "signal_lost" not in kinds
