"""Prohibition orders (禁止令) in detection: a home curfew (宵禁) is not a forbidden zone at
night, a named person met is an alert for the order's subject, zones hold on the order's
days. Pure: the pipeline over an injected registry and clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from alerts import engine, gathering
from alerts.curfew import DETECTOR as CURFEW
from alerts.curfew import AwayState
from alerts.geofence import circle
from models.events import LocationFix
from models.values import Days, OrderRef, Registry, SecurityPeriod, ZoneRef
from tests.factories import T0, fix, leave, registry
from tests.unit.test_detectors import NETCAFE, Scenario

M, H = timedelta(minutes=1), timedelta(hours=1)
HOME = (30.712, 122.451)  # SS-0007's home in these tests, in Caiyuan
AWAY = (30.721, 122.451)  # 1 km north of it, in the county
NIGHT = 10 * H  # T0 is 12:00 in Shengsi: 22:00
SINCE = date(2026, 11, 1)
IN_FORCE = Days(SINCE)


def order(
    who: str = "SS-0007",
    days: Days = IN_FORCE,
    curfew: tuple[int, int] | None = (22, 6),
    no_contact: tuple[str, ...] = (),
) -> OrderRef:
    return OrderRef(f"po-{who}", who, days, curfew, HOME, 200.0, no_contact)


def with_orders(*orders: OrderRef, base: Registry | None = None) -> Registry:
    by_subject: dict[str, tuple[OrderRef, ...]] = {}
    for o in orders:
        by_subject[o.subject_id] = (*by_subject.get(o.subject_id, ()), o)
    return replace(base or registry(), orders=by_subject)


# home curfew (宵禁) ----------------------------------------------------------------------
def test_away_from_home_twice_in_curfew_hours_alerts_and_home_clears() -> None:
    s = Scenario(with_orders(order()))
    s.fix(0 * M, AWAY)  # noon: free to go
    s.fix(5 * M, AWAY)
    assert s.steps("home_curfew") == []
    s.fix(NIGHT + 5 * M, AWAY)  # one fix: pending
    assert s.steps("home_curfew") == []
    [opened] = s.fix(NIGHT + 10 * M, AWAY).alerts
    assert opened.rule == "home_curfew/1" and opened.occurred_at == T0 + NIGHT + 5 * M
    assert opened.evidence == ["fix-SS-0007-3", "fix-SS-0007-4"]
    assert "1001 m from home" in opened.reason_en and "22:00-06:00" in opened.reason_en
    assert opened.reason_zh.startswith("违反宵禁令:宵禁时段 22:00-06:00 离家 1001 米")
    assert s.fix(NIGHT + 20 * M, AWAY).alerts == []  # one alert per absence
    [resolved] = s.fix(NIGHT + 40 * M, HOME).alerts
    assert resolved.transition == "resolved" and "back home" in resolved.reason_en


def test_a_fix_within_its_accuracy_of_home_neither_confirms_nor_cancels() -> None:
    s = Scenario(with_orders(order()))
    near = (HOME[0] + 250 / 111_320, HOME[1])  # 250 m out: beyond 200 m, but not by 100 m
    s.fix(NIGHT + 5 * M, AWAY)
    s.fix(NIGHT + 10 * M, near, accuracy=100)
    assert s.steps("home_curfew") == []
    s.fix(NIGHT + 15 * M, near, accuracy=20)  # clearly out: the second away fix
    assert s.steps("home_curfew") == ["opened"]


def test_a_cell_fix_counts_only_when_its_whole_circle_is_away() -> None:
    s = Scenario(with_orders(order()))
    s.fix(NIGHT + 5 * M, AWAY, accuracy=1500)  # 1 km out, 1.5 km accuracy: could be home
    s.fix(NIGHT + 10 * M, AWAY, accuracy=1500)
    assert s.steps("home_curfew") == []


def test_home_in_between_cancels_and_the_hours_ending_cancel_a_pending_breach() -> None:
    s = Scenario(with_orders(order()))
    s.fix(NIGHT + 5 * M, AWAY)
    s.fix(NIGHT + 6 * M, HOME)
    s.fix(NIGHT + 7 * M, AWAY)
    assert s.steps("home_curfew") == []
    morning = NIGHT + 8 * H  # 06:00
    s.fix(morning - 6 * M, HOME)
    s.fix(morning - 5 * M, AWAY)  # pending at 05:55...
    s.fix(morning + 5 * M, AWAY)  # ...and 06:05 is free time
    assert s.steps("home_curfew") == []
    s.fix(morning + 16 * H + 1 * M, AWAY)  # 22:01 the next night: a new start, not a second
    assert s.steps("home_curfew") == []


def test_a_pending_breach_of_last_night_does_not_confirm_tonight() -> None:
    s = Scenario(with_orders(order()))
    s.fix(NIGHT + 8 * H - 5 * M, AWAY)  # 05:55, then no fix until the next night
    s.fix(NIGHT + 24 * H + 5 * M, AWAY)
    assert s.steps("home_curfew") == []
    state = engine.state_of(s.state().detection, CURFEW)
    assert isinstance(state, AwayState) and state.since == T0 + NIGHT + 24 * H + 5 * M


def test_approved_leave_covers_a_night_away() -> None:
    s = Scenario(with_orders(order(), base=registry(leaves={"SS-0007": (leave(0 * M, 24 * H),)})))
    s.fix(NIGHT + 5 * M, AWAY)
    s.fix(NIGHT + 10 * M, AWAY)
    assert s.steps("home_curfew") == []


def test_one_fix_away_is_enough_in_a_security_period() -> None:
    period = SecurityPeriod("p-1", "安保", T0, T0 + 24 * H)
    s = Scenario(with_orders(order(), base=registry(periods=(period,))))
    opened, escalated = s.fix(NIGHT + 5 * M, AWAY).alerts
    assert opened.alert_type == "home_curfew" and escalated.transition == "escalated"


def test_no_curfew_outside_the_orders_days() -> None:
    lifted = order(days=Days(SINCE, date(2026, 11, 28)))  # lifted on the 29th
    s = Scenario(with_orders(lifted))
    s.fix(NIGHT + 5 * M, AWAY)
    s.fix(NIGHT + 10 * M, AWAY)
    assert s.steps("home_curfew") == []
    later = Scenario(with_orders(order(days=Days(date(2026, 12, 1)))))
    later.fix(NIGHT + 5 * M, AWAY)
    later.fix(NIGHT + 10 * M, AWAY)
    assert later.steps("home_curfew") == []


def test_a_forbidden_zone_at_night_is_not_a_home_curfew() -> None:
    """SS-0010's internet cafe is forbidden 22:00-06:00 (a place); a curfew is home."""
    zone_only = Scenario(who="SS-0010")
    zone_only.fix(NIGHT + 2 * M, NETCAFE)
    zone_only.fix(NIGHT + 4 * M, NETCAFE)
    assert [a.alert_type for a in zone_only.alerts] == ["forbidden_zone"]
    both = Scenario(with_orders(order("SS-0010")), who="SS-0010")  # home: 600 m from the cafe
    both.fix(NIGHT + 2 * M, NETCAFE)
    [zone, curfew] = both.fix(NIGHT + 4 * M, NETCAFE).alerts
    assert (zone.alert_type, curfew.alert_type) == ("forbidden_zone", "home_curfew")
    assert "forbidden zone" in zone.reason_en and "home curfew" in curfew.reason_en
    free = Scenario(with_orders(order("SS-0010", curfew=None)), who="SS-0010")
    free.fix(NIGHT + 2 * M, (30.73, 122.50))  # far from home and from the cafe at night
    free.fix(NIGHT + 4 * M, (30.73, 122.50))
    assert free.alerts == []


