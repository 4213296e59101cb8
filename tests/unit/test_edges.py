"""Fairness at the edges of a term and of the watch (issue 12): the monthly close judges
only the days a subject was under supervision (intake to release) and ccwatch watched
(from the first whole local day after the watch began). A month judged in part is exempt or
prorated, as the rule set says (``partial_months``); docs/scoring.md has the arithmetic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
import pytest

from models.localtime import LOCAL_TZ
from models.values import SubjectRef, TerminalRef
from scoring.ledger import Ledger, LedgerOutcome, LedgerState
from scoring.rules import load_ruleset
from streams.control import due_close
from tests.factories import INSIDE, T0, activity, checkin, close, registry
from tests.unit.test_detectors import Scenario

H, D = timedelta(hours=1), timedelta(days=1)
OWN = TerminalRef("T-caiyuan-1", "caiyuan")
PRORATE = load_ruleset()
EXEMPT = msgspec.structs.replace(PRORATE, partial_months="exempt")
# November 2026: 30 days; a strict subject reports weekly and owes 12 h of study and of
# community service. Weeks W44 (26 Oct-1 Nov), W45 ... W48 (23-29 Nov) end in it.


def local(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=LOCAL_TZ)


def closing(
    events: Sequence[Any] = (),
    rules: Any = PRORATE,
    watch: datetime | None = None,
    starts: date = date(2025, 1, 1),
    ends: date = date(2028, 1, 1),
) -> LedgerOutcome:
    """November's close of a strict subject, after ``events``."""
    who = SubjectRef("SS-0001", "caiyuan", "central", "strict", starts, ends)
    ledger, state = Ledger(rules, watch_started=watch), LedgerState()
    for e in events:
        if type(e).__name__ == "CheckIn":
            state = ledger.on_checkin(state, e, who, OWN, T0).state
        else:
            state = ledger.on_activity(state, e, who, T0).state
    return ledger.close_month(state, who, close("2026-11"), T0)


def judged(events: Sequence[Any] = (), **how: Any) -> list[tuple[str, int]]:
    """What November's close books: (rule, delta)."""
    return [(e.rule_id, e.delta) for e in closing(events, **how).entries]


NONE_DONE = [
    ("checkin.missed", -5),
    ("checkin.missed", -5),
    ("study.shortfall", -5),
    ("service.shortfall", -5),
]


def test_a_month_watched_from_the_16th_is_prorated() -> None:
    """15 of 30 days: base 60 x 15/30 = 30, 6 h of each activity owed, and the two
    weeks watched whole (W47, W48) are required."""
    assert judged(watch=local(16)) == [("base.monthly", 30), *NONE_DONE]
    six_hours = [activity(1, -2 * D, "study", 6), activity(2, -2 * D, "community_service", 5)]
    assert judged(six_hours, watch=local(16)) == [
        ("base.monthly", 30),
        ("checkin.missed", -5),
        ("checkin.missed", -5),
        ("service.shortfall", -5),  # 5 h < 6 h; 6 h of study is enough
    ]


def test_a_day_counts_only_if_watched_whole_and_rounding_favours_the_subject() -> None:
    """Watching began at 10:00 on the 16th: the 17th is the first day watched whole, so
    14 days: base 60 x 14/30 = 28, 12 x 14/30 = 5.6 h owed, rounded down to 5; W47 began
    before the watch and is not required."""
    five = [activity(1, -2 * D, "study", 5), activity(2, -2 * D, "community_service", 5)]
    assert judged(five, watch=local(16, 10)) == [("base.monthly", 28), ("checkin.missed", -5)]


def test_a_month_watched_whole_is_judged_as_ever_but_not_the_week_before_the_watch() -> None:
    assert judged(watch=local(1)) == [
        ("base.monthly", 60),
        *[("checkin.missed", -5)] * 4,  # W45..W48; W44 began on 26 October, unwatched
        ("study.shortfall", -5),
        ("service.shortfall", -5),
    ]


