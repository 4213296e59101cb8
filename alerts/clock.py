"""Clocks: the system clock for workers, a manual one for tests and replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when


class Watermark:
    """How far event time has got in the records a worker has processed.

    Ticks come from the wall clock, but a worker catching up on a backlog has not yet seen
    what happened up to now; judging silence by the wall clock would then flood the command
    center. Time-driven detection runs at the watermark instead, and at the tick's own time
    once the streams have been idle for ``idle_s`` (nothing is pending: caught up).
    """

    def __init__(self, idle_s: float = 10.0) -> None:
        self.idle_s = idle_s
        self.event_time: datetime | None = None
        self.arrived: float | None = None  # monotonic seconds of the last record

    def saw(self, event_time: datetime, wall: float) -> None:
        if self.event_time is None or event_time > self.event_time:
            self.event_time = event_time
        self.arrived = wall

    def horizon(self, tick_at: datetime, wall: float) -> datetime:
        if self.event_time is None or self.arrived is None or wall - self.arrived >= self.idle_s:
            return tick_at
        return min(tick_at, self.event_time)
