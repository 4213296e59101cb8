"""Scenario tests for every detector and lifecycle step, with a controlled clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
import pytest

from alerts import engine, gathering, out_of_bounds
from alerts.clock import ManualClock
from models.events import AlertAction, AlertEvent, DeviceEvent, Tick
from models.values import Registry, SecurityPeriod
from scoring.rules import load_ruleset
from streams.pipeline import EMPTY_STATE, Outcome, Pipeline, SubjectState
from tests.factories import INSIDE, OUTSIDE, T0, checkin, fix, leave, registry

M, H = timedelta(minutes=1), timedelta(hours=1)
NEAR_OUT = (30.490, 122.300)  # 3.3 km south of the county's south edge (lat 30.52)
EDGE_OUT = (30.517, 122.300)  # 330 m outside that edge
FAR_OUT = (30.400, 122.300)  # 13 km out
SOUTH_IN = (30.530, 122.300)  # 1.1 km inside that edge (open sea, within the county)
WHO = "SS-0007"


class Scenario:
    """One subject's records through the pipeline; every alert transition kept."""

    def __init__(self, reg: Registry | None = None, who: str = WHO) -> None:
        self.clock = ManualClock(T0)  # processing time: follows the inputs, as live
        self.pipeline = Pipeline(reg or registry(), load_ruleset(), self.clock, 300)
        self.who, self.n = who, 0
        self.states: dict[str, SubjectState] = {}
        self.alerts: list[AlertEvent] = []
        self.points: list[Any] = []

    def at(self, when: timedelta) -> None:
        """Records are processed as they happen (the clock never goes back)."""
        self.clock.set(max(self.clock.now(), T0 + when))

    def _take(self, subject: str, out: Outcome) -> Outcome:
        self.states[subject] = out.state
        self.alerts += out.alerts
        self.points += out.points
        return out

    def state(self, subject: str | None = None) -> SubjectState:
        return self.states.get(subject or self.who, EMPTY_STATE)

    def fix(
        self,
        at: timedelta,
        where: tuple[float, float],
        accuracy: float = 15.0,
        who: str | None = None,
    ) -> Outcome:
        self.n += 1
        self.at(at)
        who = who or self.who
        event = fix(self.n, at, where, subject=who, accuracy_m=accuracy)
        return self._take(who, self.pipeline.apply_location(self.state(who), event))

    def tick(self, at: timedelta, who: str | None = None) -> Outcome:
        who = who or self.who
        self.at(at)
        tick = Tick(event_id=f"tick-{at}", at=T0 + at)
        return self._take(who, self.pipeline.tick(self.state(who), who, tick))

    def device(self, at: timedelta, what: Any) -> Outcome:
        self.n += 1
        self.at(at)
        event = DeviceEvent(
            event_id=f"dev-{self.n}",
            subject_id=self.who,
            device_id="P",
            occurred_at=T0 + at,
            event=what,
        )
        return self._take(self.who, self.pipeline.apply_device(self.state(), event))

    def act(self, at: timedelta, action: Any, **more: Any) -> Outcome:
        self.n += 1
        self.at(at)
        alert_id = more.pop("alert_id", None) or self.alerts[-1].alert_id
        event = AlertAction(
            event_id=f"act-{self.n}",
            subject_id=self.who,
            alert_id=alert_id,
            action=action,
            officer_id="O-caiyuan-1",
            occurred_at=T0 + at,
            **more,
        )
        return self._take(self.who, self.pipeline.apply_action(self.state(), event))

    def boundary(self) -> out_of_bounds.BoundaryState:
        state = engine.state_of(self.state().detection, out_of_bounds.DETECTOR)
        assert isinstance(state, out_of_bounds.BoundaryState)
        return state

    def steps(self, kind: str, who: str | None = None) -> list[str]:
        return [
            a.transition
            for a in self.alerts
            if a.alert_type == kind and a.subject_id == (who or self.who)
        ]


