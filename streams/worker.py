"""What a worker's agents share: the app, its topics and tables, the decision pipeline, and
the subjects' live state. Each wiring module (inputs, gathering, control, outputs, timers)
registers its agents and timers on one :class:`Worker`."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from faust.exceptions import ConsumerNotStarted
from faust.types import TP, EventT, TopicT

from alerts.clock import Clock
from alerts.order import Partition
from ccwatch.settings import Settings
from models.events import AlertEvent, LocationFix, Rejection, encode
from streams import metrics
from streams.pipeline import Outcome, Pipeline, SubjectState, dump_state, load_state
from streams.sink import DatabaseSink

log = logging.getLogger("streams")
INPUTS = ("checkins", "locations", "activities", "decisions", "alert-actions", "devices")


def short(topic: str) -> str:
    """The topic without its deployment prefix: a bounded metric label."""
    return topic.rsplit(".", 1)[-1]


@dataclass
class Worker:
    app: faust.App
    settings: Settings
    pipeline: Pipeline
    sink: DatabaseSink
    clock: Clock
    topics: dict[str, TopicT] = field(default_factory=dict)  # by short name
    tables: dict[str, Any] = field(default_factory=dict)
    # Subjects' states as of their latest record; the table holds the durable version.
    live: dict[bytes, SubjectState] = field(default_factory=dict)
    # The last offset processed per input topic partition (to tell what is caught up).
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    # Per partition of the co-partitioned inputs: its event time, and the valid records
    # waiting for it to pass them (alerts.order.Partition).
    flows: dict[int, Partition[Any]] = field(default_factory=dict)
    # Positions for the map, written in batches by a timer.
    fixes: list[LocationFix] = field(default_factory=list)

    def topic(self, name: str) -> TopicT:
        """An input or output topic by its short name (raw bytes, keyed by subject)."""
        if name not in self.topics:
            full = f"{self.settings.topic_prefix}.{name}"
            self.topics[name] = self.app.topic(
                full, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
            )
        return self.topics[name]

    def flow(self, partition: int) -> Partition[Any]:
        if partition not in self.flows:
            lateness = timedelta(seconds=self.pipeline.policy.lateness_s)
            self.flows[partition] = Partition(lateness)
        return self.flows[partition]

    def highwater(self, topic: str, partition: int) -> int | None:
        """The partition's high watermark as of the last fetch (None before any)."""
        try:
            return self.app.consumer.highwater(TP(topic, partition))
        except ConsumerNotStarted:
            return None

    def lagging(self, partition: int) -> list[str]:
        """The inputs of a partition with records on the broker not yet read, as far as
        the last fetch tells (an input not read since assignment counts as caught up)."""
        out = []
        for name in INPUTS:
            topic = f"{self.settings.topic_prefix}.{name}"
            done = self.offsets.get((topic, partition))
            if done is not None and done + 1 < (self.highwater(topic, partition) or 0):
                out.append(name)
        return out

    async def lagging_now(self, partition: int) -> list[str]:
        """:meth:`lagging`, also asking where an input not read yet stands."""
        out = self.lagging(partition)
        for name in INPUTS:
            topic = f"{self.settings.topic_prefix}.{name}"
            if (topic, partition) in self.offsets:
                continue
            high = self.highwater(topic, partition)
            with contextlib.suppress(ConsumerNotStarted):
                position = await self.app.consumer.position(TP(topic, partition))
                if high is not None and position is not None and position < high:
                    out.append(name)
        return out

    def current(self, key: bytes) -> SubjectState:
        found = self.live.get(key)
        return found if found is not None else load_state(self.tables["subjects"].get(key))

    async def publish(self, key: bytes, current: SubjectState, outcome: Outcome) -> None:
        """Keep the subject's new state, store it when it must survive a restart, and
        publish what was decided."""
        self.live[key] = outcome.state
        if outcome.durable(current):
            self.tables["subjects"][key] = dump_state(outcome.state)
        for alert in outcome.alerts:
            await self.topic("alerts").send(key=key, value=encode(alert))
            count_alert(alert)
        for entry in outcome.points:
            await self.topic("points").send(key=key, value=encode(entry))
            metrics.POINTS.labels(entry.rule_id).inc()
        for rec in outcome.recommendations:
            await self.topic("recommendations").send(key=key, value=encode(rec))

    async def reject(self, event: EventT[Any], why: Rejection) -> None:
        """Dead-letter a record unchanged, with the reason and where it came from."""
        msg = event.message
        log.warning("dead-letter %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, why.reason)
        metrics.EVENTS.labels(short(msg.topic), "dead_lettered", why.reason).inc()
        await self.topic("dead-letter").send(
            key=msg.key,
            value=msg.value,
            headers=[
                ("ccwatch.reason", why.reason.encode()),
                ("ccwatch.detail", why.detail.encode()),
                ("ccwatch.topic", msg.topic.encode()),
                ("ccwatch.partition", str(msg.partition).encode()),
                ("ccwatch.offset", str(msg.offset).encode()),
            ],
        )


def count_alert(alert: AlertEvent) -> None:
    metrics.TRANSITIONS.labels(alert.alert_type, alert.transition).inc()
    if alert.transition == "opened":
        metrics.ALERTS.labels(alert.alert_type, alert.severity).inc()
        delay = (datetime.now(UTC) - alert.occurred_at).total_seconds()
        metrics.ALERT_LATENCY.labels(alert.alert_type).observe(max(delay, 0.0))
    elif alert.transition == "escalated" and alert.evidence == ["sla"]:
        metrics.SLA_BREACHES.labels(alert.alert_type).inc()