# forbidden zones of an order -------------------------------------------------------------
def test_an_orders_zone_holds_on_the_orders_days_only() -> None:
    zone = ZoneRef("fz-1", "酒吧 bar", circle(*AWAY, 80), days=Days(SINCE, date(2026, 11, 29)))
    reg = replace(registry(), forbidden={"SS-0007": (zone,)})
    s = Scenario(reg)
    s.fix(0 * M, AWAY)
    s.fix(5 * M, AWAY)
    assert s.steps("forbidden_zone") == ["opened"]
    s.fix(6 * M, HOME)
    s.fix(24 * H, AWAY)  # the 30th: the order ended
    s.fix(24 * H + 5 * M, AWAY)
    assert s.steps("forbidden_zone") == ["opened", "resolved"]


# named persons (禁止接触) ------------------------------------------------------------------
SPOT = (30.7150, 122.4550)


def test_groups_join_co_offenders_and_the_persons_orders_name() -> None:
    cases = {"SS-0007": None, "SS-0008": None, "SS-0009": None, "SS-0010": "C-1", "SS-0012": "C-1"}
    assert gathering.groups(cases, []) == {"C-1": ("SS-0010", "SS-0012")}
    assert gathering.groups(cases, [("SS-0007", "SS-0008")]) == {
        "C-1": ("SS-0010", "SS-0012"),
        "SS-0007+SS-0008": ("SS-0007", "SS-0008"),
    }
    assert gathering.groups(cases, [("SS-0012", "SS-0007"), ("SS-0007", "SS-0012")]) == {
        "C-1+SS-0007": ("SS-0007", "SS-0010", "SS-0012")
    }
    assert gathering.groups(cases, [("SS-0007", "SS-0007"), ("SS-0007", "nobody")]) == {
        "C-1": ("SS-0010", "SS-0012")
    }


