"""Event-time order: the one sort of a partition's records, and the buffer that keeps it.

A subject's records come on several topics (check-ins, fixes, device events, officers'
actions...) that a worker reads at different speeds, so in a backlog one topic may run far
ahead of another. Records wait in a :class:`Reorder` buffer until event time (the
partition's :class:`~alerts.clock.Watermark`) passes them, and leave it in :func:`order`:
by event time, then a fixed rank of their kind, then their id. Replay sorts by the same key.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from alerts.clock import Watermark

T = TypeVar("T")
RANK = {  # at the same instant: what the person did before what the officer did about it
    "checkins": 0,
    "locations": 1,
    "devices": 2,
    "activities": 3,
    "decisions": 4,
    "alert-actions": 5,
}

Key = tuple[datetime, int, str]


def order(at: datetime, kind: str, event_id: str) -> Key:
    return at, RANK.get(kind, len(RANK)), event_id


class Reorder(Generic[T]):
    """Items held until event time passes them, released in :func:`order`."""

    def __init__(self) -> None:
        self._heap: list[tuple[Key, int, T]] = []
        self._seq = itertools.count()  # ties on the key (a repeated record) keep arrival order

    def push(self, key: Key, item: T) -> None:
        heapq.heappush(self._heap, (key, next(self._seq), item))

    def release(self, upto: datetime | None) -> list[T]:
        """Every item at or before ``upto``, in order."""
        out = []
        while self._heap and upto is not None and self._heap[0][0][0] <= upto:
            out.append(heapq.heappop(self._heap)[2])
        return out

    def oldest(self, n: int) -> list[T]:
        """The ``n`` earliest items, in order, whatever the watermark (a full buffer)."""
        return [heapq.heappop(self._heap)[2] for _ in range(min(n, len(self._heap)))]

    def __len__(self) -> int:
        return len(self._heap)


class Partition(Generic[T]):
    """One partition's event-time order: its records are held, and released in order once
    its event time (:class:`~alerts.clock.Watermark`) has passed them.

    A record may arrive up to ``lateness`` after records of its own input that are newer
    than it, and any time before the other inputs get past it; what arrives later than
    that is late (applied when it comes, and counted). The worker and the property tests
    drive the same object; ``lagging`` names the inputs with records still on the broker.
    """

    def __init__(self, lateness: timedelta) -> None:
        self.lateness = lateness
        self.held: Reorder[T] = Reorder()
        self.clock = Watermark()

    def arrive(
        self, kind: str, at: datetime, event_id: str, item: T, lagging: Collection[str]
    ) -> list[T]:
        """Hold a record; return what may be applied now, in order."""
        self.clock.saw(kind, at)
        self.held.push(order(at, kind, event_id), item)
        return self.held.release(self.clock.release_point(lagging, self.lateness))

    def tick(self, at: datetime, lagging: Collection[str]) -> tuple[datetime | None, list[T]]:
        """Event time as of a tick (the clock's time less the lateness), and the records it
        releases, which come before the time-driven decisions up to it."""
        now = self.clock.advance(at, lagging, self.lateness)
        return now, self.held.release(now)
