"""Rebuild decisions from past input events: a file (JSON lines) or the input topics.

The same :class:`~streams.pipeline.Pipeline` as the workers, run in one process, with the
records in event-time order and gathering judged by group as the workers judge it; month
closes come last, in month order. Any arrival order of the same events yields the same
alerts and ledger.
"""

from __future__ import annotations

import base64
import heapq
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine

from alerts.clock import ManualClock, SystemClock
from alerts.engine import next_due
from alerts.gathering import GroupBuffer, group_push, group_release, group_watermark
from alerts.order import RANK, Key, order
from ccwatch.settings import Settings
from models.closes import record_close
from models.events import LocationFix, MonthClose, Rejection, Tick
from models.registry import load_registry
from scoring.rules import load_ruleset
from streams.control import close_record
from streams.pipeline import EMPTY_STATE, Outcome, Pipeline, Step, SubjectState
from streams.sink import DatabaseSink
from streams.topics import TopicNames

KINDS = ("checkins", "locations", "activities", "decisions", "alert-actions", "devices", "control")


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One input record: its topic (without the prefix), key and value, as sent, and when
    it reached Kafka (its broker timestamp) if known."""

    topic: str
    key: bytes | None
    value: bytes
    received_at: datetime | None = None


def write_log(path: Path, records: Iterable[LogRecord]) -> int:
    """Write records as JSON lines: {"topic", "key", "value"}, the value as its JSON text,
    or base64 in "value_b64" when it is not UTF-8 (undecodable input is evidence too), and
    "received_at" (RFC 3339) when known."""
    n = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            line: dict[str, str | None] = {
                "topic": r.topic,
                "key": r.key.decode() if r.key is not None else None,
            }
            try:
                line["value"] = r.value.decode("utf-8")
            except UnicodeDecodeError:
                line["value_b64"] = base64.b64encode(r.value).decode()
            if r.received_at is not None:
                line["received_at"] = r.received_at.isoformat()
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_log(path: Path) -> Iterator[LogRecord]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                raw = json.loads(line)
                key = raw.get("key")
                value = (
                    raw["value"].encode() if "value" in raw else base64.b64decode(raw["value_b64"])
                )
                received = raw.get("received_at")
                yield LogRecord(
                    raw["topic"],
                    key.encode() if key is not None else None,
                    value,
                    datetime.fromisoformat(received) if received else None,
                )


READ_IDLE_S = 30.0  # how long a read of the topics waits for a record before it gives up


class IncompleteRead(RuntimeError):
    """The topics could not be read to their end: replaying part of a log decides wrong."""


def read_topics(
    bootstrap: str, topics: TopicNames, partitions: int, idle_s: float | None = None
) -> Iterator[LogRecord]:
    """Every record the input topics held when the read began: each partition is read up
    to the high watermark its first fetch reported (ticks keep coming while workers run,
    so "until nothing arrives" might never end). Raises :class:`IncompleteRead` when a
    partition has not reached its end (or not answered at all) after ``idle_s`` without a
    record (by default :data:`READ_IDLE_S`)."""
    idle_s = READ_IDLE_S if idle_s is None else idle_s
    names = {f"{topics.prefix}.{kind}": kind for kind in KINDS}
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        client_id="ccwatch-replay",
    )
    parts = [TopicPartition(t, p) for t in names for p in range(partitions)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends: dict[TopicPartition, int] = {}
    try:
        quiet_since = time.monotonic()
        while True:
            batches = consumer.poll(timeout_ms=200)
            for tp in parts:
                high = consumer.highwater(tp)
                if tp not in ends and high is not None:
                    ends[tp] = high
            for tp, records in batches.items():
                quiet_since = time.monotonic()
                for rec in records:
                    if rec.offset < ends.get(tp, rec.offset + 1):
                        stamp = rec.timestamp  # ms since the epoch
                        received = datetime.fromtimestamp(stamp / 1000, UTC) if stamp else None
                        yield LogRecord(names[tp.topic], rec.key, rec.value, received)
            short = [tp for tp in parts if tp not in ends or _before(consumer, tp, ends[tp])]
            if not short:
                return
            if time.monotonic() - quiet_since > idle_s:
                where = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in short[:5])
                raise IncompleteRead(
                    f"{len(short)} partition(s) not read to their end after {idle_s:.0f} s "
                    f"without a record: {where}"
                )
    finally:
        consumer.close()


def _before(consumer: KafkaConsumer, tp: TopicPartition, end: int) -> bool:
    """Whether the read of ``tp`` is short of ``end`` (or its position is unknown yet)."""
    position = consumer.position(tp, timeout_ms=100)  # unbounded, it may wait for ever
    return position is None or position < end


@dataclass
class ReplayResult:
    applied: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    not_applied: list[tuple[str, str]] = field(default_factory=list)  # (event id, why)
    duplicates: int = 0  # records already applied (same event id and content)
    months: list[str] = field(default_factory=list)
    entries: int = 0
    recommendations: int = 0
    alerts: int = 0


@dataclass(frozen=True, slots=True)
class _Input:
    kind: str
    record: Any
    apply: Step
    received_at: datetime | None


def replay(
    records: Iterable[LogRecord],
    pipeline: Pipeline,
    sink: DatabaseSink | None,
    close_months: Iterable[str] = (),
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Apply input records as the workers do, then close the months named (and any the log
    asks to close).

    The records are put in event-time order (:func:`alerts.order.order`), as a worker that
    held them for order would apply them, with the ticks of the log between them at the
    event time they advanced to; processing time is the latest tick's clock. So replaying
    the topics gives the live alerts (same ids, same states) and the same ledger, and any
    arrival order of the same records gives the same result."""
    handlers = pipeline.steps()
    result = ReplayResult()
    months = set(close_months)
    timeline: list[tuple[Key, _Input | Tick]] = []
    ticks: set[str] = set()
    lateness = timedelta(seconds=pipeline.policy.lateness_s)
    for record in records:  # validated as they come, against the pipeline's own clock
        if progress:
            progress(1)
        if record.topic == "control":
            control = pipeline.validate_control(record.value)
            if isinstance(control, MonthClose):
                months.add(control.month)
            elif isinstance(control, Tick) and control.event_id not in ticks:
                ticks.add(control.event_id)  # one per partition live: once here
                timeline.append(((control.at - lateness, len(RANK) + 1, control.event_id), control))
            continue
        validate, apply = handlers[record.topic]
        found = validate(record.value, record.key)
        if isinstance(found, Rejection) and pipeline.told(record.key, record.value) is not None:
            continue  # a register change told to the workers: replay reads it once
        for event in found if isinstance(found, list) else [found]:  # a batch: its fixes
            if isinstance(event, Rejection):
                result.rejected[event.reason] = result.rejected.get(event.reason, 0) + 1
                continue
            key = order(event.occurred_at, record.topic, event.event_id)
            timeline.append((key, _Input(record.topic, event, apply, record.received_at)))
    timeline.sort(key=lambda item: item[0])
    run = _Run(pipeline, sink, result, batch)
    run.play(timeline)
    for month in sorted(months):
        close = close_record(month, "replay")
        for subject_id in sorted(pipeline.registry.subjects):
            state = run.states.get(subject_id, EMPTY_STATE)
            run.keep(subject_id, pipeline.close_month(state, subject_id, close))
        run.flush()
    result.months = sorted(months)
    return result