# out of bounds ---------------------------------------------------------------------------
def test_one_clearly_outside_fix_waits_for_a_second() -> None:
    s = Scenario()
    s.fix(0 * M, SOUTH_IN)
    assert s.fix(10 * M, NEAR_OUT).alerts == []
    assert s.boundary().status == "pending"
    [opened] = s.fix(13 * M, NEAR_OUT).alerts
    assert opened.transition == "opened" and opened.rule == "out_of_bounds/3"
    assert len(opened.evidence) == 2 and opened.occurred_at == T0 + 10 * M  # first outside
    assert s.fix(15 * M, NEAR_OUT).alerts == []  # one open alert, not one per fix


def test_a_single_outside_fix_alerts_after_the_dwell_time_on_a_tick() -> None:
    s = Scenario()
    s.fix(0 * M, NEAR_OUT)
    assert s.tick(9 * M).alerts == []
    assert s.steps("out_of_bounds") == []
    s.tick(10 * M)
    assert s.steps("out_of_bounds") == ["opened"]


def test_drift_near_the_shore_never_alerts() -> None:
    s = Scenario()
    for i in range(20):  # alternating, within the accuracy circle plus hysteresis
        s.fix(i * 5 * M, EDGE_OUT if i % 2 else SOUTH_IN, accuracy=120)
        s.tick(i * 5 * M + M)
    s.fix(110 * M, NEAR_OUT)  # one drifting fix further out, then back: cancelled
    s.fix(115 * M, SOUTH_IN)
    s.tick(200 * M)
    assert s.steps("out_of_bounds") == []


def test_far_outside_or_at_an_exit_alerts_at_once() -> None:
    far, port = Scenario(), Scenario()
    assert [a.transition for a in far.fix(0 * M, FAR_OUT).alerts] == ["opened"]
    [opened] = port.fix(0 * M, OUTSIDE).alerts  # Luchao port, 2 km out
    assert "exit route" in opened.reason_en


def test_return_needs_the_accuracy_circle_inside_then_auto_resolves() -> None:
    s = Scenario()
    s.fix(0 * M, FAR_OUT)
    s.fix(30 * M, (30.521, 122.30), accuracy=500)  # inside, but the circle reaches out
    assert s.steps("out_of_bounds") == ["opened"]
    [resolved] = s.fix(40 * M, SOUTH_IN).alerts
    assert resolved.transition == "resolved" and resolved.outcome == "auto_resolved"


def test_late_fix_older_than_the_last_decision_changes_nothing() -> None:
    s = Scenario()
    s.fix(10 * M, FAR_OUT)
    s.fix(5 * M, SOUTH_IN)
    assert s.steps("out_of_bounds") == ["opened"]


def test_approved_leave_suppresses_and_overstay_alerts_after_its_end() -> None:
    s = Scenario(registry(leaves={WHO: (leave(0 * M, 120 * M, "Shanghai"),)}))
    s.fix(10 * M, OUTSIDE)
    s.fix(60 * M, OUTSIDE)
    s.tick(100 * M)
    assert s.alerts == []
    s.tick(120 * M + 2 * H)  # ended, plus the 2 h grace: still outside
    assert s.steps("leave_overstay") == ["opened"]
    s.fix(120 * M + 3 * H, INSIDE)
    assert s.steps("leave_overstay") == ["opened", "resolved"]


def test_an_impossible_jump_is_suspect_not_a_departure() -> None:
    s = Scenario()
    s.fix(0 * M, INSIDE)
    assert s.fix(1 * M, FAR_OUT).alerts == []  # 30 km in a minute: drift or spoofing
    assert s.state().detection.track.suspects == 1 and s.boundary().status == "inside"
    s.fix(2 * M, FAR_OUT)
    s.fix(3 * M, FAR_OUT)
    assert s.steps("implausible_movement") == ["opened"] and s.steps("out_of_bounds") == []


# silence ---------------------------------------------------------------------------------
def test_signal_lost_on_ticks_without_any_new_record_then_cleared() -> None:
    s = Scenario()
    s.fix(0 * M, INSIDE)
    s.tick(119 * M)
    assert s.alerts == []
    [opened] = s.tick(2 * H).alerts
    assert opened.alert_type == "signal_lost" and opened.severity == "high"
    s.tick(2 * H + 10 * M)  # still one
    s.fix(2 * H + 12 * M, INSIDE)
    assert s.steps("signal_lost") == ["opened", "resolved"]


