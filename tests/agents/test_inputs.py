"""The input agents: a record in, its decisions out, the subject's state kept."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import msgspec

from models.events import (
    AlertEvent,
    GroupFix,
    RegisterChanged,
    batch_of,
    decode,
    decode_group,
    encode,
)
from models.signing import sign
from register import store
from register.core import Actor
from streams import metrics
from streams.pipeline import load_state
from streams.worker import Worker
from tests.agents.conftest import Sent, on_time
from tests.factories import INSIDE, OUTSIDE, T0, checkin, device_key, fix, payload

M, H = timedelta(minutes=1), timedelta(hours=1)


def _count(counter: Any, topic: str) -> float:
    return float(counter.labels(topic)._value.get())


async def test_a_fix_beyond_its_lateness_bound_opens_no_alert(
    worker: tuple[Worker, Sent],
) -> None:
    """Lateness is the broker timestamp less the event time, not the worker's clock."""
    w, sent = worker
    before = _count(metrics.LATE_ARRIVALS, "locations")
    record = fix(1, M, OUTSIDE, subject="SS-0003")
    async with w.app.agents["locations"].test_context() as ctx:
        await ctx.put(payload(record), key=b"SS-0003", timestamp=on_time(record, 6 * H))
    assert sent["alerts"] == [] and sent["dead-letter"] == []
    assert _count(metrics.LATE_ARRIVALS, "locations") == before + 1
    assert load_state(w.tables["subjects"][b"SS-0003"]).detection.track.seen_at == T0 + M


async def test_repeats_are_counted_and_conflicts_dead_lettered(
    worker: tuple[Worker, Sent],
) -> None:
    w, sent = worker
    before = _count(metrics.DUPLICATES, "locations")
    conflicts = metrics.EVENTS.labels("locations", "dead_lettered", "conflict")
    dead = conflicts._value.get()
    first = fix(1, M, INSIDE, subject="SS-0003")
    other = fix(1, M, OUTSIDE, subject="SS-0003")  # the same id, other content
    async with w.app.agents["locations"].test_context() as ctx:
        for record in (first, first, other):
            await ctx.put(payload(record), key=b"SS-0003", timestamp=on_time(record))
    assert _count(metrics.DUPLICATES, "locations") == before + 1
    [(_, value)] = sent["dead-letter"]
    assert value == payload(other) and sent["alerts"] == []
    assert conflicts._value.get() == dead + 1


async def test_a_fix_outside_raises_an_alert_and_is_kept(worker: tuple[Worker, Sent]) -> None:
    w, sent = worker
    agent = w.app.agents["locations"]
    async with agent.test_context() as ctx:
        record = fix(1, M, OUTSIDE, subject="SS-0003")
        await ctx.put(payload(record), key=b"SS-0003", timestamp=on_time(record))
    [(key, value)] = sent["alerts"]
    alert = decode(value, AlertEvent)
    assert key == b"SS-0003" and isinstance(alert, AlertEvent)
    assert alert.alert_type == "out_of_bounds" and alert.transition == "opened"
    stored = load_state(w.tables["subjects"][b"SS-0003"])
    assert "out_of_bounds" in stored.detection.book.open


async def test_a_check_in_scores_points(worker: tuple[Worker, Sent]) -> None:
    w, sent = worker
    async with w.app.agents["checkins"].test_context() as ctx:
        await ctx.put(payload(checkin(1, 0 * M, subject="SS-0002")), key=b"SS-0002")
    assert sent["points"] and not sent["dead-letter"]
    seen = metrics.REGISTRY.get_sample_value(
        "ccwatch_terminal_last_record_timestamp_seconds", {"terminal": "T-caiyuan-1"}
    )
    assert seen is not None and seen > time.time() - 60  # the kiosk is heard from


async def test_bad_input_goes_to_the_dead_letter_topic(worker: tuple[Worker, Sent]) -> None:
    w, sent = worker
    async with w.app.agents["locations"].test_context() as ctx:
        await ctx.put(b"not json", key=b"SS-0003")
    [(key, value)] = sent["dead-letter"]
    assert key == b"SS-0003" and value == b"not json"


async def test_a_co_offenders_fix_goes_to_its_group(worker: tuple[Worker, Sent]) -> None:
    w, sent = worker
    async with w.app.agents["locations"].test_context() as ctx:
        await ctx.put(payload(fix(1, M, (30.715, 122.455), subject="SS-0010")), key=b"SS-0010")
    [(key, value)] = sent["groups"]
    record = decode_group(value)
    assert isinstance(record, GroupFix) and record.fix.subject_id == "SS-0010"
    assert key == w.pipeline.group_of("SS-0010").encode()  # type: ignore[union-attr]