def meet(s: Scenario, fixes: list[LocationFix], until: datetime) -> None:
    """The fixes through their subjects' pipelines and their groups, as the workers do."""
    groups: dict[str, gathering.GroupBuffer] = {}
    for f in sorted(fixes, key=lambda f: f.occurred_at):
        s._take(f.subject_id, s.pipeline.apply_location(s.state(f.subject_id), f))
        group = s.pipeline.group_of(f.subject_id)
        if group is not None:
            pushed = gathering.group_push(groups.get(group, gathering.GroupBuffer()), f)
            assert pushed is not None
            groups[group] = pushed
    for group, buf in groups.items():
        _, seen = gathering.group_release(buf, until, s.pipeline.group_limits(group))
        for x in seen:
            s._take(x.subject_id, s.pipeline.apply_sighting(s.state(x.subject_id), x))


def together(who: tuple[str, ...], minutes: range, where: tuple[float, float] = SPOT) -> list[Any]:
    return [
        fix(100 * i + m, m * M, (where[0] + 0.0002 * i, where[1]), subject=w)
        for i, w in enumerate(who)
        for m in minutes
    ]


def test_meeting_a_named_person_alerts_the_orders_subject_only() -> None:
    s = Scenario(with_orders(order(curfew=None, no_contact=("SS-0008",))))
    assert s.pipeline.group_of("SS-0007") == s.pipeline.group_of("SS-0008") == "SS-0007+SS-0008"
    meet(s, together(("SS-0007", "SS-0008"), range(0, 10, 2)), T0 + 10 * M)
    assert s.steps("no_contact", "SS-0007") == ["opened"]
    assert s.steps("no_contact", "SS-0008") == [] and s.steps("gathering", "SS-0007") == []
    [opened] = [a for a in s.alerts if a.alert_type == "no_contact"]
    assert opened.rule == "no_contact/1" and "SS-0008" in opened.reason_en
    assert opened.occurred_at == T0  # since they were first seen close
    s2 = Scenario(with_orders(order(curfew=None, no_contact=("SS-0008",))))
    fixes = together(("SS-0007", "SS-0008"), range(0, 10, 2))
    fixes += [fix(900, 12 * M, HOME), fix(901, 12 * M, SPOT, subject="SS-0008")]
    meet(s2, fixes, T0 + 13 * M)
    assert s2.steps("no_contact", "SS-0007") == ["opened", "resolved"]


def test_phones_that_report_every_quarter_hour_still_meet() -> None:
    s = Scenario(with_orders(order(curfew=None, no_contact=("SS-0008",))))
    meet(s, together(("SS-0007", "SS-0008"), range(0, 31, 15)), T0 + 31 * M)
    assert s.steps("no_contact", "SS-0007") == ["opened"]


def test_a_passer_by_or_an_order_not_in_force_is_no_contact() -> None:
    s = Scenario(with_orders(order(curfew=None, no_contact=("SS-0008",))))
    meet(s, together(("SS-0007", "SS-0008"), range(0, 3, 2)), T0 + 3 * M)  # 2 minutes
    assert s.steps("no_contact", "SS-0007") == []
    ended = order(days=Days(SINCE, date(2026, 11, 28)), curfew=None, no_contact=("SS-0008",))
    s = Scenario(with_orders(ended))
    meet(s, together(("SS-0007", "SS-0008"), range(0, 10, 2)), T0 + 10 * M)
    assert s.alerts == []


def test_co_offenders_named_in_an_order_are_two_facts_two_alerts() -> None:
    s = Scenario(with_orders(order("SS-0010", curfew=None, no_contact=("SS-0012",))))
    assert s.pipeline.group_of("SS-0010") == "C-2025-017"  # no one new joins the case
    meet(s, together(("SS-0010", "SS-0012"), range(0, 40, 5)), T0 + 40 * M)
    assert s.steps("no_contact", "SS-0010") == ["opened"]
    assert s.steps("no_contact", "SS-0012") == []
    assert s.steps("gathering", "SS-0010") == s.steps("gathering", "SS-0012") == ["opened"]