def test_fishermen_have_their_own_grace() -> None:
    s = Scenario(who="SS-0025")  # 6 h more at sea
    s.fix(0 * M, (30.70, 122.83))
    s.tick(7 * H)
    assert s.steps("signal_lost") == []
    s.tick(8 * H)
    assert s.steps("signal_lost") == ["opened"]


def test_phone_off_is_tolerated_for_three_hours() -> None:
    s = Scenario()
    s.fix(0 * M, INSIDE)
    s.device(10 * M, "power_off")
    s.tick(3 * H)
    assert s.alerts == []  # not signal lost either: the phone said it was switching off
    s.tick(3 * H + 11 * M)
    assert s.steps("phone_off") == ["opened"]
    s.device(4 * H, "power_on")
    assert s.steps("phone_off") == ["opened", "resolved"]


# missed check-in -------------------------------------------------------------------------
def test_missed_weekly_check_in_for_a_strict_subject_once_per_week() -> None:
    s = Scenario(who="SS-0004")  # strict: weekly
    assert s.pipeline.subject("SS-0004").level == "strict"
    s.tick(1 * H)
    assert s.steps("missed_checkin") == []  # never watched: nothing to judge
    s.fix(-14 * 24 * H, INSIDE)  # watched for two weeks
    s.tick(1 * H)  # Sunday noon: last week (W47) ended + 1 day grace? not yet for W48
    [opened] = [a for a in s.alerts if a.alert_type == "missed_checkin"]
    assert "2026-W47" in opened.reason_en
    s.tick(1 * H + 30 * M)
    assert s.steps("missed_checkin") == ["opened"]
    s._take(
        "SS-0004",
        s.pipeline.apply_checkin(
            s.state(), checkin(1, 3 * H, subject="SS-0004", terminal="T-caiyuan-1")
        ),
    )
    assert s.steps("missed_checkin") == ["opened", "resolved"]


# forbidden zones -------------------------------------------------------------------------
NETCAFE = (30.7165, 122.4560)


def test_forbidden_zone_at_night_only_and_precise_fixes_only() -> None:
    s = Scenario(who="SS-0010")  # the internet cafe, 22:00-06:00
    s.fix(0 * M, NETCAFE)  # noon: allowed
    s.fix(5 * M, NETCAFE)
    assert s.steps("forbidden_zone") == []
    s.fix(10 * H + 1 * M, NETCAFE, accuracy=800)  # 22:01, a cell fix: not precise enough
    s.fix(10 * H + 2 * M, NETCAFE)
    assert s.steps("forbidden_zone") == []
    [opened] = s.fix(10 * H + 4 * M, NETCAFE).alerts
    assert "internet cafe" in opened.reason_en
    s.fix(10 * H + 30 * M, INSIDE)  # home
    assert s.steps("forbidden_zone") == ["opened", "resolved"]


# gathering -------------------------------------------------------------------------------
def test_co_offenders_together_for_the_dwell_time_then_apart() -> None:
    s = Scenario()
    group = gathering.GroupBuffer()
    spot = (30.7150, 122.4550)
    limits = s.pipeline.group_limits("case-1")
    for minute in range(0, 40, 5):
        for who, dlat in (("SS-0010", 0.0), ("SS-0012", 0.0004)):
            f = fix(minute + len(who), minute * M, (spot[0] + dlat, spot[1]), subject=who)
            pushed = gathering.group_push(group, f)
            assert pushed is not None
            group = pushed
    group, seen = gathering.group_release(group, T0 + 40 * M, limits)
    for sighting in seen:
        s._take(
            sighting.subject_id, s.pipeline.apply_sighting(s.state(sighting.subject_id), sighting)
        )
    assert s.steps("gathering", "SS-0010") == ["opened"]
    assert s.steps("gathering", "SS-0012") == ["opened"]
    group, seen = gathering.group_release(group, T0 + 3 * H, limits)  # not seen together since
    assert [x.together for x in seen] == [False, False]
    for sighting in seen:
        s._take(
            sighting.subject_id, s.pipeline.apply_sighting(s.state(sighting.subject_id), sighting)
        )
    assert s.steps("gathering", "SS-0010") == ["opened", "resolved"]


