"""Golden scenarios for the points ledger: every rule, caps, the ladder, levels, replays."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from typing import Any

import msgspec
import pytest

from models.events import PointsEntry, Recommendation
from models.values import SubjectRef, TerminalRef
from scoring.ledger import Ledger, LedgerOutcome, LedgerState
from scoring.rules import load_ruleset
from tests.factories import T0, activity, checkin, close, decide, verified

H, D = timedelta(hours=1), timedelta(days=1)
RULES_2020, RULES_2012 = load_ruleset(), load_ruleset("shengsi-2012.toml")
OWN = TerminalRef("T-caiyuan-1", "caiyuan")
OTHER = TerminalRef("T-gouqi-1", "gouqi")
# T0 is Sunday 2026-11-29 12:00 in Shengsi; November's weeks W44..W48 end on its Sundays.


def subject(level: str = "strict", starts: date = date(2025, 1, 1)) -> SubjectRef:
    return SubjectRef("SS-0001", "caiyuan", "central", level, starts, date(2028, 1, 1))


class Run:
    """Feed events to a ledger, collecting what it decides."""

    def __init__(self, who: SubjectRef, rules: Any = RULES_2020) -> None:
        self.ledger, self.who, self.state = Ledger(rules), who, LedgerState()
        self.entries: list[PointsEntry] = []
        self.recs: list[Recommendation] = []

    def take(self, out: LedgerOutcome) -> LedgerOutcome:
        self.state = out.state
        self.entries += out.entries
        self.recs += out.recommendations
        return out

    def feed(self, event: Any, terminal: TerminalRef = OWN) -> LedgerOutcome:
        kind = type(event).__name__
        if kind == "CheckIn":
            return self.take(self.ledger.on_checkin(self.state, event, self.who, terminal, T0))
        if kind == "Activity":
            return self.take(self.ledger.on_activity(self.state, event, self.who, T0))
        if kind == "AlertEvent":
            return self.take(self.ledger.on_alert(self.state, event, self.who, T0))
        if kind == "Decision":
            return self.take(self.ledger.on_decision(self.state, event, self.who, T0))
        return self.take(self.ledger.close_month(self.state, self.who, event, T0))

    def lines(self) -> list[tuple[str, int]]:
        return [(e.rule_id, e.delta) for e in self.entries]


def november(day_offsets: list[int]) -> list[Any]:
    return [checkin(i, -d * D - 2 * H) for i, d in enumerate(day_offsets)]  # 10:00 local


def test_a_strict_month_with_every_rule_firing_entry_by_entry() -> None:
    run = Run(subject("strict"))
    # Check-ins on Nov 2, 9, 10, 16, 17 (W45, W46 twice, W47 twice); none in W44 or W48.
    for e in november([27, 20, 19, 13, 12]):
        run.feed(e)
    run.feed(checkin(9, -5 * D - 2 * H, match_score=0.5))  # not verified: no points
    run.feed(checkin(10, -4 * D - 2 * H), OTHER)  # another office's kiosk: no points, reported
    run.feed(activity(1, -10 * D, "study", 8))
    run.feed(activity(2, -3 * D, "study", 6.5))  # whole hours count: 6
    run.feed(activity(3, -3 * D, "community_service", 5))
    for n in range(3):
        run.feed(activity(10 + n, -n * D, "thought_report"))
    run.feed(activity(20, -2 * D, "psych_test"))
    run.feed(verified(1, -6 * D, "out_of_bounds"))
    for n in range(4):
        run.feed(verified(30 + n, -n * D, "phone_off"))
    run.feed(close("2026-11"))
    assert run.lines() == [
        *[("checkin.on_time", 2)] * 5,
        ("study.hours", 8),
        ("study.hours", 6),
        ("service.hours", 5),
        *[("report.thought", 2)] * 3,
        ("test.psych", 2),
        ("violation.out_of_bounds", -10),
        *[("violation.phone_off", -3)] * 4,
        # the close, in rule-file order
        ("base.monthly", 60),
        ("checkin.on_time", -2),  # cap 8, earned 10
        ("checkin.missed", -5),  # W44 (Oct 26-Nov 1); W48 had the other office's check-in
        ("study.hours", -2),  # cap 12, earned 14
        ("report.thought", -2),  # cap 4, earned 6
        ("service.shortfall", -5),  # 5 h < 12 h for strict
        ("violation.phone_off", 3),  # cap 9 of |-12|
    ]
    missed = [e for e in run.entries if e.rule_id == "checkin.missed"]
    assert [e.reason_en for e in missed] == [
        "Missed a required check-in: no check-in in 2026-W44 (2026-10-26 to 2026-11-01)",
    ]
    score = sum(d for _, d in run.lines())
    assert run.state.scores == {"2026-11": score} == {"2026-11": 15 + 47}
    # sanctions proposed: the verified absconding and the missed week (admonitions)
    assert sorted(r.kind for r in run.recs) == ["admonition"] * 2
    oob = next(e for e in run.entries if e.rule_id == "violation.out_of_bounds")
    assert oob.evidence == ["tr-SS-0001-1", "al-SS-0001-1", "fix-1"]
    assert all(e.local_month == "2026-11" and e.ruleset_version == "2020.2" for e in run.entries)


def test_a_check_in_outside_the_points_window_still_counts_as_reported() -> None:
    run = Run(subject("strict"))
    run.feed(checkin(1, -27 * D - 2 * H))  # W45: Mon Nov 2 10:00, points
    run.feed(checkin(2, -20 * D + 8 * H))  # W46: Mon Nov 9 20:00, after the window
    run.feed(checkin(3, -13 * D - 5 * H))  # W47: Mon Nov 16 07:00, before it
    run.feed(checkin(4, -6 * D - 2 * H), OTHER)  # W48: another office's kiosk
    run.feed(checkin(5, -34 * D - 2 * H, match_score=0.5))  # W44: face not matched
    run.feed(close("2026-11"))
    assert [(e.rule_id, e.delta) for e in run.entries if e.rule_id.startswith("checkin")] == [
        ("checkin.on_time", 2),
        ("checkin.missed", -5),  # W44 only: an unverified face is no check-in
    ]


def test_a_full_normal_month_earns_a_commendation() -> None:
    run = Run(subject("normal"))
    for e in november([20, 13, 6, 1]):
        run.feed(e)
    run.feed(activity(1, -9 * D, "study", 12))
    run.feed(activity(2, -8 * D, "community_service", 12))
    run.feed(activity(3, -7 * D, "thought_report"))
    run.feed(activity(4, -7 * D, "thought_report"))
    run.feed(activity(5, -6 * D, "psych_test"))
    run.feed(close("2026-11"))
    assert run.state.scores["2026-11"] == 98
    assert [r.kind for r in run.recs] == ["commendation"]


def test_events_twice_change_nothing() -> None:
    run = Run(subject())
    for e in [checkin(1, -H), activity(1, -H, "study", 3), verified(1, -H)]:
        first = run.feed(e)
        again = run.feed(e)
        assert first.entries and again.entries == [] and again.state is first.state
    assert run.feed(close("2026-11")).entries
    assert run.feed(close("2026-11")).entries == []


def test_any_arrival_order_gives_the_same_ledger() -> None:
    events = [
        *november([27, 20, 19, 13]),
        activity(1, -10 * D, "study", 8),
        activity(2, -3 * D, "study", 7),
        verified(1, -6 * D),
        verified(2, -2 * D, "phone_off"),
        activity(3, -H, "thought_report"),
        activity(4, -2 * H, "thought_report"),
        activity(5, -3 * H, "thought_report"),
    ]
    results = set()
    for seed in range(20):
        shuffled = random.Random(seed).sample(events, len(events))
        run = Run(subject())
        for e in shuffled:
            run.feed(e)
        run.feed(close("2026-11"))
        results.add(frozenset((e.entry_id, e.delta, tuple(e.evidence)) for e in run.entries))
    assert len(results) == 1


def test_late_event_for_a_closed_month_is_a_correction_in_the_next_open_month() -> None:
    run = Run(subject())
    run.feed(close("2026-11"))
    november = run.state.scores["2026-11"]
    [entry] = run.feed(checkin(1, -H)).entries
    assert (entry.local_month, entry.corrects_month) == ("2026-12", "2026-11")
    assert entry.occurred_at == T0 - H and entry.delta > 0
    assert entry.reason_zh.endswith("补记:所属月份 2026-11 已结账")
    assert "late entry: its month 2026-11 was already closed" in entry.reason_en
    assert run.feed(checkin(1, -H)).entries == []  # once only
    assert run.state.scores["2026-11"] == november  # the closed month is never rewritten
    assert run.state.months["2026-12"].points == {entry.rule_id: entry.delta}


def test_late_hours_are_not_carried_into_another_month() -> None:
    """The closed month's requirement was judged at its close."""
    run = Run(subject())
    run.feed(close("2026-11"))
    run.feed(activity(1, -H, "study", 3))
    assert run.state.months["2026-12"].hours == {}