def test_partial_months_can_be_exempt_instead() -> None:
    """Exempt: no base, no requirement, no missed period; caps still hold the events."""
    five = [checkin(n, -d * D - 2 * H) for n, d in enumerate([13, 12, 6, 5, 4])]  # 10 points
    assert judged(five, rules=EXEMPT, watch=local(16)) == [("checkin.on_time", -2)]  # cap 8
    assert judged(rules=EXEMPT, watch=local(1))[0] == ("base.monthly", 60)  # whole: judged


@pytest.mark.parametrize(
    ("starts", "ends", "prorated"),
    [
        # intake on Tuesday 10 November: 21 days, base 42, 8 h owed (8.4), W47 and W48
        (date(2026, 11, 10), date(2028, 1, 1), [("base.monthly", 42), *NONE_DONE]),
        # released on 21 November (last day the 20th): 20 days, base 40, 8 h owed, and
        # W44, W45, W46 wholly supervised
        (date(2025, 1, 1), date(2026, 11, 20),
         [("base.monthly", 40), ("checkin.missed", -5), *NONE_DONE]),
    ],
)  # fmt: skip
def test_intake_and_release_cut_the_month_too(
    starts: date, ends: date, prorated: list[tuple[str, int]]
) -> None:
    assert judged(starts=starts, ends=ends) == prorated
    assert judged(rules=EXEMPT, starts=starts, ends=ends) == []


@pytest.mark.parametrize(("rules", "score"), [(PRORATE, 45), (EXEMPT, 13)])
def test_the_worked_example_in_docs_scoring(rules: Any, score: int) -> None:
    """Admitted on Tuesday 10 November; a check-in in W47, 8 h of study, 3 h of service:
    prorated, base 42, W48 missed, 3 h < 8 h of service; exempt, the events alone."""
    events = [
        checkin(1, -12 * D - 2 * H),  # Tuesday 17 November, 10:00
        activity(1, -5 * D, "study", 8),
        activity(2, -5 * D, "community_service", 3),
    ]
    out = closing(events, rules=rules, starts=date(2026, 11, 10))
    assert out.state.scores == {"2026-11": score}


@pytest.mark.parametrize("rules", [PRORATE, EXEMPT])
def test_a_month_that_ended_before_the_watch_is_not_judged(rules: Any) -> None:
    """Closed on demand anyway: its events stand, capped; nothing is judged of its time."""
    five = [checkin(n, -d * D - 2 * H) for n, d in enumerate([13, 12, 6, 5, 4])]
    december = datetime(2026, 12, 3, 10, tzinfo=LOCAL_TZ)
    assert judged(five, rules=rules, watch=december) == [("checkin.on_time", -2)]


def test_the_timer_closes_no_month_that_ended_before_the_watch() -> None:
    december = datetime(2026, 12, 3, 10, tzinfo=LOCAL_TZ)
    assert due_close(december, timedelta(0), None) == "2026-11"  # no watch recorded
    assert due_close(december, timedelta(0), december) is None
    assert due_close(december, timedelta(0), local(30, 18)) == "2026-11"  # watched in part
    assert due_close(december + 31 * D, timedelta(0), december) == "2026-12"


def test_detection_judges_no_period_before_the_watch_either() -> None:
    """Missed check-ins: judged from the later of the subject's first record and the
    watch's start. Watching began at 10:00 on Monday 16 November, so W47 is not judged
    though the subject's phone was heard from the 15th."""
    for watch, alerted in ((local(16), True), (local(16, 10), False)):
        s = Scenario(replace(registry(), watch_started=watch), who="SS-0004")  # strict
        s.fix(-14 * 24 * H, INSIDE)  # heard from Sunday 15 November, noon
        s.tick(1 * H)  # W47's deadline has passed
        assert bool(s.steps("missed_checkin")) is alerted
