"""The consuming processes of the first two rows of bench/throughput.py, each run on its own
so that its peak RSS is its own: it imports only its client.

    python bench/drain.py raw|noop --bootstrap HOST:PORT --topic T --partitions N
                                   --expect RECORDS --out RESULT.json --datadir DIR

- ``raw``: an aiokafka consumer (no group: the partitions assigned and read from their
  beginning) counts records with ``getmany``, decoding nothing.
- ``noop``: a faust-streaming app (a fresh consumer group) whose agent only iterates the
  stream; it runs until it is killed.

Each writes ``{"records", "counted", "seconds"}`` to ``--out`` once it has ``--expect``
records (or nothing arrived for ``STALL_S``): ``counted`` records arrived in ``seconds``,
from the first record it had to the last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

SESSION_TIMEOUT_S = 6.0  # tansu: the group join takes about half of it (broker-notes.md)
STALL_S = 60.0  # nothing new this long: the figures are reported as they stand


def _fast_loop() -> None:
    with contextlib.suppress(ImportError):  # as streams.app.run_worker does
        import uvloop

        uvloop.install()


def write_json(path: Path, result: dict[str, Any]) -> None:
    """Write ``result`` to ``path`` at once (a reader never sees half of it)."""
    part = path.with_suffix(".part")
    part.write_text(json.dumps(result))
    part.rename(path)


async def _raw(bootstrap: str, topic: str, partitions: int, expect: int) -> dict[str, Any]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        count, at_first, first, last = 0, 0, 0.0, time.perf_counter()
        while count < expect and (count == 0 or time.perf_counter() - last < STALL_S):
            got = await consumer.getmany(timeout_ms=500, max_records=500)
            n = sum(len(records) for records in got.values())
            if n:
                last = time.perf_counter()
                if count == 0:
                    first, at_first = last, n
                count += n
    finally:
        await consumer.stop()
    return {"records": count, "counted": count - at_first, "seconds": last - first}


def _noop(args: argparse.Namespace) -> None:
    import faust

    _fast_loop()
    app = faust.App(
        f"bench-noop-{uuid.uuid4().hex[:8]}",  # a fresh consumer group
        broker=f"kafka://{args.bootstrap}",
        store="memory://",
        datadir=args.datadir,
        topic_partitions=args.partitions,
        topic_disable_leader=True,
        broker_session_timeout=SESSION_TIMEOUT_S,
        broker_heartbeat_interval=SESSION_TIMEOUT_S / 4,
        consumer_auto_offset_reset="earliest",
        stream_wait_empty=False,
        web_enabled=False,
    )
    source = app.topic(
        args.topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    seen = {"count": 0, "first": 0.0, "last": 0.0}
    out, expect = Path(args.out), args.expect

    def report() -> None:
        if not out.exists():
            write_json(
                out,
                {
                    "records": seen["count"],
                    "counted": seen["count"] - 1,
                    "seconds": seen["last"] - seen["first"],
                },
            )

    async def drain(stream: Any) -> None:
        count = 0
        async for _ in stream:
            count += 1
            seen["count"], seen["last"] = count, time.perf_counter()
            if count == 1:
                seen["first"] = seen["last"]
            elif count == expect:
                report()

    async def watch() -> None:  # a record Faust never delivers must not hang the run
        if seen["count"] and time.perf_counter() - seen["last"] > STALL_S:
            report()

    app.agent(source, name="drain")(drain)
    app.timer(1.0)(watch)
    faust.Worker(app, loglevel="info", redirect_stdouts=False).execute_from_commandline()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["raw", "noop"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--datadir", required=True)
    args = parser.parse_args()
    if args.kind == "raw":
        _fast_loop()
        result = asyncio.run(_raw(args.bootstrap, args.topic, args.partitions, args.expect))
        write_json(Path(args.out), result)
    else:
        _noop(args)


if __name__ == "__main__":
    main()
