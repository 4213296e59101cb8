"""The guards around database and broker steps: bounded waits, retries of outages,
permanent rejections told apart, timers that never raise."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from streams import metrics
from streams.guard import Gave, blocking, describe, guarded, permanent, retrying


def failure(sql: str) -> Exception:
    """What a real SQLite database raises for ``sql``."""
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        try:
            conn.execute(text(sql))
        except Exception as exc:
            return exc
    raise AssertionError("no failure")


def test_a_rejected_value_is_permanent_and_an_unavailable_database_is_not() -> None:
    duplicate = failure("INSERT INTO t VALUES (1)")
    missing = failure("SELECT * FROM nowhere")
    assert isinstance(duplicate, IntegrityError) and permanent(duplicate)
    assert isinstance(missing, OperationalError) and not permanent(missing)
    assert permanent(TimeoutError()) is False


def test_a_failure_is_described_without_its_sql_or_parameters() -> None:
    line = describe(failure("INSERT INTO t VALUES (1)"))
    assert line == "IntegrityError (IntegrityError)"


async def test_a_call_that_does_not_answer_is_given_up_on_in_time() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await blocking(time.sleep, 5, timeout=0.2)
    assert time.monotonic() - started < 2


async def test_an_outage_is_retried_and_a_rejection_is_not() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise failure("SELECT * FROM nowhere")
        return "written"

    assert await retrying("flaky", flaky, timeout=1) == "written"
    assert len(calls) == 3

    def reject() -> None:
        raise failure("INSERT INTO t VALUES (1)")

    with pytest.raises(Gave):
        await asyncio.wait_for(retrying("bad", reject, timeout=1), 2)


async def test_a_failing_timer_is_counted_and_does_not_raise() -> None:
    def name_labels() -> float:
        sample = metrics.REGISTRY.get_sample_value("ccwatch_timer_failures_total", {"timer": "t"})
        return sample or 0.0

    async def broken() -> None:
        raise failure("SELECT * FROM nowhere")

    before = name_labels()
    await guarded("t", broken)()
    assert name_labels() == before + 1
