"""A worker restarted in the same consumer group gets its subjects' state back from the
table's changelog: an open alert stays open, no second one is raised."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from models.events import AlertEvent, decode
from tests.integration.harness import System
from tests.integration.test_detection import fix

M = timedelta(minutes=1)
FAR_OUT, SOUTH_IN = (30.400, 122.300), (30.530, 122.300)


def transitions(system: System, who: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for r in system.records(system.settings.topics.alerts):
        a = decode(r.value, AlertEvent)
        if isinstance(a, AlertEvent) and a.subject_id == who and a.alert_type == "out_of_bounds":
            out.append((a.alert_id, a.transition))
    return out


def test_state_survives_a_restart_in_the_same_group(system: System) -> None:
    t, now = system.settings.topics, datetime.now(UTC)
    # Many subjects' state in the table, so the changelog has multi-record batches.
    for n in range(20):
        who = f"SS-{n + 1:04d}"
        system.send(t.locations, who.encode(), fix(1, who, now - 60 * M, SOUTH_IN))
    system.send(t.locations, b"SS-0003", fix(2, "SS-0003", now - 40 * M, FAR_OUT))
    [(alert_id, _)] = system.wait_for("the alert", lambda: transitions(system, "SS-0003"), 90)
    time.sleep(2)  # the changelog is written
    system.stop_workers()
    system.start_worker()  # the same consumer group: the table is recovered
    system.send(t.locations, b"SS-0003", fix(3, "SS-0003", now - 30 * M, FAR_OUT))
    system.send(t.locations, b"SS-0003", fix(4, "SS-0003", now - 10 * M, SOUTH_IN))
    steps = system.wait_for(  # a loaded machine: the restart's recovery and join take long
        "the resolution", lambda: len(s := transitions(system, "SS-0003")) >= 2 and s, 90
    )
    assert steps == [(alert_id, "opened"), (alert_id, "resolved")]
