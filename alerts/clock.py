"""Clocks: the system clock for workers, a manual one for tests and replays."""

from __future__ import annotations

from collections.abc import Collection, Iterable
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
    """How far event time has got in one partition's inputs: the one rule by which time-
    driven detection advances, in the worker and in replay.

    Ticks carry the wall clock; a worker catching up on a backlog has not yet seen what
    happened up to then, and judging silence by the wall clock would flood the command
    center. So event time advances to the lowest point reached by the inputs that still
    have records waiting on the broker; an input that is caught up (or quiet) holds nothing
    back, and when every input is caught up, event time is the tick's. It never goes back.
    """

    def __init__(self) -> None:
        self.seen: dict[str, datetime] = {}  # input -> latest event time processed
        self.value: datetime | None = None

    def saw(self, source: str, event_time: datetime) -> None:
        if source not in self.seen or event_time > self.seen[source]:
            self.seen[source] = event_time

    def advance(
        self, tick_at: datetime, lagging: Iterable[str] = (), lateness: timedelta = timedelta(0)
    ) -> datetime | None:
        """Event time as of a tick at ``tick_at``, given the inputs still ``lagging``, less
        the ``lateness`` records may have (None while a lagging input has not been read at
        all: nothing is known of it)."""
        behind = [self.seen.get(s) for s in lagging]
        if None not in behind:
            at = min([tick_at, *(t for t in behind if t is not None)]) - lateness
            self.value = at if self.value is None else max(self.value, at)
        return self.value

    def release_point(
        self, lagging: Collection[str] = (), lateness: timedelta = timedelta(0)
    ) -> datetime | None:
        """Up to when held records may be applied now: everything received, when no input
        is lagging; else up to the lowest point the lagging inputs have reached, less the
        lateness their own records may have (or what the ticks already passed: records
        older than that are late, not held)."""
        if lagging:
            behind = [self.seen.get(s) for s in lagging]
            at = None if None in behind else min(t for t in behind if t is not None) - lateness
        else:
            at = max(self.seen.values(), default=None)
        if at is None or (self.value is not None and self.value > at):
            return self.value
        return at


class Marks:
    """The watermark of a repartitioned stream: the lowest of its source partitions'."""

    def __init__(self, sources: int) -> None:
        self.sources = sources
        self.marks: dict[int, datetime] = {}

    def saw(self, source: int, at: datetime) -> None:
        if source not in self.marks or at > self.marks[source]:
            self.marks[source] = at

    def value(self) -> datetime | None:
        if len(self.marks) < self.sources:
            return None  # a source not heard from yet may still send anything
        return min(self.marks.values())
