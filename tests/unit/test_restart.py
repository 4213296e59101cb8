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

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.clock import ManualClock
from alerts.track import CHECKPOINT
from models.events import AlertEvent, CheckIn, DeviceEvent, LocationFix, Tick
from scoring.rules import load_ruleset
from streams.pipeline import Pipeline, load_state
from tests.factories import INSIDE, T0, fix, registry
from tests.restarts import Run, play, timeline
from tests.unit.test_order_independence import SUBJECTS, days

M = timedelta(minutes=1)
S = timedelta(seconds=1)
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
    """Last seen at 00:00:40, stored at 00:00 (same hour, same place): the naive restart
    counted silence from 00:00 and alerted at 02:00, though the device was heard from at
    00:00:40 and 02:00:30."""
    records = [fix(1, 0 * M, INSIDE), fix(2, 40 * S, INSIDE), fix(3, 120 * M + 30 * S, INSIDE)]
    items = timeline(records, ticks(150 * M))
    restart = next(i for i, x in enumerate(items) if _time(x) >= T0 + 20 * M)
    base = play(pipeline(), [WHO], items)
    stored = load_state(play(pipeline(), [WHO], items[:restart]).stored[WHO])
    assert stored.detection.track.seen_at == T0  # the fix at 00:00:40 was not stored
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


def test_a_check_in_after_a_restart_in_a_run_of_suspect_fixes_is_judged() -> None:
    """Found by the property below (restart before SS-0012-c8, four records redelivered).
    The phone is at Luchao port at 08:51 (f6); f7 at 08:56 jumps impossibly fast (suspect,
    so stored); the worker restarts; the check-in at 09:01 is 10 minutes after f6. The
    uninterrupted run opened person_phone_separation there; the restarted one did not
    compare the check-in with a track read back, so that alert was never open, and the
    separation at 13:48 (c20, f21) opened a second alert the uninterrupted run never gave
    (one alert of a type is open at a time, and separation is resolved only by officers).
    A track stored in a run of suspect fixes holds the last plausible fix exactly: a later
    plausible fix ends the run, and that is stored."""
    who = "SS-0012"
    records = [
        _checkin(who, 1, 20),
        _fix(who, 2, 80, (30.5299, 122.3), 1500.0),
        _fix(who, 3, 85, (30.715, 122.455), 15.0),
        _fix(who, 4, 86, (30.7168, 122.456), 10.0),
        _fix(who, 5, 286, (30.8503, 121.85), 1500.0),
        _fix(who, 6, 291, (30.8499, 121.85), 60.0),  # Luchao port
        _fix(who, 7, 296, (30.4897, 122.3), 250.0),  # 58 km in 5 minutes: suspect
        _checkin(who, 8, 301),
        _fix(who, 9, 311, (30.5169, 122.3), 15.0),
        _fix(who, 10, 316, (30.5168, 122.3), 250.0),
        _fix(who, 11, 321, (30.4898, 122.3), 1500.0),
        _fix(who, 12, 323, (30.4898, 122.3), 1500.0),
        _checkin(who, 13, 338),
        _fix(who, 14, 538, (30.4901, 122.3), 4600.0),
        DeviceEvent(event_id=f"{who}-d15", subject_id=who, device_id=f"P-{who}",
                    occurred_at=T0 + 548 * M, event="power_off"),
        _fix(who, 16, 550, (30.53, 122.3), 60.0),
        _fix(who, 17, 552, (30.5168, 122.3), 15.0),
        DeviceEvent(event_id=f"{who}-d18", subject_id=who, device_id=f"P-{who}",
                    occurred_at=T0 + 557 * M, event="power_on"),
        _fix(who, 19, 558, (30.4898, 122.3), 60.0),
        _checkin(who, 20, 588),
        _fix(who, 21, 593, (30.5303, 122.3), 4600.0),
    ]  # fmt: skip
    items = timeline(records, ticks(660 * M))
    restart = next(i for i, x in enumerate(items) if getattr(x, "event_id", "") == f"{who}-c8")
    base = play(pipeline(), [who], items)
    again = play(pipeline(), [who], items, restart_at=restart, redelivered=4)
    opened = [
        (a.alert_id, a.evidence)
        for _, a in base.alerts
        if a.alert_type == "person_phone_separation" and a.transition == "opened"
    ]
    assert [e for _, e in opened] == [[f"{who}-c8", f"{who}-f6"]]
    assert _decided(again) == _decided(base)