def test_a_late_group_fix_is_refused_and_repeats_change_nothing() -> None:
    group = gathering.GroupBuffer()
    f = fix(1, 10 * M, (30.715, 122.455), subject="SS-0010")
    once = gathering.group_push(group, f)
    assert once is not None and gathering.group_push(once, f) is once
    watch = gathering.Watch("gathering", 100.0, 30 * M)
    released, _ = gathering.group_release(once, T0 + 20 * M, lambda _: lambda a, b: (watch,))
    assert released.at == T0 + 20 * M and not released.pending
    assert gathering.group_push(released, fix(2, 15 * M, (30.715, 122.455))) is None


# lifecycle -------------------------------------------------------------------------------
def test_acknowledge_dispatch_resolve_as_verified_costs_points() -> None:
    s = Scenario()
    s.fix(0 * M, FAR_OUT)
    s.act(5 * M, "acknowledge")
    s.act(6 * M, "dispatch", assignee="caiyuan")
    out = s.act(60 * M, "resolve", outcome="verified_violation", note="电话核实")
    assert s.steps("out_of_bounds") == ["opened", "acknowledged", "dispatched", "resolved"]
    assert [a.actor for a in s.alerts[1:]] == ["O-caiyuan-1"] * 3
    assert [(p.rule_id, p.delta) for p in out.points] == [("violation.out_of_bounds", -10)]
    assert out.recommendations and out.recommendations[0].kind == "admonition"
    s.fix(70 * M, FAR_OUT)  # still out: the officer has handled it
    s.fix(90 * M, SOUTH_IN)
    assert s.fix(110 * M, FAR_OUT).alerts[0].transition == "opened"  # a new departure


@pytest.mark.parametrize(
    ("action", "more", "why"),
    [("resolve", {}, "needs an outcome"), ("dispatch", {}, "needs an assignee")],
)
def test_invalid_actions_are_refused(action: str, more: dict[str, Any], why: str) -> None:
    s = Scenario()
    s.fix(0 * M, FAR_OUT)
    out = s.act(5 * M, action, **more)
    assert out.rejected is not None and why in out.rejected.detail
    assert s.act(6 * M, "acknowledge", alert_id="nope").rejected is not None


def test_acted_on_alerts_are_not_auto_resolved() -> None:
    s = Scenario()
    s.fix(0 * M, FAR_OUT)
    s.act(1 * M, "acknowledge")
    s.fix(30 * M, SOUTH_IN)
    assert s.steps("out_of_bounds") == ["opened", "acknowledged"]


def test_unacknowledged_alerts_escalate_after_their_sla_once() -> None:
    s = Scenario()
    s.fix(0 * M, FAR_OUT)
    s.tick(14 * M)
    assert s.steps("out_of_bounds") == ["opened"]
    s.tick(15 * M)
    s.tick(16 * M)
    assert s.steps("out_of_bounds") == ["opened", "escalated"]
    assert s.alerts[-1].assignee == "command-center"


def test_the_sla_runs_from_when_the_alert_is_raised_not_from_the_evidence() -> None:
    s = Scenario()
    s.clock.set(T0 + 2 * H)  # a backlog: the fix is processed two hours after it happened
    [opened] = s.fix(0 * M, FAR_OUT).alerts
    assert opened.occurred_at == T0 and opened.recorded_at == T0 + 2 * H
    assert opened.sla_due == T0 + 2 * H + 15 * M  # not born overdue
    s.tick(0 * M)  # processing time has not reached the deadline
    assert s.steps("out_of_bounds") == ["opened"]
    s.clock.set(T0 + 2 * H + 15 * M)
    [escalated] = s.tick(1 * M).alerts
    assert escalated.transition == "escalated" and escalated.recorded_at == T0 + 2 * H + 15 * M


# security periods ------------------------------------------------------------------------
PERIOD = SecurityPeriod("p-asian-games", "杭州亚运会", T0 - H, T0 + 10 * H)


