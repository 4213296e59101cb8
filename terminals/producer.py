"""Send terminal events to Kafka with kafka-python, keyed by subject id, paced by event time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from kafka import KafkaProducer

from streams.replay import LogRecord
from streams.topics import TopicNames
from terminals.simulator import SimEvent


def make_producer(bootstrap: str) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="ccwatch-terminal",
        acks="all",
        linger_ms=20,
        retries=5,
    )


def topic_of(topics: TopicNames, event: SimEvent) -> str:
    return topics.of_kind(event.kind)


def log_records(topics: TopicNames, events: Iterable[SimEvent]) -> Iterator[LogRecord]:
    """The events as an event log's records (topics without the prefix), as sent."""
    prefix = f"{topics.prefix}."
    for event in events:
        yield LogRecord(topic_of(topics, event).removeprefix(prefix), event.key, event.value)


def send_events(
    producer: KafkaProducer,
    topics: TopicNames,
    events: Iterable[SimEvent],
    speed: float = 0.0,
    on_send: Callable[[SimEvent], None] | None = None,
) -> int:
    """Send events in order. ``speed`` > 0 replays event time that many times faster than
    real time (1440: a day in a minute); 0 sends as fast as possible. Returns the count.

    Each record is stamped (its broker timestamp) as reaching Kafka at its event time, as
    simulated terminals deliver at once: lateness is that stamp less the event time
    (docs/detection.md), so simulated history is not late."""
    start_wall = time.monotonic()
    first = None
    sent = 0
    for event in events:
        if speed > 0:
            first = first or event.occurred_at
            due = start_wall + (event.occurred_at - first).total_seconds() / speed
            pause = due - time.monotonic()
            if pause > 0:
                producer.flush()
                time.sleep(pause)
        producer.send(
            topic_of(topics, event),
            key=event.key,
            value=event.value,
            partition=event.partition,
            timestamp_ms=int(event.occurred_at.timestamp() * 1000),  # delivered at once
        )
        sent += 1
        if on_send:
            on_send(event)
    producer.flush()
    return sent
