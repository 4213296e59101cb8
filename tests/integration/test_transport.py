"""The worker's transport reads a partition the group never committed from its start after
a seek (streams/transport.py): Faust drops records it fetched around a rebalance and seeks
back to the committed offsets, which aiokafka does not do for a partition without one."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

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
