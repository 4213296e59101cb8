"""Tell the workers that the register changed: a control record to every partition, so each
worker reads the register again before the partition's next record."""

from __future__ import annotations

from datetime import UTC, datetime

from kafka import KafkaProducer

from models.events import RegisterChanged, encode
from models.ids import derive_id
from streams.topics import TopicNames


def tell_workers(
    bootstrap: str, topics: TopicNames, partitions: int, change: str, subject_id: str | None
) -> None:
    """Send :class:`RegisterChanged` to every control partition and wait for the broker."""
    now = datetime.now(UTC)
    record = RegisterChanged(
        event_id=derive_id("register", change, subject_id or "", now.isoformat()),
        change=change,
        subject_id=subject_id,
        occurred_at=now,
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="ccwatch-register")
    try:
        for partition in range(partitions):
            producer.send(topics.control, value=encode(record), partition=partition)
        producer.flush(timeout=10)
    finally:
        producer.close(timeout=5)
