"""What a run left behind, and how it compares with the fault-free run of the same input.

Outputs are compared by id (ids derive from evidence, so runs are comparable) and content,
leaving out processing-time fields. Inputs are accounted for one by one: dead-lettered
(the dead letter's ``ccwatch.topic/partition/offset`` headers name it), processed (the
consumer group committed past it and no dead letter names it), or lost (neither).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine, select

from models.records import Alert, AlertTransitionRow, PointsEntryRow, Position, RecommendationRow

# Processing-time and bookkeeping columns: they differ between runs by design.
IGNORED = {"raised_at", "sla_due_at", "recorded_at", "created_at", "updated_at", "sla_due"}
TABLES = {
    "alerts": Alert,
    "transitions": AlertTransitionRow,
    "points": PointsEntryRow,
    "recommendations": RecommendationRow,
    "positions": Position,
}
OUTPUT_IDS = {"alerts": "transition_id", "points": "entry_id", "recommendations": None}

Snapshot = dict[str, dict[str, str]]  # table -> id -> content (canonical JSON)


def snapshot(engine: Engine) -> Snapshot:
    """Every output row in the database by table and id (processing times left out)."""
    out: Snapshot = {}
    with engine.connect() as conn:
        for name, model in TABLES.items():
            table = model.__table__
            rows = conn.execute(select(table)).mappings()
            out[name] = {str(r["id"]): _canonical(r) for r in rows}
    return out


def _canonical(row: Any) -> str:
    return json.dumps(
        {k: v for k, v in dict(row).items() if k not in IGNORED}, sort_keys=True, default=str
    )


@dataclass
class TopicRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]


def read_topic(
    bootstrap: str, topic: str, partitions: int, timeout_s: float = 30
) -> list[TopicRecord]:
    """Every record of ``topic`` from its start (a fresh consumer, no group)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=16_000_000,
        fetch_max_bytes=64_000_000,
        request_timeout_ms=15_000,
    )
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        out: list[TopicRecord] = []
        deadline, empty = time.monotonic() + timeout_s, 0
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=300)
            for records in batch.values():
                for r in records:
                    headers = {k: v.decode("utf-8", "replace") for k, v in r.headers or []}
                    out.append(TopicRecord(r.partition, r.offset, r.key, r.value, headers))
            empty = 0 if batch else empty + 1
            if all(consumer.position(tp) >= ends[tp] for tp in parts) and empty >= 2:
                break
        return out
    finally:
        consumer.close()


