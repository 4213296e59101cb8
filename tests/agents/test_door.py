"""Dead letters of hostile records: the copy stays within the producer's limits."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from models.limits import MAX_DEAD_LETTER_BYTES
from streams.worker import MAX_DETAIL_CHARS, Worker
from tests.agents.conftest import Sent
from tests.factories import INSIDE, fix, payload

M = timedelta(minutes=1)


@pytest.mark.parametrize("size", [70_000, 1_000_000])
async def test_a_huge_record_is_dead_lettered_truncated_and_says_so(
    worker: tuple[Worker, Sent], size: int
) -> None:
    w, sent = worker
    record = payload(fix(1, M, INSIDE, subject="SS-0003"))[:-1] + b',"x":"' + b"x" * size + b'"}'
    async with w.app.agents["locations"].test_context() as ctx:
        await ctx.put(record, key=b"SS-0003")
        await ctx.put(payload(fix(2, 2 * M, INSIDE, subject="SS-0003")), key=b"SS-0003")
    [(key, value)] = sent["dead-letter"]
    [headers] = sent.headers["dead-letter"]
    assert key == b"SS-0003" and value == record[:MAX_DEAD_LETTER_BYTES]
    assert headers["ccwatch.reason"] == b"record_too_large"
    assert headers["ccwatch.truncated"] == str(len(record)).encode()
    assert sum(len(v) for v in headers.values()) < 2048
    assert b"SS-0003" in w.live  # the next record was processed


async def test_a_huge_key_and_a_hostile_detail_are_bounded(worker: tuple[Worker, Sent]) -> None:
    w, sent = worker
    fields = json.loads(payload(fix(1, M, INSIDE, subject="SS-0003")))
    fields["source"] = "\x00" + "r" * 30_000  # the decoder's message quotes the bad value
    async with w.app.agents["locations"].test_context() as ctx:
        await ctx.put(json.dumps(fields).encode(), key=b"K" * 200_000)
    [(key, _)] = sent["dead-letter"]
    [headers] = sent.headers["dead-letter"]
    assert key is not None and len(key) <= 1024
    assert headers["ccwatch.key_truncated"] == b"200000"
    detail = headers["ccwatch.detail"].decode()
    assert len(detail) <= MAX_DETAIL_CHARS and "\x00" not in detail
