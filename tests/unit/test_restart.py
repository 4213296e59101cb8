"""A restart gives no alert the uninterrupted run would not give.

A restarted worker gets back each subject's last stored state (written only on a decision,
a power-off, a run of suspect fixes, a device gone quiet, or a last-seen time in a new
checkpoint slot) and the records whose offsets were not committed; here the worst case:
every record before the restart was committed, so nothing is delivered again.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.clock import ManualClock
from alerts.track import CHECKPOINT
from models.events import AlertEvent, DeviceEvent, LocationFix, Tick
from scoring.rules import load_ruleset
from streams.pipeline import Pipeline, load_state
from tests.factories import INSIDE, T0, fix, registry
from tests.restarts import Run, play, timeline
from tests.unit.test_order_independence import SUBJECTS, days

M = timedelta(minutes=1)
WHO = "SS-0007"


def pipeline() -> Pipeline:
    return Pipeline(registry(), load_ruleset(), ManualClock(T0), 1e9)


def ticks(until: timedelta, every: timedelta = 5 * M) -> list[Tick]:
    n = int(until / every)
    return [Tick(event_id=f"tick-{i}", at=T0 + i * every) for i in range(1, n + 1)]


def raised(run: Run, items: list[Any]) -> list[tuple[datetime, AlertEvent]]:
    """Each alert transition with the event time at which it was decided."""
    return [(_time(items[step]), a) for step, a in run.alerts]


def _time(item: Any) -> datetime:
    return item.at if isinstance(item, Tick) else item.occurred_at


def signal_lost(run: Run) -> list[tuple[str, ...]]:
    return [
        (a.transition, *a.evidence)
        for _, a in run.alerts
        if a.alert_type == "signal_lost" and a.transition != "escalated"
    ]


def test_a_restored_last_seen_time_raises_no_false_signal_lost() -> None:
    """Last seen at 00:10, stored at 00:00 (same hour): the naive restart counted silence
    from 00:00 and alerted at 02:00, though the device was heard from at 00:10 and 02:08."""
    records = [fix(1, 0 * M, INSIDE), fix(2, 10 * M, INSIDE), fix(3, 128 * M, INSIDE)]
    items = timeline(records, ticks(150 * M))
    restart = next(i for i, x in enumerate(items) if _time(x) >= T0 + 20 * M)
    base = play(pipeline(), [WHO], items)
    stored = load_state(play(pipeline(), [WHO], items[:restart]).stored[WHO])
    assert stored.detection.track.seen_at == T0  # the fix at 00:10 was not stored
    again = play(pipeline(), [WHO], items, restart_at=restart)
    assert signal_lost(base) == signal_lost(again) == []


def test_a_silence_under_way_at_a_restart_is_judged_exactly() -> None:
    """Quiet for an hour (half the threshold): stored with its exact last-seen time."""
    records = [fix(1, 0 * M, INSIDE), fix(2, 10 * M, INSIDE), fix(3, 200 * M, INSIDE)]
    items = timeline(records, ticks(210 * M))
    base = play(pipeline(), [WHO], items)
    expected = [
        ("opened", f"silent_since:{(T0 + 10 * M).isoformat()}"),
        ("resolved", "fix-SS-0007-3"),
    ]
    assert signal_lost(base) == expected
    for minute in (75, 100, 125, 140):  # restarts after the device went quiet
        restart = next(i for i, x in enumerate(items) if _time(x) >= T0 + minute * M)
        again = play(pipeline(), [WHO], items, restart_at=restart)
        assert signal_lost(again) == expected
        assert raised(again, items) == raised(base, items)


def test_a_silence_begun_just_before_a_restart_alerts_late_never_early() -> None:
    """Restarted 20 minutes into a silence: the last-seen time read back may be stale, so
    silence counts from the end of its checkpoint slot: later, by less than the slot."""
    records = [fix(1, 0 * M, INSIDE), fix(2, 10 * M, INSIDE), fix(3, 300 * M, INSIDE)]
    items = timeline(records, ticks(310 * M))
    base = play(pipeline(), [WHO], items)
    restart = next(i for i, x in enumerate(items) if _time(x) >= T0 + 30 * M)
    again = play(pipeline(), [WHO], items, restart_at=restart)
    [(at, _)] = [(t, a) for t, a in raised(base, items) if a.transition == "opened"]
    [(late, alert)] = [(t, a) for t, a in raised(again, items) if a.transition == "opened"]
    assert alert.alert_type == "signal_lost" and at <= late < at + CHECKPOINT


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days(), st.integers(0, 10_000), st.integers(0, 6))
def test_a_restart_anywhere_gives_no_alert_the_uninterrupted_run_would_not(
    records: list[Any], seed: int, redelivered: int
) -> None:
    """A generated day (fixes in and out of the county, check-ins, power off and on, gaps
    of up to 200 minutes): restarted at a random record, the worker raises nothing the
    uninterrupted run does not. The one difference allowed: a signal_lost whose silence
    began less than half the threshold before the restart may come later (by less than a
    checkpoint slot: then its evidence names the last-seen time it knew) or, when the
    device is heard from again within that delay, not at all; and a check-in right after
    the restart is not compared with a position read back (person-phone separation).
    Records processed before the restart whose offsets were not yet committed come again
    (``redelivered``): those whose effects were stored are recognised as applied."""
    items = timeline(records, ticks(660 * M))
    restart = random.Random(seed).randrange(1, len(items))
    base = play(pipeline(), SUBJECTS, items)
    again = play(pipeline(), SUBJECTS, items, restart_at=restart, redelivered=redelivered)
    done = {(a.alert_id, a.transition) for _, a in base.alerts}
    for at, alert in raised(again, items):
        if (alert.alert_id, alert.transition) in done:
            continue
        assert alert.alert_type == "signal_lost", alert
        if alert.transition != "opened":
            continue
        earlier = [
            t
            for t, a in raised(base, items)
            if a.alert_type == "signal_lost"
            and a.transition == "opened"
            and a.subject_id == alert.subject_id
        ]
        assert any(at - CHECKPOINT < t <= at for t in earlier), alert  # late, not false
        threshold = timedelta(hours=2)  # normal policy, no security period, no grace
        heard = [
            r
            for r in records
            if r.subject_id == alert.subject_id
            and at - threshold < r.occurred_at <= at
            and isinstance(r, LocationFix | DeviceEvent)
        ]
        assert not heard, alert  # the device was silent for the threshold
    kept = {(a.alert_id, a.transition) for _, a in again.alerts}
    for step, alert in base.alerts:
        if step >= restart and (alert.alert_id, alert.transition) not in kept:
            assert alert.alert_type in ("signal_lost", "person_phone_separation"), alert
