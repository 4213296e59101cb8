"""A worker that lost its broker leaves, so that its supervisor starts it again; a partition
whose commits are stuck is read again.

Faust does not recover from a broker that stays away or comes back empty (a restarted
in-memory broker): its agents stop while the process lives on. Every few seconds this asks
the broker for its topics; when it has not answered for ``broker_lost_s``, or answers
without this worker's topics, the worker clears its ready file and exits with status 69
(EX_UNAVAILABLE). Nothing is lost by leaving: records are acknowledged only once applied
and written, so Kafka delivers the rest again, and a restart recreates missing topics.

A partition whose acknowledged records follow one that nothing processes any more (a
record Faust dropped without delivering it, :meth:`streams.transport.Consumer.holes`)
would never be committed past it: when two checks in a row see the same hole, the worker
seeks the partition back to it, counts it (``ccwatch_commit_holes_total``) and logs it. The
records after it come again and are recognised as already applied.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

from aiokafka.client import AIOKafkaClient
from faust.types import TP

from streams import metrics
from streams.guard import guarded
from streams.transport import Consumer
from streams.worker import Worker, short

log = logging.getLogger("streams")
EXIT_BROKER_LOST = 69
CHECK_EVERY_S = 5.0


def register(w: Worker) -> None:
    expected = {f"{w.settings.topic_prefix}.{name}" for name in ("control", "locations")}
    since: list[float] = []  # when the broker stopped answering

    async def watch_broker() -> None:
        try:
            topics = await asyncio.wait_for(broker_topics(w.settings.kafka_bootstrap), 5.0)
        except Exception:
            since[:] = since or [time.monotonic()]
            down = time.monotonic() - since[0]
            if down >= w.settings.broker_lost_s:
                leave(w, f"the broker has not answered for {down:.0f} s")
            return
        since.clear()
        if missing := sorted(expected - topics):
            leave(w, f"the broker lost this worker's topics ({', '.join(missing)})")

    w.app.timer(interval=CHECK_EVERY_S, name="broker-watch")(guarded("broker-watch", watch_broker))

    seen: dict[TP, int] = {}  # holes found by the previous check

    async def read_holes_again() -> None:
        if not w.consuming():
            return
        consumer = w.app.consumer
        found = consumer.holes() if isinstance(consumer, Consumer) else {}
        for tp, offset in sorted(found.items()):
            if seen.get(tp) == offset:
                log.warning(
                    "reading %s[%d] again from %d: records after it were acknowledged, it was not",
                    tp.topic,
                    tp.partition,
                    offset,
                )
                metrics.COMMIT_HOLES.labels(short(tp.topic)).inc()
                await consumer.seek(tp, offset)
                found.pop(tp)
        seen.clear()
        seen.update(found)

    w.app.timer(interval=CHECK_EVERY_S, name="commit-holes")(
        guarded("commit-holes", read_holes_again)
    )


async def broker_topics(bootstrap: str) -> set[str]:
    """The topics the broker knows, from a fresh connection."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=5000)
    try:
        await client.bootstrap()
        metadata = await client.fetch_all_metadata()
        return set(metadata.topics())
    finally:
        await client.close()


def leave(w: Worker, why: str) -> None:
    """Not ready any more; exit at once (a graceful stop would wait on the lost broker)."""
    log.error("leaving: %s; a supervisor should start the worker again", why)
    if w.settings.ready_file is not None:
        w.settings.ready_file.unlink(missing_ok=True)
    logging.shutdown()
    os._exit(EXIT_BROKER_LOST)
