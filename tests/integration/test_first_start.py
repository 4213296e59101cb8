"""A first start on a database with history (issue 12): subjects received long ago, months
gone by that ccwatch never watched. The worker records when watching began, and neither its
ticks nor a close of the month before penalise anybody (tests/db/test_watch_start.py holds
the rules; the month-close timer's own first run, 60 s after the start, is left to it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.events import Mark, decode_group
from models.localtime import local
from models.records import WatchStart
from streams.control import request_close
from tests.integration.harness import System

WATCHED_SINCE = None  # never watched: the worker's first start records it
WORKER_SETTINGS = {"tick_interval_s": 0.5}


def ticked(system: System, times: int) -> bool:
    """Whether every partition was ticked ``times`` times (each tick marks the groups)."""
    seen: dict[int, set[datetime]] = {}
    for r in system.records(system.settings.topics.groups):
        mark = decode_group(r.value)
        if isinstance(mark, Mark):
            seen.setdefault(mark.source, set()).add(mark.at)
    n = system.settings.partitions
    return len(seen) == n and all(len(at) >= times for at in seen.values())


def test_a_first_start_on_a_database_with_history_penalises_nobody(system: System) -> None:
    with Session(system.engine) as session:
        started = session.scalar(select(WatchStart.started_at))
    assert started is not None
    assert datetime.now(UTC) - started.replace(tzinfo=UTC) < timedelta(minutes=2)
    system.wait_for("ticks on every partition", lambda: ticked(system, 3))
    month = (local(datetime.now(UTC)).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    s = system.settings
    request_close(s.kafka_bootstrap, s.topics, s.partitions, month, "test")
    closed = f"closed {month} for "
    system.wait_for(f"{month} closed", lambda: system.log().count(closed) == s.partitions)
    system.wait_for("a tick after the close", lambda: ticked(system, 6))
    topics = s.topics
    for topic in (topics.alerts, topics.points, topics.recommendations):
        assert system.records(topic) == [], topic  # no missed check-in, base or penalty
