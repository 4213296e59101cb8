"""Alerts as they are published, fanned out to the pages that are open (server-sent events)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from models.events import AlertAction, AlertEvent, Rejection, decode, encode
from streams.topics import TopicNames

log = logging.getLogger(__name__)


class AlertFeed:
    """One consumer of the alerts topic (from now on) and a queue per open page."""

    def __init__(self, bootstrap: str, topics: TopicNames) -> None:
        self.bootstrap, self.topics = bootstrap, topics
        self.listeners: set[asyncio.Queue[AlertEvent]] = set()
        self._task: asyncio.Task[None] | None = None
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await self._producer.start()
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._producer:
            await self._producer.stop()

    async def act(self, action: AlertAction) -> None:
        """Send an officer's action to the workers (who decide what it changes)."""
        assert self._producer is not None, "the feed is not started"
        await self._producer.send_and_wait(
            self.topics.actions, key=action.subject_id.encode(), value=encode(action)
        )

    def listen(self) -> asyncio.Queue[AlertEvent]:
        queue: asyncio.Queue[AlertEvent] = asyncio.Queue(maxsize=1000)
        self.listeners.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[AlertEvent]) -> None:
        self.listeners.discard(queue)

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topics.alerts,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            auto_offset_reset="latest",
        )
        await consumer.start()
        try:
            async for record in consumer:
                alert = decode(record.value, AlertEvent)
                if isinstance(alert, Rejection):
                    continue
                for queue in list(self.listeners):
                    with contextlib.suppress(asyncio.QueueFull):  # a stalled page misses some
                        queue.put_nowait(alert)
        finally:
            await consumer.stop()