def test_months_before_the_latest_close_are_closed_too() -> None:
    """The subject's state keeps its last six closes; anything older is closed as well."""
    run = Run(subject())
    for month in ("2026-10", "2026-11"):
        run.feed(close(month))
    ledger = run.ledger
    assert ledger.closed(run.state, "2025-02", None)
    assert not ledger.closed(run.state, "2026-12", None)
    assert ledger.booking_month(run.state, "2025-02") == "2026-12"


def test_months_outside_supervision_get_nothing() -> None:
    run = Run(subject(starts=date(2026, 12, 1)))
    assert run.feed(close("2026-11")).entries == []


def confirm_all(run: Run, kind: str, at: timedelta) -> list[str]:
    decided = {r.recommendation_id for r in run.recs if r.status != "proposed"}
    ids = [
        r.recommendation_id
        for r in run.recs
        if r.kind == kind and r.recommendation_id not in decided
    ]
    for n, rec_id in enumerate(ids):
        run.feed(decide(rec_id, at + n * H))
    return ids


@pytest.mark.parametrize(("rules", "warnings_needed"), [(RULES_2020, 2), (RULES_2012, 3)])
def test_escalation_ladder(rules: Any, warnings_needed: int) -> None:
    run = Run(subject("normal"), rules)
    warnings_confirmed = 0
    for round_ in itertools.count():
        # Two verified departures -> two admonitions -> confirmed -> a warning proposed.
        run.feed(verified(2 * round_, -20 * D + round_ * H))
        run.feed(verified(2 * round_ + 1, -19 * D + round_ * H))
        confirm_all(run, "admonition", -18 * D + round_ * 3 * H)
        assert [r for r in run.recs if r.kind == "warning" and r.status == "proposed"]
        warnings_confirmed += len(confirm_all(run, "warning", -10 * D + round_ * 3 * H))
        revocations = [r for r in run.recs if r.kind == "revocation_request"]
        if warnings_confirmed < warnings_needed:
            assert revocations == []
        else:
            [revocation] = revocations
            assert len(revocation.evidence) == warnings_needed
            assert f"{warnings_needed} warnings" in revocation.reason_en
            break
    # A warning also proposes the strict level; decisions are recorded with who and when.
    assert any(r.kind == "level_change" and r.level_to == "strict" for r in run.recs)
    decided = [r for r in run.recs if r.status == "confirmed"]
    assert decided and all(r.decided_by == "O-caiyuan-1" and r.decided_at for r in decided)


