"""A worker's restart, modelled without Faust: what it stores of each subject and what it
gets back (used by tests/unit/test_restart.py and bench/restart.py).

Records are applied in event-time order with ticks between them, as the workers and replay
apply them; a subject's state is stored (a changelog record) whenever
:meth:`~streams.pipeline.Outcome.durable` says so. A restart forgets the live states: each
subject is read back from its last stored version (:func:`~streams.pipeline.restore_state`)
and the records whose offsets were not committed are delivered again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerts.clock import ManualClock
from alerts.order import RANK, Key, order
from models.events import Activity, AlertEvent, CheckIn, DeviceEvent, LocationFix, Tick
from streams.pipeline import Outcome, Pipeline, SubjectState, dump_state, restore_state

TOPIC: dict[type[Any], str] = {
    CheckIn: "checkins",
    LocationFix: "locations",
    DeviceEvent: "devices",
    Activity: "activities",
}


def timeline(records: Iterable[Any], ticks: Iterable[Tick]) -> list[Any]:
    """Records in event-time order, each tick after the records of its instant."""
    keyed: list[tuple[Key, Any]] = [
        (order(r.occurred_at, TOPIC[type(r)], r.event_id), r) for r in records
    ]
    keyed += [((t.at, len(RANK) + 1, t.event_id), t) for t in ticks]
    keyed.sort(key=lambda item: item[0])
    return [item for _, item in keyed]


@dataclass
class Run:
    """One worker over a timeline; ``stored`` is its table, ``writes`` its changelog."""

    pipeline: Pipeline
    subjects: Sequence[str]
    live: dict[str, SubjectState] = field(default_factory=dict)
    stored: dict[str, bytes] = field(default_factory=dict)
    writes: int = 0
    fixes: int = 0
    alerts: list[tuple[int, AlertEvent]] = field(default_factory=list)  # (step, alert)

    def current(self, who: str) -> SubjectState:
        found = self.live.get(who)
        return found if found is not None else restore_state(self.stored.get(who))

    def keep(self, step: int, who: str, before: SubjectState, outcome: Outcome) -> None:
        self.live[who] = outcome.state
        if outcome.durable(before):
            self.stored[who] = dump_state(outcome.state)
            self.writes += 1
        self.alerts += [(step, a) for a in outcome.alerts]

    def apply(self, step: int, item: Any) -> None:
        clock = self.pipeline.clock
        assert isinstance(clock, ManualClock)
        at: datetime = item.at if isinstance(item, Tick) else item.occurred_at
        clock.set(max(clock.now(), at))  # processing time follows event time, as live
        p = self.pipeline
        if isinstance(item, Tick):
            for who in self.subjects:
                before = self.current(who)
                self.keep(step, who, before, p.tick(before, who, item))
            return
        before = self.current(item.subject_id)
        self.fixes += isinstance(item, LocationFix)
        _, apply = p.steps()[TOPIC[type(item)]]
        self.keep(step, item.subject_id, before, apply(before, item, None))

    def restart(self) -> None:
        """The process ends: only what was stored survives."""
        self.live.clear()


def play(
    pipeline: Pipeline,
    subjects: Sequence[str],
    items: Sequence[Any],
    restart_at: int | None = None,
    redelivered: int = 0,
) -> Run:
    """Apply ``items``; with ``restart_at``, the worker restarts before that step, and the
    ``redelivered`` records before it (processed, their offsets not yet committed) come
    again."""
    run = Run(pipeline, subjects)
    for step, item in enumerate(items):
        if step == restart_at:
            run.restart()
            for again in range(max(0, step - redelivered), step):
                run.apply(again, items[again])
        run.apply(step, item)
    return run