def test_security_period_tightens_and_escalates_everything() -> None:
    s = Scenario(registry(periods=(PERIOD,)))
    [opened, escalated] = s.fix(0 * M, NEAR_OUT).alerts  # one fix is enough now
    assert escalated.transition == "escalated" and "杭州亚运会" in escalated.reason_zh
    assert opened.sla_due == T0 + 5 * M  # the shorter SLA
    quiet = Scenario(registry(periods=(PERIOD,)), who="SS-0008")
    quiet.fix(0 * M, INSIDE)
    quiet.tick(61 * M)
    assert quiet.steps("signal_lost", "SS-0008") == ["opened", "escalated"]


def test_a_period_ending_takes_effect_without_restart() -> None:
    s = Scenario(registry(periods=(PERIOD,)))
    s.pipeline.use(registry())  # the registry refresh after the period was removed
    assert s.fix(0 * M, NEAR_OUT).alerts == []  # back to two fixes


def test_leave_approved_during_a_period_is_suspended_unless_emergency() -> None:
    from alerts.leave import in_force
    from models.values import LeaveWindow

    permit = LeaveWindow("l-1", T0, T0 + 24 * H, "宁波", approved_at=T0)
    office = registry().subjects[WHO].office_id
    assert in_force((permit,), (PERIOD,), office) == ()
    emergency = LeaveWindow("l-2", T0, T0 + 24 * H, "宁波", approved_at=T0, emergency=True)
    assert in_force((emergency,), (PERIOD,), office) == (emergency,)
    assert in_force((permit,), (), office) == (permit,)


def test_state_round_trips_through_the_table_encoding() -> None:
    from streams.pipeline import dump_state, load_state

    s = Scenario()
    s.fix(0 * M, FAR_OUT)
    s.device(1 * M, "power_off")
    assert load_state(dump_state(s.state())) == s.state()
    assert msgspec.msgpack.encode(EMPTY_STATE) == b"\x80"


def test_only_decisions_positions_and_checkpoints_are_stored() -> None:
    s = Scenario()
    first = s.fix(0 * M, SOUTH_IN)
    assert first.durable(EMPTY_STATE)  # first seen: a checkpoint
    sec = timedelta(seconds=1)
    for at, where, stored in (
        (30 * sec, SOUTH_IN, False),  # just another fix: same place, same hour
        (59 * sec, SOUTH_IN, False),
        (60 * sec, SOUTH_IN, True),  # the position is refreshed (every minute)
        (90 * sec, (30.535, 122.300), True),  # the position moved (556 m)
        (100 * sec, (30.5355, 122.300), False),  # 56 m
    ):
        before = s.state()
        assert s.fix(at, where).durable(before) == stored, at
    before = s.state()
    assert s.fix(61 * M, SOUTH_IN).durable(before)  # last seen in a new hour: a checkpoint
    before = s.state()
    assert not s.tick(100 * M).durable(before)  # 39 minutes without a fix
    before = s.state()
    assert s.tick(122 * M).durable(before)  # an hour, half the threshold: quiet (a decision)
    before = s.state()
    assert not s.tick(130 * M).durable(before)
    before = s.state()
    assert s.fix(131 * M, SOUTH_IN).durable(before)  # heard from again
    before = s.state()
    assert s.fix(140 * M, FAR_OUT).durable(before)  # a decision


def test_forbidden_zones_grow_by_the_policy_buffer_wider_in_a_security_period() -> None:
    near = (NETCAFE[0] + 110 / 111_320, NETCAFE[1])  # zone 60 m + own buffer 20 m + policy 50 m
    further = (NETCAFE[0] + 160 / 111_320, NETCAFE[1])  # only with the security period's 100 m
    night = 10 * H + M  # 22:01
    for where, periods, alerted in (
        (near, (), True),
        (further, (), False),
        (further, (NIGHT_PERIOD,), True),
    ):
        s = Scenario(registry(periods=periods), who="SS-0010")
        s.fix(night, where)
        s.fix(night + 4 * M, where)
        assert bool(s.steps("forbidden_zone")) is alerted, (where, periods)


NIGHT_PERIOD = SecurityPeriod("p-night", "安保", T0, T0 + 24 * H)