def test_rejected_recommendations_do_not_count() -> None:
    run = Run(subject("normal"))
    run.feed(verified(1, -5 * D))
    run.feed(verified(2, -4 * D))
    for r in [r for r in run.recs if r.kind == "admonition"]:
        run.feed(decide(r.recommendation_id, -3 * D, confirmed=False))
    assert not [r for r in run.recs if r.kind == "warning"]
    assert {r.status for r in run.recs if r.kind == "admonition" and r.decided_by} == {"rejected"}


def test_new_subjects_are_proposed_normal_after_two_months() -> None:
    run = Run(subject("strict", starts=date(2026, 10, 5)))
    run.feed(close("2026-10"))
    assert not [r for r in run.recs if r.kind == "level_change"]
    run.feed(close("2026-11"))
    [change] = [r for r in run.recs if r.kind == "level_change"]
    assert (change.level_from, change.level_to) == ("strict", "normal")
    run.feed(decide(change.recommendation_id, 0 * H))
    assert run.state.level == "normal" and run.state.level_since == "2026-11"


def test_six_months_at_normal_with_a_good_quarter_proposes_lenient() -> None:
    run = Run(subject("normal", starts=date(2025, 1, 1)))
    run.state = LedgerState(
        level="normal",
        level_since="2026-06",
        scores={"2026-09": 85, "2026-10": 82},
        closed=["2026-10"],
    )
    for e in november([20, 13, 6, 1]):
        run.feed(e)
    run.feed(activity(1, -9 * D, "study", 12))
    run.feed(activity(2, -8 * D, "community_service", 12))
    run.feed(close("2026-11"))  # 60 + 8 + 12 + 12 = 92
    [change] = [r for r in run.recs if r.kind == "level_change"]
    assert change.level_to == "lenient" and "quarterly average 86.3" in change.reason_en


def test_three_commendations_in_a_row_also_promote() -> None:
    run = Run(subject("normal", starts=date(2025, 1, 1)))
    run.state = LedgerState(
        level="normal", level_since="2026-01", commended=["2026-09", "2026-10", "2026-11"]
    )
    run.feed(close("2026-11"))  # a poor month (no quarter of scores), but three commendations
    assert [r.level_to for r in run.recs if r.kind == "level_change"] == ["lenient"]


def test_an_overturned_verification_is_reversed_by_a_new_entry() -> None:
    run = Run(subject("normal"))
    run.feed(verified(1, -5 * D))
    [original] = run.entries
    review = msgspec.structs.replace(
        verified(1, -2 * D), transition_id="tr-review", outcome="false_alarm"
    )
    [correction] = run.feed(review).entries
    assert correction.delta == -original.delta == 10
    assert correction.reverses_entry_id == original.entry_id
    assert correction.evidence == ["tr-review", original.entry_id]
    assert "correction" in correction.reason_en
    assert run.feed(review).entries == []  # once only
    run.feed(close("2026-11"))
    assert run.state.scores["2026-11"] == 60 - 5 - 5 - 5  # base, missed month, two shortfalls


def test_a_verification_overturned_after_its_month_closed_is_corrected_in_an_open_month() -> None:
    run = Run(subject("normal"))
    run.feed(verified(1, -5 * D))
    [original] = run.entries
    run.feed(close("2026-11"))
    november = run.state.scores["2026-11"]
    review = msgspec.structs.replace(
        verified(1, -2 * D), transition_id="tr-review", outcome="false_alarm"
    )
    [correction] = run.feed(review).entries
    assert correction.reverses_entry_id == original.entry_id
    assert (correction.local_month, correction.corrects_month) == ("2026-12", "2026-11")
    assert run.state.scores["2026-11"] == november
    assert run.state.months["2026-12"].points == {original.rule_id: -original.delta}
