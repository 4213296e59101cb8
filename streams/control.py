"""Control records: the monthly close, sent to every partition of the control topic."""

from __future__ import annotations

from datetime import datetime, timedelta

from kafka import KafkaProducer
from kafka.partitioner.default import murmur2

from models.events import MonthClose, encode
from models.ids import derive_id
from models.localtime import add_months, local_month, month_span
from streams.topics import TopicNames


def partition_of(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2), as producers and Faust place keyed records."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def due_close(now: datetime, grace: timedelta, watch_started: datetime | None) -> str | None:
    """The latest local month whose close is due at ``now``: ended at least ``grace`` ago,
    and not before ccwatch began watching (None: no month is due)."""
    month = add_months(local_month(now - grace), -1)
    if watch_started is not None and month_span(month).end() <= watch_started:
        return None
    return month


def close_record(month: str, requested_by: str) -> MonthClose:
    """The close of a month, dated at its last second; its id depends on the month only, so
    repeats are no-ops and a replay's close equals the live one."""
    return MonthClose(
        event_id=derive_id("month-close", month),
        month=month,
        requested_by=requested_by,
        occurred_at=month_span(month).last_second(),
    )


def request_close(bootstrap: str, topics: TopicNames, partitions: int, month: str,
                  requested_by: str) -> None:  # fmt: skip
    """Ask every partition's owner to close ``month`` (the CLI's on-demand close)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="ccwatch-control", acks="all")
    value = encode(close_record(month, requested_by))
    for partition in range(partitions):
        producer.send(topics.control, value=value, partition=partition)
    producer.flush()
    producer.close()