async def test_a_fix_without_a_positioning_approval_is_counted_not_judged(
    worker: tuple[Worker, Sent],
) -> None:
    """A co-offender outside the county with no e-positioning approval in force: no alert,
    nothing to the group, no dead letter; counted (Community Correction Law art. 29)."""
    w, sent = worker
    w.pipeline.use(replace(w.pipeline.registry, positioning={}))
    before = _count(metrics.UNAPPROVED, "locations")
    ok = metrics.EVENTS.labels("locations", "ok", "")._value.get()
    record = fix(1, M, OUTSIDE, subject="SS-0010")
    async with w.app.agents["locations"].test_context() as ctx:
        await ctx.put(payload(record), key=b"SS-0010", timestamp=on_time(record))
    assert sent["alerts"] == [] and sent["groups"] == [] and sent["dead-letter"] == []
    assert _count(metrics.UNAPPROVED, "locations") == before + 1
    assert metrics.EVENTS.labels("locations", "ok", "")._value.get() == ok + 1


async def test_a_record_fetched_before_a_rebalance_is_not_applied_after_it(
    worker: tuple[Worker, Sent],
) -> None:
    """A record delivered in one assignment generation and reached after a rebalance (its
    partition may be another worker's now) decides nothing: its state is not ours to read
    or write, and the owner reads it again from the committed offset."""
    w, sent = worker
    read = w.current

    def after_a_rebalance(key: bytes) -> Any:
        w.app.consumer_generation_id += 1  # the group moved on while the record waited
        return read(key)

    w.current = after_a_rebalance  # type: ignore[method-assign]
    record = fix(1, M, OUTSIDE, subject="SS-0003")
    async with w.app.agents["locations"].test_context() as ctx:
        await ctx.put(payload(record), key=b"SS-0003", timestamp=on_time(record))
    assert sent["alerts"] == [] and b"SS-0003" not in w.tables["subjects"]


async def test_a_register_change_in_the_log_is_read_before_the_records_behind_it(
    worker: tuple[Worker, Sent],
) -> None:
    """A leave approved in the database, then told in the locations log: the fix behind it
    is judged with the leave (the worker's register did not have it before)."""
    w, sent = worker
    county = Actor("test")
    asked = store.request_leave(w.sink.engine, county, "SS-0003", T0 - H, T0 + 24 * H, "上海")
    store.decide_leave(w.sink.engine, county, asked["leave_id"], approve=True)
    assert "SS-0003" not in w.pipeline.registry.leaves
    told = RegisterChanged(
        event_id="rc-1", change="leave.approve", subject_id="SS-0003", occurred_at=w.clock.now()
    )
    record = fix(1, M, OUTSIDE, subject="SS-0003")
    async with w.app.agents["locations"].test_context() as ctx:
        await ctx.put(encode(told), key=None)
        await ctx.put(payload(record), key=b"SS-0003", timestamp=on_time(record))
    assert sent["alerts"] == [] and sent["dead-letter"] == []  # covered by the leave
    assert [leave.id for leave in w.pipeline.registry.leaves["SS-0003"]] == [asked["leave_id"]]


class Counting:
    """A table that counts its writes (the changelog records a worker sends)."""

    def __init__(self, table: Any) -> None:
        self.table, self.writes = table, 0

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.writes += 1
        self.table[key] = value

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)

    def __getitem__(self, key: bytes) -> Any:
        return self.table[key]

    def __contains__(self, key: object) -> bool:
        return key in self.table


async def test_a_batched_upload_stores_its_subject_once_and_sets_a_bad_fix_aside(
    worker: tuple[Worker, Sent],
) -> None:
    """Five fixes, each moving 1 km (each would be stored alone), and one out of range:
    the state is written once, after the last fix; the bad fix is dead-lettered with its
    index; the record is acknowledged once all are done."""
    w, sent = worker
    table = Counting(w.tables["subjects"])
    w.tables["subjects"] = table
    who = "SS-0003"
    fixes = [fix(n, n * M, (30.60 + n * 0.009, 122.30), subject=who) for n in range(5)]
    upload = batch_of(fixes)
    raw = [*upload.fixes, {**upload.fixes[0], "event_id": "bad", "lat": 95.0}]
    value = encode(sign(msgspec.structs.replace(upload, fixes=raw), device_key(f"P-{who}", who)))
    async with w.app.agents["locations"].test_context() as ctx:
        await ctx.put(value, key=who.encode(), timestamp=on_time(fixes[-1]))
    [(_, dead)] = sent["dead-letter"]
    assert dead == value
    assert sent.headers["dead-letter"][0]["ccwatch.detail"].startswith(b"fixes[5]")
    assert table.writes == 1
    stored = load_state(w.tables["subjects"][who.encode()])
    assert stored.detection.track.event_id == fixes[-1].event_id
