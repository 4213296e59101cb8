"""Alerts as they are published, fanned out to the pages that are open (server-sent events),
and the outcome of each officer's action: accepted (the worker published its transition) or
rejected (the worker dead-lettered it, with the reason)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from models.events import AlertAction, AlertEvent, Rejection, decode, encode
from streams.topics import TopicNames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActionOutcome:
    """What the workers made of an officer's action."""

    action_id: str
    alert_id: str
    action: str
    officer_id: str
    accepted: bool
    reason: str = ""


Item = AlertEvent | ActionOutcome


class AlertFeed:
    """One consumer of the alerts and dead-letter topics (from now on) and a queue per open
    page; ``on_outcome`` is told each action's outcome (the app audits it)."""

    def __init__(
        self,
        bootstrap: str,
        topics: TopicNames,
        on_outcome: Callable[[ActionOutcome], None] | None = None,
    ) -> None:
        self.bootstrap, self.topics, self.on_outcome = bootstrap, topics, on_outcome
        self.listeners: set[asyncio.Queue[Item]] = set()
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

    def listen(self) -> asyncio.Queue[Item]:
        queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=1000)
        self.listeners.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[Item]) -> None:
        self.listeners.discard(queue)

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topics.alerts,
            self.topics.dead_letter,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            auto_offset_reset="latest",
        )
        await consumer.start()
        try:
            async for record in consumer:
                for item in self.items(record.topic, record.value, dict(record.headers or ())):
                    if isinstance(item, ActionOutcome) and self.on_outcome is not None:
                        try:
                            await asyncio.to_thread(self.on_outcome, item)
                        except Exception:  # the audit must not stop the feed
                            log.exception("recording an action's outcome failed")
                    for queue in list(self.listeners):
                        with contextlib.suppress(asyncio.QueueFull):  # a stalled page misses some
                            queue.put_nowait(item)
        finally:
            await consumer.stop()

    def items(self, topic: str, value: bytes | None, headers: dict[str, bytes]) -> list[Item]:
        """What a record of the alerts or dead-letter topic tells the pages."""
        if value is None:
            return []
        if topic == self.topics.alerts:
            alert = decode(value, AlertEvent)
            if isinstance(alert, Rejection):
                return []
            if alert.actor == "system" or alert.transition == "opened" or not alert.evidence:
                return [alert]
            done = ActionOutcome(
                alert.evidence[0], alert.alert_id, _ACTIONS.get(alert.transition, ""),
                alert.actor, accepted=True,
            )  # fmt: skip
            return [alert, done]
        if headers.get("ccwatch.topic", b"").decode() != self.topics.actions:
            return []
        action = decode(value, AlertAction)
        if isinstance(action, Rejection):
            return []
        why = headers.get("ccwatch.detail") or headers.get("ccwatch.reason") or b""
        return [
            ActionOutcome(
                action.event_id, action.alert_id, action.action, action.officer_id,
                accepted=False, reason=why.decode(errors="replace"),
            )
        ]  # fmt: skip


_ACTIONS = {"acknowledged": "acknowledge", "dispatched": "dispatch", "resolved": "resolve"}