# alerts a duty officer can trust ---------------------------------------------------------
COARSE_FAR = (30.4535, 122.300)  # 7.4 km south of the county line


def test_a_coarse_fix_far_out_is_not_enough_on_its_own() -> None:
    s = Scenario()
    assert s.fix(0 * M, COARSE_FAR, accuracy=4600).alerts == []  # a cell fix: could be inside
    s.fix(5 * M, SOUTH_IN)  # and the next one is back inside
    s.tick(60 * M)
    assert s.steps("out_of_bounds") == []
    precise = Scenario()
    assert [a.transition for a in precise.fix(0 * M, COARSE_FAR).alerts] == ["opened"]


def test_an_overstay_is_one_incident_not_two() -> None:
    s = Scenario(registry(leaves={WHO: (leave(0 * M, 120 * M, "Shanghai"),)}))
    s.fix(10 * M, OUTSIDE)
    s.fix(150 * M, OUTSIDE)  # the leave ended 30 min ago: on the way back, within the grace
    s.fix(160 * M, OUTSIDE)
    s.tick(120 * M + 2 * H)  # the grace is over: an overstay
    s.fix(120 * M + 2 * H + 10 * M, OUTSIDE)
    s.fix(120 * M + 2 * H + 20 * M, OUTSIDE)
    assert s.steps("leave_overstay") == ["opened"]
    assert s.steps("out_of_bounds") == []  # the same trip: no second high alert


def test_a_reason_names_its_alert_type_once() -> None:
    s = Scenario(who="SS-0010")
    s.fix(10 * H + 2 * M, NETCAFE)
    [opened] = s.fix(10 * H + 4 * M, NETCAFE).alerts
    assert opened.reason_zh.count("进入禁止区域") == 1, opened.reason_zh
    assert opened.reason_en.count("forbidden zone") == 1, opened.reason_en


# person-phone separation -----------------------------------------------------------------
GOUQI = (30.705, 122.782)  # 32 km from the Caiyuan office's kiosk


def test_a_check_in_while_the_phone_is_elsewhere_is_a_separation() -> None:
    s = Scenario()
    s.fix(0 * M, GOUQI)
    s.at(3 * M)
    state = s.state()
    [opened] = s.pipeline.apply_checkin(state, checkin(1, 3 * M, subject=WHO)).alerts
    assert opened.alert_type == "person_phone_separation" and opened.severity == "medium"
    assert opened.evidence == [f"chk-{WHO}-1", f"fix-{WHO}-1"]


def test_a_phone_with_its_owner_or_an_old_fix_is_no_separation() -> None:
    near, old = Scenario(), Scenario()
    near.fix(0 * M, INSIDE)
    assert near.pipeline.apply_checkin(near.state(), checkin(1, 3 * M, subject=WHO)).alerts == []
    old.fix(0 * M, GOUQI)  # then the phone went quiet for an hour: not evidence any more
    old.at(60 * M)
    assert old.pipeline.apply_checkin(old.state(), checkin(1, 60 * M, subject=WHO)).alerts == []


def test_a_fix_far_from_the_kiosk_just_after_a_check_in_is_a_separation() -> None:
    s = Scenario()
    s.fix(0 * M, GOUQI)  # the phone stays in Gouqi
    s.at(40 * M)  # its last fix is too old to judge the check-in by
    assert (
        s._take(WHO, s.pipeline.apply_checkin(s.state(), checkin(1, 40 * M, subject=WHO))).alerts
        == []
    )
    [opened] = s.fix(45 * M, GOUQI).alerts
    assert opened.alert_type == "person_phone_separation"


def test_a_deadline_at_the_very_time_of_an_input_is_not_skipped() -> None:
    s = Scenario(who="SS-0004")  # strict: weekly check-ins
    s.fix(-14 * 24 * H, INSIDE)  # watched from Sunday 15 November, noon
    deadline = -(5 * 24 + 12) * H  # W47 ended Monday 23 November 00:00 local, plus a day
    s.device(deadline, "power_on")
    [opened] = [a for a in s.alerts if a.alert_type == "missed_checkin"]
    assert "2026-W47" in opened.reason_en
