"""The sinks write before they acknowledge, ride out a database that refuses them for a
while, and set aside a record the database rejects for good while its batch goes on."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.events import encode
from models.records import PointsEntryRow, Position
from streams import metrics
from streams.worker import Validated, Worker
from tests.agents.conftest import Sent
from tests.factories import INSIDE, T0, approved, fix, payload, points_entry

M = timedelta(minutes=1)


def count(w: Worker, table: type) -> int:
    with Session(w.sink.engine) as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_map_reads_valid_fixes_from_the_locations_topic(
    worker: tuple[Worker, Sent],
) -> None:
    w, sent = worker
    async with w.app.agents["positions-sink"].test_context() as ctx:
        for n in range(3):
            await ctx.put(payload(fix(n, n * M, INSIDE)), key=b"SS-0007")
        await ctx.put(b'{"event_id": "x"}', key=b"SS-0007")  # its input agent dead-letters it
        await ctx.put(payload(fix(1, M, INSIDE)), key=b"SS-0007")  # a redelivery
        await asyncio.sleep(4 * w.settings.sink_batch_window_s)
    assert count(w, Position) == 3
    assert sent["dead-letter"] == []  # once, by the input agent, not again here


async def test_the_map_keeps_no_fix_taken_without_a_positioning_approval(
    worker: tuple[Worker, Sent],
) -> None:
    w, sent = worker
    ending = {"SS-0007": approved((-M, M + M // 2))}
    w.pipeline.use(replace(w.pipeline.registry, positioning=ending))
    async with w.app.agents["positions-sink"].test_context() as ctx:
        for n in range(3):  # at T0, T0 + 1 min; then T0 + 2 min, after the approval
            await ctx.put(payload(fix(n, n * M, INSIDE)), key=b"SS-0007")
        await asyncio.sleep(4 * w.settings.sink_batch_window_s)
    assert count(w, Position) == 2 and sent["dead-letter"] == []


async def test_a_record_the_database_rejects_is_set_aside_and_its_batch_goes_on(
    worker: tuple[Worker, Sent],
) -> None:
    w, sent = worker
    before = sample("ccwatch_poison_rows_total", sink="write_points")
    entries = [points_entry(f"e-{n}") for n in range(5)]
    entries[2] = points_entry("e-bad", subject="NOT-REGISTERED")  # a foreign key it breaks
    async with w.app.agents["points-sink"].test_context() as ctx:
        for entry in entries:
            await ctx.put(encode(entry), key=entry.subject_id.encode())
        await asyncio.sleep(6 * w.settings.sink_batch_window_s)
    assert count(w, PointsEntryRow) == 4
    [(key, value)] = sent["dead-letter"]
    assert key == b"NOT-REGISTERED" and b"e-bad" in value
    assert sample("ccwatch_poison_rows_total", sink="write_points") == before + 1


async def test_a_locked_database_is_waited_out_and_nothing_is_lost(
    worker: tuple[Worker, Sent], tmp_path: Path
) -> None:
    w, _ = worker
    w.sink.engine.dispose()
    w.sink.engine = w.settings.model_copy(update={"db_statement_timeout_s": 0.1}).engine()
    before = sample("ccwatch_sink_failures_total", sink="write_points")
    lock = sqlite3.connect(tmp_path / "ccwatch.db", check_same_thread=False)
    lock.execute("BEGIN EXCLUSIVE")  # another writer holds the database for a while
    threading.Timer(1.5, lock.rollback).start()
    async with w.app.agents["points-sink"].test_context() as ctx:
        for n in range(3):
            await ctx.put(encode(points_entry(f"e-{n}")), key=b"SS-0001")
        for _ in range(100):
            await asyncio.sleep(0.1)
            if count(w, PointsEntryRow) == 3:
                break
    lock.close()
    assert count(w, PointsEntryRow) == 3
    assert sample("ccwatch_sink_failures_total", sink="write_points") > before


async def test_the_map_reads_on_while_the_database_is_away(
    worker: tuple[Worker, Sent], tmp_path: Path
) -> None:
    """The positions sink shares the locations topic with detection: a database outage
    must not hold that topic back (its fixes wait unacknowledged, then are all written)."""
    w, _ = worker
    w.sink.engine.dispose()
    w.sink.engine = w.settings.model_copy(update={"db_statement_timeout_s": 0.1}).engine()
    lock = sqlite3.connect(tmp_path / "ccwatch.db", check_same_thread=False)
    lock.execute("BEGIN EXCLUSIVE")
    async with w.app.agents["positions-sink"].test_context() as ctx:
        started = asyncio.get_running_loop().time()
        for n in range(40):  # many batches (a batch closes every 50 ms)
            await ctx.put(payload(fix(n, n * M, INSIDE)), key=b"SS-0007")
            await asyncio.sleep(0.06)
        assert asyncio.get_running_loop().time() - started < 10  # read on, not held back
        assert count(w, Position) == 0
        lock.rollback()
        for _ in range(100):
            await asyncio.sleep(0.2)
            if count(w, Position) == 40:
                break
    lock.close()
    assert count(w, Position) == 40


async def test_the_map_takes_the_fixes_its_input_agent_validated(
    worker: tuple[Worker, Sent],
) -> None:
    """The locations agent's validation of a record is the sink's: it is not done twice
    (the sink validates a record only when it reaches it first)."""
    w, _ = worker
    shared = fix(7, 7 * M, INSIDE)
    w.validated.put(0, 0, [shared])  # what the input agent found at partition 0, offset 0
    async with w.app.agents["positions-sink"].test_context() as ctx:
        await ctx.put(payload(fix(0, 0 * M, INSIDE)), key=b"SS-0007", partition=0)  # offset 0
        await ctx.put(payload(fix(1, M, INSIDE)), key=b"SS-0007", partition=0)  # offset 1
        await asyncio.sleep(4 * w.settings.sink_batch_window_s)
    with Session(w.sink.engine) as session:
        kept = set(session.scalars(select(Position.at)))
    assert kept == {T0 + 7 * M, T0 + M}  # the shared fix's time, not its record's (T0)
    assert w.validated.take(0, 0) is None  # taken once


def test_validations_kept_for_the_sink_are_bounded_in_fixes() -> None:
    kept = Validated()
    for offset in range(Validated.KEEP + 10):
        kept.put(1, offset, offset)
    assert kept.take(1, 0) is None and kept.take(1, Validated.KEEP + 9) == Validated.KEEP + 9
    kept.clear()
    batch = list(range(30))  # an upload's fixes weigh 30
    for offset in range(Validated.KEEP // 30 + 5):
        kept.put(2, offset, batch)
    assert kept.take(2, 4) is None and kept.take(2, 5) == batch
