"""The input agents: validate each record, hold it until its partition's event time passes
it, then apply it to its subject's state in event-time order and publish what it decides.

A held record is acknowledged only once applied, so a crash loses nothing: Kafka delivers
it again. Co-offenders' fixes are forwarded to their group once applied. A register change
told in an input's log (:mod:`register.notify`) is waited for: the records behind it are
validated and judged only once the register read after it is in use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from faust.types import EventT, StreamT

from models.events import (
    Activity,
    AlertAction,
    CheckIn,
    Decision,
    DeviceEvent,
    GroupFix,
    LocationFix,
    Rejection,
    encode,
)
from streams import metrics
from streams.guard import persist
from streams.pipeline import Step
from streams.worker import Ticket, Worker, log

V = TypeVar("V", CheckIn, LocationFix, Activity, Decision, AlertAction, DeviceEvent)
SHARED = "locations"  # the input whose validations the map's sink takes (Worker.validated)
MAX_HELD = 200_000  # records a worker holds for order; past it the oldest go regardless


@dataclass(slots=True)
class Held:
    """A valid record waiting for event time to pass it."""

    name: str
    ticket: Ticket  # acknowledged once applied
    event: EventT[bytes]
    key: bytes
    record: Any
    apply: Step


def register(w: Worker) -> None:
    for name, (validate, apply) in w.pipeline.steps().items():
        _agent(w, name, validate, apply)


def _agent(
    w: Worker,
    name: str,
    validate: Callable[[bytes, bytes | None], V | Rejection | list[V | Rejection]],
    apply: Step,
) -> None:
    async def process(stream: StreamT[bytes]) -> None:
        """Validate each record, hold it, apply what event time has passed."""
        manual: Any = stream.noack()  # type: ignore[attr-defined]
        async for event in manual.events():
            msg, ticket = event.message, w.deliver(manual, event)
            w.delivered(msg.topic, msg.partition, msg.offset)
            valid = validate(event.value, event.key)
            if name == SHARED:  # the map's sink reads these records too
                w.validated.put(msg.partition, msg.offset, valid)
            if isinstance(valid, Rejection):
                if not await w.told(event):  # a register change: what follows waits for it
                    await w.dead_letter(event, valid)
                await w.finish(ticket)
                continue
            records = valid if isinstance(valid, list) else [valid]  # a batch: its fixes
            ticket.pending = len(records)  # acknowledged once every one is done
            terminal = getattr(records[0], "terminal_id", None)  # a kiosk (phones: subject)
            if terminal is not None:
                metrics.TERMINAL_LAST_RECORD.labels(terminal).set_to_current_time()
            flow, partition = w.flow(msg.partition), msg.partition
            async with w.turn(partition):
                lagging, ready = w.lagging(partition), []
                for record in records:
                    if isinstance(record, Rejection):  # one fix of a batch: the rest go on
                        await w.dead_letter(event, record)
                        await w.finish(ticket)
                        continue
                    held = Held(name, ticket, event, event.key, record, apply)
                    ready += flow.arrive(name, record.occurred_at, record.event_id, held, lagging)
                await release(w, partition, ready)

    w.app.agent(w.topic(name), name=name)(process)


async def release(w: Worker, partition: int, ready: list[Held]) -> None:
    """Apply the records released, in their order (and, when too many are held, the
    oldest regardless). The caller holds the partition's turn (:meth:`Worker.turn`)."""
    buffer = w.flow(partition).held
    if len(buffer) > MAX_HELD:  # one input far ahead of another: order gives way to memory
        forced = buffer.oldest(len(buffer) - MAX_HELD // 2)
        metrics.FORCED.inc(len(forced))
        ready += forced
    for held in ready:
        # A send the broker refuses is tried again (the state is kept only once sent);
        # a broker that stays away ends the worker (streams.watchdog).
        await persist(f"publishing {held.name}", _apply, w, partition, held)


async def _apply(w: Worker, partition: int, held: Held) -> None:
    started, name, event, record = time.perf_counter(), held.name, held.event, held.record
    current = w.current(held.key)
    if w.stale(event):
        return  # not acknowledged: the partition's owner applies it
    judged = current.detection.at
    if judged is not None and record.occurred_at < judged:
        metrics.child(metrics.LATE, name).inc()  # event time already judged past it
    try:
        outcome = held.apply(current, record, received_at(event))
    except Exception as exc:  # a bug must not stop the partition: park the record
        log.exception("processing failed")
        await w.dead_letter(event, Rejection("processing_error", type(exc).__name__))
        await w.finish(held.ticket)
        return
    if outcome.rejected is not None:
        await w.dead_letter(event, outcome.rejected)
    elif outcome.duplicate:  # a retry or a redelivery: already applied
        metrics.child(metrics.DUPLICATES, name).inc()
    else:
        metrics.child(metrics.EVENTS, name, "ok", "").inc()
    if outcome.late:
        metrics.child(metrics.LATE_ARRIVALS, name).inc()
    if outcome.unapproved:
        metrics.child(metrics.UNAPPROVED, name).inc()
    if w.stale(event):
        return
    await w.publish(held.key, current, outcome, held.ticket)
    if isinstance(record, LocationFix) and outcome.judged:
        await _located(w, partition, record)
    await w.finish(held.ticket)  # after everything it caused was sent
    metrics.child(metrics.PROCESSING, name).observe(time.perf_counter() - started)


def received_at(event: EventT[bytes]) -> datetime | None:
    """When the record reached Kafka: its broker timestamp (Faust gives seconds)."""
    stamp = event.message.timestamp
    return datetime.fromtimestamp(stamp, UTC) if stamp else None


async def _located(w: Worker, partition: int, fix: LocationFix) -> None:
    """A co-offender's fix goes on to the group (the map reads the topic itself)."""
    group = w.pipeline.group_of(fix.subject_id)
    if group is not None:
        record = GroupFix(source=partition, fix=fix)
        await w.topic("groups").send(key=group.encode(), value=encode(record))
