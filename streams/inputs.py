"""The input agents: validate each record, apply it to its subject's state, publish what it
decides, and forward co-offenders' fixes to their group."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from faust.types import StreamT

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
from streams.pipeline import Outcome, SubjectState
from streams.worker import Worker, log

V = TypeVar("V", CheckIn, LocationFix, Activity, Decision, AlertAction, DeviceEvent)
MAX_BUFFERED_FIXES = 100_000  # positions for the map are a copy; the topic keeps them all
INPUTS = ("checkins", "locations", "activities", "decisions", "alert-actions", "devices")


def register(w: Worker) -> None:
    p = w.pipeline
    steps: dict[str, tuple[Callable[..., Any], Callable[..., Outcome]]] = {
        "checkins": (p.validate_checkin, p.apply_checkin),
        "locations": (p.validate_location, p.apply_location),
        "activities": (p.validate_activity, p.apply_activity),
        "decisions": (p.validate_decision, p.apply_decision),
        "alert-actions": (p.validate_action, p.apply_action),
        "devices": (p.validate_device, p.apply_device),
    }
    for name, (validate, apply) in steps.items():
        _agent(w, name, validate, apply)


def _agent(
    w: Worker,
    name: str,
    validate: Callable[[bytes, bytes | None], V | Rejection],
    apply: Callable[[SubjectState, V], Outcome],
) -> None:
    async def process(stream: StreamT[bytes]) -> None:
        """Validate each record, apply it to its subject's state, publish what it decides."""
        ok = metrics.EVENTS.labels(name, "ok", "")
        late = metrics.LATE.labels(name)
        seconds = metrics.PROCESSING.labels(name)
        async for event in stream.events():
            started = time.perf_counter()
            msg = event.message
            w.offsets[msg.topic, msg.partition] = msg.offset
            valid = validate(event.value, event.key)
            if isinstance(valid, Rejection):
                await w.reject(event, valid)
                continue
            w.watermarks[msg.partition].saw(name, valid.occurred_at)
            current = w.current(event.key)
            judged = current.detection.at
            if judged is not None and valid.occurred_at < judged:
                late.inc()  # event time already judged past it: applied as it comes
            try:
                outcome = apply(current, valid)
            except Exception as exc:  # a bug must not stop the partition: park the record
                log.exception("processing failed")
                await w.reject(event, Rejection("processing_error", type(exc).__name__))
                continue
            if outcome.rejected is not None:
                await w.reject(event, outcome.rejected)
            else:
                ok.inc()
            await w.publish(event.key, current, outcome)
            seconds.observe(time.perf_counter() - started)
            if isinstance(valid, LocationFix):
                await _located(w, msg.partition, valid)

    w.app.agent(w.topic(name), name=name)(process)


async def _located(w: Worker, partition: int, fix: LocationFix) -> None:
    """A fix goes to the map (batched by a timer) and, for a co-offender, to the group."""
    w.fixes.append(fix)
    if len(w.fixes) > MAX_BUFFERED_FIXES:  # the database is down: keep the newest
        del w.fixes[: len(w.fixes) - MAX_BUFFERED_FIXES]
    group = w.pipeline.group_of(fix.subject_id)
    if group is not None:
        record = GroupFix(source=partition, fix=fix)
        await w.topic("groups").send(key=group.encode(), value=encode(record))
