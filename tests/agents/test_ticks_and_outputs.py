"""The control agent (ticks, monthly close) and the sink agents."""

from __future__ import annotations

import asyncio
from datetime import timedelta

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