def replay_into(
    engine: Engine,
    settings: Settings,
    records: Iterable[LogRecord],
    close_months: Iterable[str] = (),
    requested_by: str = "replay",
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Replay into the database with the settings' rule set and bounds, judged against the
    database's registry (its watch start and closed months), and record the months it
    closed, after them (``ccwatch replay``, the history of ``ccwatch run``)."""
    pipeline = Pipeline(
        load_registry(engine),
        load_ruleset(settings.ruleset),
        SystemClock(),
        settings.max_clock_skew_s,
        max_event_age_s=settings.max_event_age_s,
    )
    result = replay(records, pipeline, DatabaseSink(engine), close_months, progress=progress)
    for month in result.months:
        record_close(engine, month, requested_by, datetime.now(UTC))
    return result


class _Run:
    """One pass over the timeline with a clock of its own (processing time: the ticks')."""

    def __init__(
        self, pipeline: Pipeline, sink: DatabaseSink | None, result: ReplayResult, batch: int
    ) -> None:
        self.pipeline, self.sink, self.result, self.batch = pipeline, sink, result, batch
        self.states: dict[str, SubjectState] = {}
        self.pending: list[Outcome] = []
        self.groups: dict[str, GroupBuffer] = {}
        self.dues: list[tuple[datetime, str]] = []  # subjects' next deadlines (a heap)

    def play(self, timeline: list[tuple[Key, _Input | Tick]]) -> None:
        p = self.pipeline
        own = p.clock
        clock = ManualClock(timeline[0][0][0]) if timeline else None
        try:
            for key, item in timeline:
                if clock is None:
                    break
                p.clock = clock
                if isinstance(item, Tick):
                    clock.set(max(clock.now(), item.at))
                    self.tick(key[0])
                    continue
                clock.set(max(clock.now(), key[0]))
                self.apply(item)
        finally:
            p.clock = own
        self.flush()

    def apply(self, item: _Input) -> None:
        record = item.record
        subject_id = record.subject_id
        outcome = item.apply(self.states.get(subject_id, EMPTY_STATE), record, item.received_at)
        if outcome.rejected is not None:  # reported, never counted as applied
            why = outcome.rejected.reason
            self.result.rejected[why] = self.result.rejected.get(why, 0) + 1
            self.result.not_applied.append((record.event_id, outcome.rejected.detail))
        elif outcome.duplicate:
            self.result.duplicates += 1
            return
        else:
            self.result.applied += 1
        self.keep(subject_id, outcome)
        if isinstance(record, LocationFix) and outcome.judged:
            self.gather(record, None)

    def gather(self, fix: LocationFix | None, marks: datetime | None) -> None:
        """A co-offender's fix to its group, judged as the group partitions judge it."""
        p, wait = self.pipeline, timedelta(seconds=self.pipeline.policy.group_wait_s)
        if fix is not None:
            group = p.group_of(fix.subject_id)
            if group is None:
                return
            pushed = group_push(self.groups.get(group, GroupBuffer()), fix)
            if pushed is None:
                return
            self.groups[group] = pushed
            names = [group]
        else:
            names = sorted(self.groups)
        for group in names:
            buf = self.groups[group]
            watermark = group_watermark(buf, p.members(group), marks, wait)
            if watermark is None:
                continue
            self.groups[group], sightings = group_release(buf, watermark, p.group_limits(group))
            for seen in sightings:
                state = self.states.get(seen.subject_id, EMPTY_STATE)
                self.keep(seen.subject_id, p.apply_sighting(state, seen))

    def tick(self, at: datetime) -> None:
        """Event time reaches ``at``: subjects with a deadline by then, and those with an
        alert that may be past its SLA, are ticked (the rest have nothing to decide)."""
        p = self.pipeline
        tick = Tick(event_id=f"replay:{at.isoformat()}", at=at)
        ticked: set[str] = set()
        while self.dues and self.dues[0][0] <= at:
            _, subject_id = heapq.heappop(self.dues)
            if subject_id not in ticked:  # once per tick: advance handles every deadline
                ticked.add(subject_id)
                self.keep(subject_id, p.tick(self.states[subject_id], subject_id, tick))
        for subject_id, state in list(self.states.items()):
            if any(
                a.state == "open" and not a.escalated for a in state.detection.book.open.values()
            ):
                self.keep(subject_id, p.tick(state, subject_id, tick))
        self.gather(None, at)

    def keep(self, subject_id: str, outcome: Outcome) -> None:
        self.states[subject_id] = outcome.state
        due = next_due(self.pipeline.env(subject_id, outcome.state), outcome.state.detection)
        if due is not None:
            heapq.heappush(self.dues, (due, subject_id))
        self.result.entries += len(outcome.points)
        self.result.recommendations += len(outcome.recommendations)
        self.result.alerts += len(outcome.alerts)
        if outcome.points or outcome.recommendations or outcome.alerts:
            self.pending.append(outcome)
            if len(self.pending) >= self.batch:
                self.flush()

    def flush(self) -> None:
        if self.sink is not None:
            self.sink.write_alerts([a for o in self.pending for a in o.alerts])
            self.sink.write_points([p for o in self.pending for p in o.points])
            self.sink.write_recommendations([r for o in self.pending for r in o.recommendations])
        self.pending.clear()
