"""The input agents: a record in, its decisions out, the subject's state kept."""

from __future__ import annotations

import time
from datetime import timedelta

from models.events import AlertEvent, GroupFix, decode, decode_group
from streams import metrics
from streams.pipeline import load_state
from streams.worker import Worker
from tests.agents.conftest import Sent
from tests.factories import OUTSIDE, checkin, fix, payload

M = timedelta(minutes=1)


async def test_a_fix_outside_raises_an_alert_and_is_kept(worker: tuple[Worker, Sent]) -> None:
    w, sent = worker
    agent = w.app.agents["locations"]
    async with agent.test_context() as ctx:
        await ctx.put(payload(fix(1, M, OUTSIDE, subject="SS-0003")), key=b"SS-0003")
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
