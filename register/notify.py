"""Tell the workers that the register changed: a record in every log they judge, so that
whatever comes after it in a log is judged with the change.

A worker judges records from several logs at once (the inputs, the control topic, the
groups and their sightings), each at its own pace, so a control record alone cannot order
a change before a fix that comes right after it: the fix's agent may read the fix before
the control agent has read the change. So the change is told in each log itself, after it
was committed: a :class:`RegisterChanged` without a key in every partition of every topic a
worker judges. An agent that reads one reads the register again (or waits for a read begun
since) before the next record of its log (:meth:`streams.worker.Worker.told`).

The internal topics are told first and the inputs only once the broker has them: a group's
fix or a sighting is sent by a worker after it applied an input record, so one caused by a
record behind the change in an input lies behind the change in its own log too.
"""

from __future__ import annotations

from datetime import UTC, datetime

from kafka import KafkaProducer

from models.events import RegisterChanged, encode
from models.ids import derive_id
from streams.topics import TopicNames


def tell_workers(
    bootstrap: str, topics: TopicNames, partitions: int, change: str, subject_id: str | None
) -> None:
    """Send :class:`RegisterChanged` to every partition of the topics workers judge: the
    control and internal topics, then the inputs; wait for the broker each time."""
    now = datetime.now(UTC)
    record = RegisterChanged(
        event_id=derive_id("register", change, subject_id or "", now.isoformat()),
        change=change,
        subject_id=subject_id,
        occurred_at=now,
    )
    value = encode(record)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="ccwatch-register")
    try:
        for stage in told(topics):
            sent = [
                producer.send(topic, value=value, partition=partition)
                for topic in stage
                for partition in range(partitions)
            ]
            for future in sent:  # on the broker (or raised) before the next stage
                future.get(timeout=10)
    finally:
        producer.close(timeout=5)


def told(topics: TopicNames) -> tuple[list[str], list[str]]:
    """The topics a register change is told in: first those whose records workers derive
    from the inputs' (and the control topic), then the inputs."""
    inputs = [t for t in topics.inputs() if t != topics.control]
    return [topics.control, topics.groups, topics.sightings], inputs