def committed(
    bootstrap: str, group: str, parts: list[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """The consumer group's committed offsets (-1 where none)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        request_timeout_ms=10_000,
    )
    try:
        out = {}
        for topic, p in parts:
            offset = None
            with contextlib.suppress(Exception):
                offset = consumer.committed(TopicPartition(topic, p))
            out[topic, p] = offset if offset is not None else -1
        return out
    finally:
        consumer.close()


def output_ids(records: list[TopicRecord], topic: str) -> dict[str, set[str]]:
    """An output topic's ids and the contents seen under each (processing times left out)."""
    out: dict[str, set[str]] = {}
    for r in records:
        try:
            body = json.loads(r.value)
        except ValueError:
            continue
        key = OUTPUT_IDS[topic]
        rid = body.get(key) if key else f"{body.get('recommendation_id')}/{body.get('status')}"
        content = json.dumps(
            {k: v for k, v in body.items() if k not in IGNORED}, sort_keys=True, default=str
        )
        out.setdefault(str(rid), set()).add(content)
    return out


@dataclass
class Fates:
    """Each input's fate in one run: ``processed``, ``lost`` or ``dead:<reason>``."""

    of: list[str]
    dead_copies: int = 0  # dead letters beyond the first for the same input

    def count(self, what: str) -> int:
        return sum(1 for f in self.of if f == what or f.startswith(what + ":"))


def fates(
    placed: list[tuple[str, int, int] | None],
    dead: list[TopicRecord],
    offsets: dict[tuple[str, int], int],
) -> Fates:
    where: dict[tuple[str, int, int], list[str]] = {}
    for r in dead:
        h = r.headers
        with contextlib.suppress(KeyError, ValueError):
            src = (h["ccwatch.topic"], int(h["ccwatch.partition"]), int(h["ccwatch.offset"]))
            where.setdefault(src, []).append(h.get("ccwatch.reason", ""))
    out = Fates([])
    for p in placed:
        if p is None:
            out.of.append("lost")
        elif p in where:
            reasons = where[p]
            out.of.append(f"dead:{reasons[0] or '(no reason)'}")
            out.dead_copies += len(reasons) - 1
        elif offsets.get((p[0], p[1]), -1) > p[2]:
            out.of.append("processed")
        else:
            out.of.append("lost")
    return out


@dataclass
class Outcome:
    """Everything a run left: database rows, output topics, input fates."""

    rows: Snapshot
    topics: dict[str, dict[str, set[str]]]
    fates: Fates
    placed: list[tuple[str, int, int] | None] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # committed

    def lost_where(self) -> list[str]:
        """Where the lost inputs are: topic[partition] offsets, and the committed offset."""
        where: dict[tuple[str, int], list[int]] = {}
        unsent = 0
        for fate, p in zip(self.fates.of, self.placed, strict=False):
            if fate != "lost":
                continue
            if p is None:
                unsent += 1
            else:
                where.setdefault((p[0], p[1]), []).append(p[2])
        out = [f"not sent: {unsent}"] if unsent else []
        for (topic, part), offsets in sorted(where.items()):
            at = self.offsets.get((topic, part), -1)
            out.append(
                f"{topic.rsplit('.', 1)[-1]}[{part}] offsets {min(offsets)}..{max(offsets)}"
                f" ({len(offsets)}), committed {at}"
            )
        return out


@dataclass
class Difference:
    lost: Counter[str] = field(default_factory=Counter)
    extra: Counter[str] = field(default_factory=Counter)
    differing: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def note(self, what: str, kind: str, item: str) -> None:
        getattr(self, kind)[what] += 1
        if len(self.examples) < 12:
            self.examples.append(f"{kind} {what} {item[:160]}")


def compare(
    want: Outcome,
    got: Outcome,
    expected_fates: list[str],
    topics_complete: bool = True,
) -> Difference:
    """``got`` against ``want`` (the fault-free run): rows and output ids lost, extra or
    with other content, and inputs whose fate is not the expected one (``expected_fates``:
    the fault-free fate of each input, ``dead`` for a hostile record)."""
    diff = Difference()
    for table, rows in want.rows.items():
        have = got.rows.get(table, {})
        for rid, content in rows.items():
            if rid not in have:
                diff.note(table, "lost", rid)
            elif have[rid] != content:
                diff.note(table, "differing", f"{rid}: {content} != {have[rid]}")
        for rid in have.keys() - rows.keys():
            diff.note(table, "extra", f"{rid}: {have[rid]}")
    for topic, ids in want.topics.items():
        have_ids = got.topics.get(topic, {})
        for rid, contents in ids.items():
            if rid not in have_ids:
                if topics_complete:
                    diff.note(f"topic {topic}", "lost", rid)
            elif len(have_ids[rid]) > 1 or have_ids[rid] != contents:
                diff.note(f"topic {topic}", "differing", rid)
        for rid in have_ids.keys() - ids.keys():
            diff.note(f"topic {topic}", "extra", rid)
    for n, (expected, fate) in enumerate(zip(expected_fates, got.fates.of, strict=True)):
        if fate == "lost":
            continue  # counted as a lost input
        if expected == "dead" and not fate.startswith("dead:"):
            diff.note("hostile input", "differing", f"#{n} {fate}, not dead-lettered")
        elif expected != "dead" and fate != expected:
            diff.note("input", "differing", f"#{n} {fate}, fault-free: {expected}")
    return diff