def _decided(run: Run) -> list[tuple[str, str, tuple[str, ...]]]:
    return sorted((a.alert_id, a.transition, tuple(a.evidence)) for _, a in run.alerts)


def _fix(
    who: str, n: int, minute: int, where: tuple[float, float], accuracy_m: float
) -> LocationFix:
    lat, lon = where
    return LocationFix(
        event_id=f"{who}-f{n}",
        subject_id=who,
        device_id=f"P-{who}",
        occurred_at=T0 + minute * M,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy_m,
        source="gps",
    )


def test_a_check_in_after_a_restart_with_a_position_lost_alerts_as_without_it() -> None:
    """04:05 at the kiosk (stored: a new hour), 04:55 at sea 25 km away, restart, check-in
    05:01: compared with the fix at 04:55, as without the restart (the position moved,
    so it was stored)."""
    who = "SS-0012"
    records = [
        _fix(who, 1, 5, INSIDE, 10.0),
        _fix(who, 2, 55, (30.53, 122.3), 15.0),
        _checkin(who, 3, 61),
        _fix(who, 4, 200, (30.53, 122.3), 15.0),
        _checkin(who, 5, 202),
    ]
    items = timeline(records, ticks(300 * M))
    restart = next(i for i, x in enumerate(items) if getattr(x, "event_id", "") == f"{who}-c3")
    base = play(pipeline(), [who], items)
    again = play(pipeline(), [who], items, restart_at=restart)
    separation = {
        (a.alert_id, a.transition)
        for _, a in base.alerts
        if a.alert_type == "person_phone_separation"
    }
    assert {
        (a.alert_id, a.transition)
        for _, a in again.alerts
        if a.alert_type == "person_phone_separation"
    } == separation


def test_a_jump_after_a_restart_is_judged_from_the_last_fix() -> None:
    """04:19 at Caiyuan (stored: a new hour), 04:34 there again, restart; 04:39 at sea 25
    km away: 300 km/h from 04:34, 75 km/h from 04:19; 04:44 outside. The fix at 04:34
    refreshed the position (newer by ``position_refresh_s``), so it was stored."""
    who = "SS-0012"
    records = [
        _fix(who, 1, 19, INSIDE, 10.0),
        _fix(who, 2, 34, INSIDE, 10.0),
        _fix(who, 3, 39, (30.53, 122.3), 10.0),
        _fix(who, 4, 44, (30.49, 122.3), 10.0),
    ]
    items = timeline(records, ticks(60 * M))
    restart = next(i for i, x in enumerate(items) if getattr(x, "event_id", "") == f"{who}-f3")
    base = play(pipeline(), [who], items)
    again = play(pipeline(), [who], items, restart_at=restart)
    assert [a for _, a in base.alerts if a.alert_type == "out_of_bounds"] == []
    assert [a for _, a in again.alerts if a.alert_type == "out_of_bounds"] == []


def test_a_still_phone_is_stored_once_per_refresh_and_a_moving_one_per_step() -> None:
    """A phone reporting every 5 s for an hour: still (jitter of 30 m) it is stored when
    its position is refreshed (every minute) and at the new hour, not 720 times; driving
    150 m a fix, on every fix."""
    every = timedelta(seconds=5)
    still = [_fix(WHO, n, 0, (30.712 + (n % 3) * 1e-4, 122.451), 10.0) for n in range(720)]
    driving = [_fix(WHO, n, 0, (30.712 + n * 0.00135, 122.451), 10.0) for n in range(720)]
    for records, least, most in ((still, 60, 62), (driving, 720, 720)):
        timed = [
            msgspec.structs.replace(f, occurred_at=T0 + n * every) for n, f in enumerate(records)
        ]
        run = play(pipeline(), [WHO], timeline(timed, []))
        assert run.fixes == 720
        assert least <= run.writes <= most, (run.writes, least, most)


def _checkin(who: str, n: int, minute: int) -> CheckIn:
    return CheckIn(
        event_id=f"{who}-c{n}",
        subject_id=who,
        terminal_id="T-caiyuan-1",
        occurred_at=T0 + minute * M,
        method="face",
        match_score=0.95,
    )


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
    device is heard from again within that delay, not at all. Positions are judged
    exactly as without the restart: the one detectors read is always stored.
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
            assert alert.alert_type == "signal_lost", alert
