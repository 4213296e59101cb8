"""A small Faust worker on the ccwatch transport, run by test_transport.py: it reads a
partition without committing, then asks the consumer to seek back to the committed offsets,
as Faust does after dropping records it had fetched around a rebalance, and prints the
offsets it is given again (one JSON list on stdout)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import faust

from streams.transport import install

bootstrap, topic_name, group, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
app = faust.App(
    group,
    broker=f"kafka://{bootstrap}",
    web_enabled=False,
    broker_session_timeout=6.0,
    broker_heartbeat_interval=1.0,
    consumer_auto_offset_reset="earliest",
    topic_partitions=1,
    store="memory://",
)
install(app, idempotent=False)
topic = app.topic(topic_name, value_serializer="raw", partitions=1)
first: list[int] = []
again: list[int] = []


@app.agent(topic)
async def read(stream: Any) -> None:
    async for event in stream.noack().events():  # never acknowledged: never committed
        (again if len(first) >= expected else first).append(event.message.offset)


@app.timer(interval=0.2)  # type: ignore[untyped-decorator]
async def seek_back() -> None:
    if len(first) < expected or again:
        if len(again) >= expected:
            print("offsets", json.dumps(again), flush=True)
            os._exit(0)
        return
    await app.consumer.perform_seek()
    await asyncio.sleep(5)
    print("offsets", json.dumps(again), flush=True)
    os._exit(0)


if __name__ == "__main__":
    faust.Worker(app, loglevel="warning", redirect_stdouts=False).execute_from_commandline()
