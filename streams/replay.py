"""Rebuild decisions from past input events: a file (JSON lines) or the input topics.

The same :class:`~streams.pipeline.Pipeline` as the workers, run in one process. Input
records are applied in the order given; month closes come last, in month order, so any
arrival order of the same events yields the same ledger.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from models.events import MonthClose, Rejection, Tick, decode_control
from streams.control import close_record
from streams.pipeline import EMPTY_STATE, Outcome, Pipeline, SubjectState
from streams.sink import DatabaseSink
from streams.topics import TopicNames

KINDS = ("checkins", "locations", "activities", "decisions", "alert-actions", "devices", "control")


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One input record: its topic (without the prefix), key and value, as sent."""

    topic: str
    key: bytes | None
    value: bytes


def write_log(path: Path, records: Iterable[LogRecord]) -> int:
    """Write records as JSON lines: {"topic", "key", "value"}, the value as its JSON text,
    or base64 in "value_b64" when it is not UTF-8 (undecodable input is evidence too)."""
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
                yield LogRecord(raw["topic"], key.encode() if key is not None else None, value)


def read_topics(
    bootstrap: str, topics: TopicNames, partitions: int, idle_s: float = 2.0
) -> Iterator[LogRecord]:
    """Every record of the input topics, from the start until none arrives for ``idle_s``."""
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
    try:
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < idle_s:
            batches = consumer.poll(timeout_ms=200)
            if batches:
                quiet_since = time.monotonic()
            for tp, records in batches.items():
                for rec in records:
                    yield LogRecord(names[tp.topic], rec.key, rec.value)
    finally:
        consumer.close()


@dataclass
class ReplayResult:
    applied: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    months: list[str] = field(default_factory=list)
    entries: int = 0
    recommendations: int = 0
    alerts: int = 0


def replay(
    records: Iterable[LogRecord],
    pipeline: Pipeline,
    sink: DatabaseSink | None,
    close_months: Iterable[str] = (),
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Apply input records, then close the months named (and any the log asks to close)."""
    handlers: dict[str, tuple[Callable[[bytes, bytes | None], Any], Callable[..., Outcome]]] = {
        "checkins": (pipeline.validate_checkin, pipeline.apply_checkin),
        "locations": (pipeline.validate_location, pipeline.apply_location),
        "activities": (pipeline.validate_activity, pipeline.apply_activity),
        "decisions": (pipeline.validate_decision, pipeline.apply_decision),
        "alert-actions": (pipeline.validate_action, pipeline.apply_action),
        "devices": (pipeline.validate_device, pipeline.apply_device),
    }
    states: dict[str, SubjectState] = {}
    result = ReplayResult()
    pending: list[Outcome] = []
    months = set(close_months)
    ticked: set[str] = set()

    def flush() -> None:
        if sink is not None:
            sink.write_alerts([a for o in pending for a in o.alerts])
            sink.write_points([p for o in pending for p in o.points])
            sink.write_recommendations([r for o in pending for r in o.recommendations])
        pending.clear()

    def keep(subject_id: str, outcome: Outcome) -> None:
        states[subject_id] = outcome.state
        result.entries += len(outcome.points)
        result.recommendations += len(outcome.recommendations)
        result.alerts += len(outcome.alerts)
        if outcome.points or outcome.recommendations or outcome.alerts:
            pending.append(outcome)
            if len(pending) >= batch:
                flush()

    for record in records:
        if progress:
            progress(1)
        if record.topic == "control":
            control = decode_control(record.value)
            if isinstance(control, MonthClose):
                months.add(control.month)
            elif isinstance(control, Tick) and control.event_id not in ticked:
                ticked.add(control.event_id)  # one per partition live: once here
                for subject_id in sorted(pipeline.registry.subjects):
                    state = states.get(subject_id, EMPTY_STATE)
                    keep(subject_id, pipeline.tick(state, subject_id, control))
            continue
        validate, apply = handlers[record.topic]
        event = validate(record.value, record.key)
        if isinstance(event, Rejection):
            result.rejected[event.reason] = result.rejected.get(event.reason, 0) + 1
            continue
        keep(event.subject_id, apply(states.get(event.subject_id, EMPTY_STATE), event))
        result.applied += 1
    for month in sorted(months):
        close = close_record(month, "replay")
        for subject_id in sorted(pipeline.registry.subjects):
            state = states.get(subject_id, EMPTY_STATE)
            keep(subject_id, pipeline.close_month(state, subject_id, close))
    flush()
    result.months = sorted(months)
    return result
