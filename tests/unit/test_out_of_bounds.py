"""The out-of-bounds detector: pure, event time, one open alert, auto-resolution."""

from __future__ import annotations

from datetime import timedelta

from alerts.geofence import Area
from alerts.out_of_bounds import BoundaryState, observe
from ccwatch.reference import shengsi
from models.events import AlertEvent, LocationFix
from models.registry import LeaveWindow
from tests.factories import INSIDE, OUTSIDE, T0, fix, leave, registry

COUNTY = Area(shengsi().county)
SUBJECT = registry().subjects["SS-0007"]
NOW = T0 + timedelta(hours=6)
M = timedelta(minutes=1)


def run(
    fixes: list[LocationFix], leaves: tuple[LeaveWindow, ...] = ()
) -> tuple[BoundaryState, list[AlertEvent]]:
    state, out = BoundaryState(), []
    for f in fixes:
        state, alerts = observe(state, f, SUBJECT, COUNTY, leaves, NOW)
        out += alerts
    return state, out


def test_inside_raises_nothing() -> None:
    state, alerts = run([fix(i, i * M, INSIDE) for i in range(5)])
    assert alerts == [] and state == BoundaryState()


def test_leaving_opens_one_alert_naming_rule_and_evidence() -> None:
    state, alerts = run([fix(1, M, INSIDE), fix(2, 2 * M, OUTSIDE), fix(3, 3 * M, OUTSIDE)])
    [opened] = alerts
    assert opened.transition == "opened" and opened.alert_type == "out_of_bounds"
    assert opened.rule == "out_of_bounds/1" and opened.evidence == ["fix-SS-0007-2"]
    assert opened.occurred_at == T0 + 2 * M and opened.recorded_at == NOW
    assert opened.office_id == "caiyuan" and opened.zone == "central"
    assert "km outside the county" in opened.reason_en and "公里" in opened.reason_zh
    assert state.open_alert_id == opened.alert_id


def test_returning_auto_resolves_and_a_new_departure_is_a_new_alert() -> None:
    _, alerts = run([fix(1, M, OUTSIDE), fix(2, 2 * M, INSIDE), fix(3, 3 * M, OUTSIDE)])
    assert [a.transition for a in alerts] == ["opened", "resolved", "opened"]
    assert alerts[0].alert_id == alerts[1].alert_id != alerts[2].alert_id
    assert alerts[1].reason_en.startswith("auto-resolved")


def test_redelivered_fix_yields_the_same_alert_id_and_no_second_alert() -> None:
    first = fix(1, M, OUTSIDE)
    _, once = run([first])
    state, twice = run([first, first])
    assert len(twice) == 1 and twice[0].alert_id == once[0].alert_id
    assert observe(state, first, SUBJECT, COUNTY, (), NOW) == (state, [])


def test_late_fix_older_than_the_last_transition_changes_nothing() -> None:
    _, alerts = run([fix(2, 10 * M, OUTSIDE), fix(1, 5 * M, INSIDE)])
    assert [a.transition for a in alerts] == ["opened"]


def test_approved_leave_suppresses_and_its_end_matters() -> None:
    window = (leave(0 * M, 60 * M),)
    _, during = run([fix(1, 10 * M, OUTSIDE), fix(2, 50 * M, OUTSIDE)], window)
    assert during == []
    _, after = run([fix(1, 10 * M, OUTSIDE), fix(2, 61 * M, OUTSIDE)], window)
    assert [a.transition for a in after] == ["opened"]


def test_leave_approved_while_outside_resolves_the_alert() -> None:
    window = (leave(30 * M, 120 * M, "Ningbo"),)
    _, alerts = run([fix(1, 10 * M, OUTSIDE), fix(2, 40 * M, OUTSIDE)], window)
    assert [a.transition for a in alerts] == ["opened", "resolved"]
    assert "Ningbo" in alerts[1].reason_en


def test_area_distance_to_edge_is_geodesic_metres() -> None:
    metres = COUNTY.distance_to_edge_m(*OUTSIDE)
    assert 5_000 < metres < 30_000
    assert COUNTY.contains(*INSIDE) and not COUNTY.contains(*OUTSIDE)
