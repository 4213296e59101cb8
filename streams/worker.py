"""What a worker's agents share: the app, its topics and tables, the decision pipeline, and
the subjects' live state. Each wiring module (inputs, gathering, control, outputs, timers)
registers its agents and timers on one :class:`Worker`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from faust.exceptions import ConsumerNotStarted
from faust.types import TP, EventT, TopicT

from alerts.clock import Clock
from alerts.order import Partition
from alerts.policy import INPUTS
from ccwatch.settings import Settings
from models.events import AlertEvent, RegisterChanged, Rejection, encode
from models.limits import MAX_DEAD_LETTER_BYTES, MAX_DEAD_LETTER_KEY_BYTES, printable
from models.registry import load_registry, save_snapshot
from streams import metrics
from streams.guard import blocking, describe, persist
from streams.pipeline import Outcome, Pipeline, SubjectState, dump_state, restore_state
from streams.sink import DatabaseSink
from streams.transport import behind

log = logging.getLogger("streams")
MAX_DETAIL_CHARS = 512  # a dead letter's detail header


def short(topic: str) -> str:
    """The topic without its deployment prefix: a bounded metric label."""
    return topic.rsplit(".", 1)[-1]


@dataclass(slots=True)
class Ticket:
    """A delivered input record, acknowledged to Kafka only once it and every record before
    it in its topic partition are done (Faust would otherwise commit past a gap)."""

    stream: Any
    event: EventT[bytes]
    done: bool = False
    pending: int = 1  # its parts not yet done (a batched upload's fixes)
    unstored: bool = False  # a part changed what must be stored: stored after the last


class Rereads:
    """Reads of the register, one at a time: a read begun earlier never replaces one begun
    later, and each read serves every caller that asked before it began.

    A register change is told in the logs the worker judges (:mod:`register.notify`), after
    it was committed; a record behind it in a log is applied only once a read of the
    register begun after the change was seen is in use (:meth:`after`). Every copy of one
    change (one per partition of each topic) shares the read begun after its first copy."""

    KEEP = 64  # changes remembered, so that their later copies share a read

    def __init__(self, read: Callable[[], Awaitable[None]]) -> None:
        self._read = read
        self._last: asyncio.Future[None] | None = None  # the latest read, begun or not
        self._queued: asyncio.Future[None] | None = None  # a read not begun yet
        self._changes: OrderedDict[str, asyncio.Future[None]] = OrderedDict()

    async def after(self, change: str | None = None) -> None:
        """Return once a read of the register begun after this call (or after the first
        call naming the same ``change``) is in use; raise what that read raised."""
        read = self._changes.get(change) if change else None
        if read is None:
            read = self._queued
            if read is None:
                read = self._queued = self._last = asyncio.ensure_future(self._next(self._last))
            if change:
                self._changes[change] = read
                while len(self._changes) > self.KEEP:
                    self._changes.popitem(last=False)
        await asyncio.shield(read)

    async def _next(self, previous: asyncio.Future[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its outcome is its own callers'
        self._queued = None  # begins now: whoever asks from here on needs a later read
        await self._read()


class Validated:
    """Records of an input validated by its agent, by partition and offset, for the map's
    sink reading the same log: the decoding, signature check and datum conversion done once,
    not twice. Bounded: a record the sink reaches first, or after its entry was dropped, it
    validates itself (the same answer)."""

    KEEP = 20_000  # fixes (a few seconds of a loaded worker's input, about 10 MB)

    def __init__(self) -> None:
        self._found: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self._fixes = 0

    def put(self, partition: int, offset: int, valid: Any) -> None:
        self._found[partition, offset] = valid
        self._fixes += _weight(valid)
        while self._fixes > self.KEEP:
            _, dropped = self._found.popitem(last=False)
            self._fixes -= _weight(dropped)

    def take(self, partition: int, offset: int) -> Any | None:
        found = self._found.pop((partition, offset), None)
        if found is not None:
            self._fixes -= _weight(found)
        return found

    def clear(self) -> None:
        self._found.clear()
        self._fixes = 0


def _weight(valid: Any) -> int:
    return len(valid) if isinstance(valid, list) else 1


@dataclass
class Worker:
    app: faust.App
    settings: Settings
    pipeline: Pipeline
    sink: DatabaseSink
    clock: Clock
    topics: dict[str, TopicT] = field(default_factory=dict)  # by short name
    tables: dict[str, Any] = field(default_factory=dict)
    # Subjects' states as of their latest record; the table holds the durable version.
    live: dict[bytes, SubjectState] = field(default_factory=dict)
    # The last offset processed per input topic partition (to tell what is caught up).
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    polls: dict[tuple[str, int], int | None] = field(default_factory=dict)  # see delivered
    # Per partition of the co-partitioned inputs: its event time, and the valid records
    # waiting for it to pass them (alerts.order.Partition).
    flows: dict[int, Partition[Any]] = field(default_factory=dict)
    # Per partition: whose turn it is to read and write its subjects' states (see turn).
    turns: dict[int, asyncio.Lock] = field(default_factory=dict)
    # Delivered input records not yet acknowledged, per topic partition, in offset order.
    tickets: dict[tuple[str, int], deque[Ticket]] = field(default_factory=dict)
    # Each partition's input topics (name, topic, TP), built once.
    inputs: dict[int, list[tuple[str, str, TP]]] = field(default_factory=dict)
    started: bool = False  # a Kafka consumer runs (not so in Faust's test_context)
    # When each partition was first seen since its assignment (monotonic seconds).
    assigned: dict[int, float] = field(default_factory=dict)
    rereads: Rereads = field(init=False)
    # The locations agent's validations, for the map's sink (it reads the same records).
    validated: Validated = field(default_factory=Validated)

    def __post_init__(self) -> None:
        self.rereads = Rereads(self.reload_registry)

    @property
    def db_timeout(self) -> float:
        """How long a worker waits for one database call (connecting, then the statement)."""
        return self.settings.db_connect_timeout_s + self.settings.db_statement_timeout_s

    def topic(self, name: str) -> TopicT:
        """An input or output topic by its short name (raw bytes, keyed by subject)."""
        if name not in self.topics:
            full = f"{self.settings.topic_prefix}.{name}"
            self.topics[name] = self.app.topic(
                full, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
            )
        return self.topics[name]

    def deliver(self, stream: Any, event: EventT[bytes]) -> Ticket:
        ticket = Ticket(stream, event)
        key = (event.message.topic, event.message.partition)
        self.tickets.setdefault(key, deque()).append(ticket)
        return ticket

    async def finish(self, ticket: Ticket) -> None:
        """A part of the record is done; once all are, acknowledge it and the done records
        after it, in order."""
        ticket.pending -= 1
        if ticket.pending > 0:
            return
        key = ticket.event.key
        if ticket.unstored and key in self.live:  # the subject, after every part
            self.tables["subjects"][key] = dump_state(self.live[key])
            ticket.unstored = False
        ticket.done = True
        queue = self.tickets.get((ticket.event.message.topic, ticket.event.message.partition))
        while queue and queue[0].done:
            first = queue.popleft()
            await first.stream.ack(first.event)

    def flow(self, partition: int) -> Partition[Any]:
        if partition not in self.flows:
            lateness = timedelta(seconds=self.pipeline.policy.lateness_s)
            self.flows[partition] = Partition(lateness)
        return self.flows[partition]

    def turn(self, partition: int) -> asyncio.Lock:
        """Held while an agent releases and applies records of the partition, or ticks it:
        each input has its own agent, and a publish waits for the broker, so without turns
        a tick could judge silence between records another agent had released but not yet
        applied, or two agents could interleave one subject's records. Turns are taken in
        the order of the releases, so records are applied in event-time order."""
        if partition not in self.turns:
            self.turns[partition] = asyncio.Lock()
        return self.turns[partition]

    def highwater(self, topic: str, partition: int) -> int | None:
        """The partition's high watermark as of the last fetch (None before any)."""
        try:
            return self.app.consumer.highwater(TP(topic, partition))
        except (ConsumerNotStarted, AssertionError):  # no consumer, or not assigned (moved)
            return None

    def committed(self, topic: str, partition: int) -> int | None:
        """Where this group's reading of the partition resumed (Faust's own record of it)."""
        committed = getattr(self.app.consumer, "_committed_offset", {})
        offset = committed.get(TP(topic, partition))
        return offset if isinstance(offset, int) else None

    def consuming(self) -> bool:
        """Whether a Kafka consumer runs (not in Faust's test_context, which has none)."""
        if not self.started:
            try:
                self.app.consumer.assignment()
            except ConsumerNotStarted:
                return False
            self.started = True
        return True

    def delivered(self, topic: str, partition: int, offset: int) -> None:
        """An input record reached its agent: remember its offset, and the consumer's last
        fetch of its partition then (a later fetch tells whether more followed it)."""
        self.offsets[topic, partition] = offset
        self.polls[topic, partition] = self.last_poll(TP(topic, partition))

    def last_poll(self, tp: TP) -> int | None:
        last_poll = getattr(self.app.consumer, "last_poll", None)
        return None if last_poll is None else last_poll(tp)

    def lagging(self, partition: int, tick: bool = False) -> list[str]:
        """The inputs of a partition with records on the broker not yet processed
        (:func:`streams.transport.behind`). For a ``tick``, an input whose partition was
        not fetched again since its last record arrived lags too: its high watermark may
        be older than records that reached the broker before the tick."""
        out: list[str] = []
        if not self.consuming():
            return out
        young = time.monotonic() - self.assigned.setdefault(partition, time.monotonic())
        consumer = self.app.consumer
        log_starts = getattr(consumer, "log_starts", {})
        for name, topic, tp in self.inputs_of(partition):
            try:
                high = consumer.highwater(tp)
            except (ConsumerNotStarted, AssertionError):
                high = None
            done = self.offsets.get((topic, partition))
            refreshed = True
            if tick and done is not None:
                polled = self.last_poll(tp)
                refreshed = polled is not None and polled != self.polls.get((topic, partition))
            start = self.committed(topic, partition)
            if behind(done, start, log_starts.get(tp), high, young, refreshed):
                out.append(name)
        return out

    def inputs_of(self, partition: int) -> list[tuple[str, str, TP]]:
        """(name, topic, topic partition) of each input at ``partition``."""
        if partition not in self.inputs:
            prefix = self.settings.topic_prefix
            self.inputs[partition] = [
                (n, f"{prefix}.{n}", TP(f"{prefix}.{n}", partition)) for n in INPUTS
            ]
        return self.inputs[partition]

    async def refresh_registry(self) -> None:
        """Read the register again (the periodic refresh), in turn with the reads that
        register changes ask for (:class:`Rereads`)."""
        await self.rereads.after()

    async def told(self, event: EventT[bytes]) -> bool:
        """Whether a record its topic's own decoding refused is a register change told in
        the log (:mod:`register.notify`: no key, ``register_changed``). If it is, return
        once the register read after it is in use, so that the records behind it in the
        log are judged with the change. When the database cannot be read then, they are
        judged with the register held (logged and counted; the periodic refresh reads it
        again)."""
        change = self.pipeline.told(event.message.key, event.value)
        if change is None:
            return False
        await self.changed(change)
        return True

    async def changed(self, change: RegisterChanged) -> None:
        """Return once a read of the register begun after ``change`` was seen is in use."""
        try:
            await self.rereads.after(change.event_id)
        except Exception as exc:
            metrics.TIMER_FAILURES.labels("refresh-registry").inc()
            log.warning("reading the register after %s failed: %s", change.change, describe(exc))

    async def reload_registry(self) -> None:
        """Read the register (security periods, leaves, zones, subjects and their terms
        take effect without a restart) and keep a copy on disk, with which the worker can
        start while the database is down. Only through :class:`Rereads`, one at a time."""
        registry = await blocking(load_registry, self.sink.engine, timeout=self.db_timeout)
        self.pipeline.use(registry)
        snapshot = self.settings.registry_snapshot
        await blocking(save_snapshot, registry, snapshot, timeout=self.db_timeout)

    def stale(self, event: EventT[Any]) -> bool:
        """Whether a record was fetched before the latest rebalance: its partition may be
        another worker's now, so it decides nothing here (the owner reads it again from the
        committed offset). Faust drops such records before delivery; this covers those
        delivered just before, whose processing reaches the state after it."""
        fetched = event.message.generation_id
        return fetched is not None and fetched != self.app.consumer_generation_id

    def current(self, key: bytes) -> SubjectState:
        found = self.live.get(key)
        return found if found is not None else restore_state(self.tables["subjects"].get(key))

    async def publish(
        self, key: bytes, current: SubjectState, outcome: Outcome, ticket: Ticket | None = None
    ) -> None:
        """Publish what was decided, then keep the subject's new state (and store it when
        it must survive a restart): a failed send leaves the state as it was, so the
        record can be applied again. A record's state is stored when it is done
        (:meth:`finish`): once for all the fixes of a batched upload, since until it is
        acknowledged a crash delivers all of them again."""
        for alert in outcome.alerts:
            await self.topic("alerts").send(key=key, value=encode(alert))
        for entry in outcome.points:
            await self.topic("points").send(key=key, value=encode(entry))
        for rec in outcome.recommendations:
            await self.topic("recommendations").send(key=key, value=encode(rec))
        self.live[key] = outcome.state
        store = outcome.durable(current)
        if ticket is not None:  # stored once all parts are done (:meth:`finish`)
            ticket.unstored, store = ticket.unstored or store, False
        if store:
            self.tables["subjects"][key] = dump_state(outcome.state)
        for alert in outcome.alerts:
            count_alert(alert)
        for entry in outcome.points:
            metrics.POINTS.labels(entry.rule_id).inc()

    async def dead_letter(self, event: EventT[Any], why: Rejection) -> None:
        """Dead-letter a record, retrying while the broker cannot take it."""
        await persist("dead-letter", self.reject, event, why)

    async def reject(self, event: EventT[Any], why: Rejection) -> None:
        """Dead-letter a record unchanged, with the reason and where it came from. A huge
        record or key is cut to a bound (a header gives its original size), so the copy
        always fits the producer's limits; the detail is bounded and printable."""
        msg = event.message
        log.warning("dead-letter %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, why.reason)
        metrics.EVENTS.labels(short(msg.topic), "dead_lettered", why.reason).inc()
        headers = [
            ("ccwatch.reason", why.reason.encode()),
            ("ccwatch.detail", printable(why.detail, MAX_DETAIL_CHARS).encode()),
            ("ccwatch.topic", msg.topic.encode()),
            ("ccwatch.partition", str(msg.partition).encode()),
            ("ccwatch.offset", str(msg.offset).encode()),
        ]
        key, value = msg.key, msg.value
        if isinstance(value, bytes) and len(value) > MAX_DEAD_LETTER_BYTES:
            headers.append(("ccwatch.truncated", str(len(value)).encode()))
            value = value[:MAX_DEAD_LETTER_BYTES]
        if isinstance(key, bytes) and len(key) > MAX_DEAD_LETTER_KEY_BYTES:
            headers.append(("ccwatch.key_truncated", str(len(key)).encode()))
            key = key[:MAX_DEAD_LETTER_KEY_BYTES]
        await self.topic("dead-letter").send(key=key, value=value, headers=headers)


def count_alert(alert: AlertEvent) -> None:
    metrics.TRANSITIONS.labels(alert.alert_type, alert.transition).inc()
    if alert.transition == "opened":
        metrics.ALERTS.labels(alert.alert_type, alert.severity).inc()
        delay = (datetime.now(UTC) - alert.occurred_at).total_seconds()
        metrics.ALERT_LATENCY.labels(alert.alert_type).observe(max(delay, 0.0))
    elif alert.transition == "escalated" and alert.evidence == ["sla"]:
        metrics.SLA_BREACHES.labels(alert.alert_type).inc()
