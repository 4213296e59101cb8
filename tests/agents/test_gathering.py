"""Gathering's agents: members' fixes judged by group; sightings back to each subject."""

from __future__ import annotations

from datetime import timedelta

from models.events import AlertEvent, GroupFix, Mark, Sighting, decode, encode
from streams.worker import Worker
from tests.agents.conftest import Sent
from tests.factories import T0, fix

M = timedelta(minutes=1)
SPOT = (30.7150, 122.4550)


async def test_a_pair_together_for_the_dwell_time_is_sighted_in_any_arrival_order(
    worker: tuple[Worker, Sent],
) -> None:
    w, sent = worker
    key = b"C-2025-017"
    a = [fix(n, n * 5 * M, SPOT, subject="SS-0010") for n in range(8)]
    b = [fix(n, n * 5 * M, (SPOT[0] + 0.0004, SPOT[1]), subject="SS-0012") for n in range(8)]
    async with w.app.agents["groups"].test_context() as ctx:
        for f in [*a, *b]:  # one member's backlog first, the other's after: order is restored
            await ctx.put(encode(GroupFix(source=0, fix=f)), key=key)
    seen = [decode(v, Sighting) for _, v in sent["sightings"]]
    assert {(s.subject_id, s.together) for s in seen if isinstance(s, Sighting)} == {
        ("SS-0010", True),
        ("SS-0012", True),
    }
    assert all(isinstance(s, Sighting) and s.since == T0 for s in seen)


async def test_a_silent_member_holds_the_group_back_only_until_the_marks_pass(
    worker: tuple[Worker, Sent],
) -> None:
    w, sent = worker
    key = b"C-2025-017"
    async with w.app.agents["groups"].test_context() as ctx:
        await ctx.put(encode(GroupFix(source=0, fix=fix(1, M, SPOT, subject="SS-0010"))), key=key)
        held = w.tables["groups"][key]
        for source in range(w.settings.partitions):  # event time far past the wait
            mark = Mark(source=source, at=T0 + 5 * 60 * M)
            await ctx.put(encode(mark), key=None, partition=0)
    assert w.tables["groups"][key] != held  # judged up to the marks less the wait
    assert sent["sightings"] == []  # alone: nobody to gather with


async def test_a_sighting_opens_the_subjects_gathering_alert(worker: tuple[Worker, Sent]) -> None:
    w, sent = worker
    sighting = Sighting(
        event_id="s-1",
        subject_id="SS-0010",
        others=["SS-0012"],
        since=T0,
        occurred_at=T0 + 30 * M,
        lat=SPOT[0],
        lon=SPOT[1],
    )
    async with w.app.agents["sightings"].test_context() as ctx:
        await ctx.put(encode(sighting), key=b"SS-0010")
    [(key, value)] = sent["alerts"]
    alert = decode(value, AlertEvent)
    assert key == b"SS-0010" and isinstance(alert, AlertEvent)
    assert alert.alert_type == "gathering" and alert.occurred_at == T0
