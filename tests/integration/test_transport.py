"""The worker's transport reads a partition the group never committed from its start after
a seek (streams/transport.py): Faust drops records it fetched around a rebalance and seeks
back to the committed offsets, which aiokafka does not do for a partition without one."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from ccwatch.broker import EmbeddedBroker
from tests.integration.harness import REPO


def test_a_partition_without_a_committed_offset_is_read_again_from_its_start(
    broker: EmbeddedBroker,
) -> None:
    topic, group, n = f"probe-{uuid.uuid4().hex[:8]}", f"probe-{uuid.uuid4().hex[:8]}", 5
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i in range(n):
        producer.send(topic, f"record {i}".encode(), partition=0)
    producer.flush()
    producer.close()
    probe = ["-m", "tests.integration.seek_probe", broker.bootstrap, topic, group, str(n)]
    done = subprocess.run(
        [sys.executable, *probe],
        cwd=REPO,
        capture_output=True,
        timeout=90,
        check=False,
    )
    lines = [line for line in done.stdout.decode().splitlines() if line.startswith("offsets ")]
    assert lines, done.stderr.decode()[-3000:]
    assert json.loads(lines[-1].split(" ", 1)[1]) == list(range(n))


async def test_a_flush_before_a_commit_waits_for_every_buffered_write(tmp_path: Path) -> None:
    """Faust commits offsets after ``producer.flush()``, but its buffer's flush gives up
    after 0.1 s without a send: a table's changelog write (``send_soon``) still waiting
    then is lost by a crash after the commit, and the subject's state with it. Here the
    write waits for the topic's metadata while the broker is paused."""
    import faust

    from streams.transport import install

    own = EmbeddedBroker().start()  # paused below: not the session's broker
    app = faust.App(f"flush-{uuid.uuid4().hex[:8]}", broker=f"kafka://{own.bootstrap}")
    app.conf.store = "memory://"  # type: ignore[assignment]
    install(app, idempotent=False)
    try:
        await app.producer.start()
        topic = app.topic(f"later-{uuid.uuid4().hex[:8]}", value_serializer="raw")
        pid = own.pid
        os.kill(pid, signal.SIGSTOP)
        asyncio.get_running_loop().call_later(1.5, os.kill, pid, signal.SIGCONT)
        written = topic.send_soon(key=b"k", value=b"state")
        await asyncio.wait_for(app.producer.flush(), 30)
        assert written.done() and written.result().offset >= 0
    finally:
        os.kill(own.pid, signal.SIGCONT)
        await app.producer.stop()
        own.stop()
