"""The worker's Kafka transport: Faust's aiokafka driver with four changes.

- **Uncommitted partitions are read from their start after every rebalance.** Around a
  rebalance Faust drops records it has already fetched (the generation changed, or the flow
  was stopped) and relies on seeking back to the committed offset to read them again. A
  partition with no committed offset yet is not sought at all (aiokafka seeks only to an
  offset above 0), so the consumer stays past the dropped records and they are never
  processed. :meth:`Consumer.perform_seek` seeks such partitions to their beginning, which
  is where ``consumer_auto_offset_reset="earliest"`` says an uncommitted group reads from,
  and keeps their first offsets (``Consumer.log_starts``): until such a partition delivers,
  the worker's watermark waits for it however slow the recovery (:func:`behind`), so a
  restarted worker does not judge silence on records it has not read yet.
- **No commit past a record that was not acknowledged**, and such a hole is read again.
  Faust commits past the committed offset's own record when only it is missing from the
  acknowledged ones, and a record it dropped without delivering stops the partition's
  commits for good when more are missing. :meth:`Consumer._new_offset` commits only from
  the committed offset on; :meth:`Consumer.holes` names the partitions where acknowledged
  records follow one that nothing is processing any more, and the worker seeks those back
  to it (``streams.watchdog``; the agents recognise what they had applied).
- **A flush waits for every buffered write.** Faust flushes the producer before it commits
  offsets, but its buffer's flush gives up after 0.1 s without a send (a loaded event loop,
  metadata not yet known): a table's changelog write (``send_soon``) still waiting then is
  lost by a crash after the commit, and the worker that next owns the partition restores an
  older state while the records that made the newer one are never read again.
  :meth:`Producer.flush` waits until every write handed to the buffer is acknowledged, and
  raises if one failed, so the commit does not go past it.
- **An idempotent producer on request**: Faust has no setting for it (only its exactly-once
  mode turns it on). It waits for every in-sync replica (acks=all) and the broker drops a
  retried batch it already has, so a retry after a lost acknowledgement writes no
  duplicate. Apache Kafka supports it; the local tansu broker does not (InitProducerId
  fails), hence ``CCWATCH_PRODUCER_IDEMPOTENCE`` is off by default and on in
  docker-compose.yml.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

import faust
from aiokafka.errors import IllegalStateError, KafkaError
from aiokafka.structs import TopicPartition
from faust.exceptions import ConsumerNotStarted
from faust.transport.drivers import aiokafka
from faust.types import TP
from faust.types.tuples import FutureMessage

UNSEEN_GRACE_S = 10.0  # how long an input whose log start is unknown may hold others back


class Consumer(aiokafka.Consumer):
    log_starts: dict[TP, int]  # first offsets of the uncommitted partitions, at their seek

    async def perform_seek(self) -> None:
        """Seek every partition to its committed offset, and those without one (or at 0)
        to their beginning, so that records fetched and dropped before are read again."""
        await super().perform_seek()
        starts = uncommitted(self.assignment(), self._committed_offset, self._changelogs())
        if not starts:
            return
        try:
            await self._thread.seek_to_beginning(*(TopicPartition(*tp) for tp in starts))
        except IllegalStateError:  # the assignment changed meanwhile: another seek follows
            return
        for tp in starts:
            self._read_offset[tp] = None
        try:
            self.log_starts = {
                **getattr(self, "log_starts", {}),
                **await self.earliest_offsets(*starts),
            }
        except KafkaError:  # unknown: the worker's grace applies
            return

    def last_poll(self, tp: TP) -> int | None:
        """When a fetch last answered for the partition (ms; None: not yet, or not ours).
        The fetcher skips a partition while its fetched records wait for delivery, so its
        high watermark is only as new as this."""
        try:
            consumer = self._thread._ensure_consumer()
            stamp = consumer.last_poll_timestamp(TopicPartition(*tp))
        except (AssertionError, AttributeError, IllegalStateError, ConsumerNotStarted):
            return None
        return stamp if isinstance(stamp, int) else None

    def _new_offset(self, tp: TP) -> int | None:
        """Where to commit: past the acknowledged records that follow the committed offset
        without a hole, or nowhere while its own record is not acknowledged."""
        committed, acked = self._committed_offset.get(tp), self._acked.get(tp)
        # (an offset the log does not have, a gap, counts as done)
        if (
            committed is not None
            and acked
            and min(acked) > committed
            and not self._gap[tp][committed]
        ):
            return None
        return super()._new_offset(tp)

    def holes(self) -> dict[TP, int]:
        """The stream partitions whose commits cannot move: acknowledged records follow the
        committed offset, and no record from it up to them is being processed."""
        changelogs = self._changelogs()
        busy: dict[TP, list[int]] = {}
        for message in list(self._unacked_messages):
            busy.setdefault(message.tp, []).append(message.offset)
        found = {}
        for tp, acked in list(self._acked.items()):
            at = hole(self._committed_offset.get(tp), acked, busy.get(tp, ()))
            if at is not None and tp.topic not in changelogs and not self._gap[tp][at]:
                found[tp] = at
        return found

    def _changelogs(self) -> set[str]:
        return set(self.app.tables.changelog_topics)


def hole(committed: int | None, acked: Iterable[int], busy: Iterable[int]) -> int | None:
    """The committed offset, when records after it were acknowledged and neither it nor
    anything between is being processed (a record dropped without delivery), else None."""
    first = min(acked, default=None)
    if committed is None or first is None or first <= committed:
        return None
    if any(committed <= offset < first for offset in busy):
        return None
    return committed


def uncommitted(
    assigned: set[TP], committed: Mapping[TP, int | None], changelogs: set[str]
) -> list[TP]:
    """The assigned stream partitions the group has not committed past their first record
    (tables' changelogs are Faust's own to position)."""
    return sorted(tp for tp in assigned if tp.topic not in changelogs and not committed.get(tp))


class UnsentWriteError(RuntimeError):
    """A buffered write failed: offsets must not be committed past what it recorded."""


class Producer(aiokafka.Producer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unsent: set[FutureMessage] = set()  # handed to the buffer, not acknowledged yet

    def send_soon(self, fut: FutureMessage) -> None:
        self.unsent.add(fut)
        fut.add_done_callback(self.unsent.discard)
        super().send_soon(fut)

    async def flush(self) -> None:
        """Wait until every write handed to the buffer so far is acknowledged by the
        broker; raise :class:`UnsentWriteError` if one failed."""
        waiting = list(self.unsent)
        await super().flush()
        if waiting:
            await asyncio.wait(waiting)
            await super().flush()  # the last ones reached aiokafka's batches: send them
        failed = [f for f in waiting if not f.cancelled() and f.exception() is not None]
        if failed:
            raise UnsentWriteError(f"{len(failed)} buffered writes failed: {failed[0].exception()}")


class IdempotentProducer(Producer):
    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class Transport(aiokafka.Transport):
    Consumer = Consumer
    Producer = Producer


class IdempotentTransport(Transport):
    Producer = IdempotentProducer


def install(app: faust.App, idempotent: bool) -> None:
    """Give ``app`` this transport; call it before anything uses the transport."""
    kind = IdempotentTransport if idempotent else Transport
    app.transport = kind(app.conf.broker_consumer, app)


def behind(
    delivered: int | None,
    committed: int | None,
    log_start: int | None,
    high: int | None,
    young_s: float,
    refreshed: bool = True,
) -> bool:
    """Whether an input partition still has records on the broker for this worker.

    After a record was delivered: while the high watermark is past it, or is not known to
    be newer than the record (not ``refreshed``: no fetch answered since). Before: while the
    group's committed offset, or with none the log's first offset, is below the high
    watermark, however long the worker takes to deliver them (a slow recovery after a
    crash must not let event time run ahead of them). Only when neither is known (the
    log start not read yet) does a grace of ``UNSEEN_GRACE_S`` bound the wait."""
    if high is None:
        return True
    if delivered is not None:
        return not refreshed or delivered + 1 < high
    start = committed if committed is not None else log_start
    if start is not None:
        return start < high
    return young_s < UNSEEN_GRACE_S
