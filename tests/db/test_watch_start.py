"""A first start on a database ccwatch never watched (issue 12): the first worker to start
records when watching began, and no month or part of a month before it is judged. Before
this, the month-close timer closed the previous month at once and wrote a missed check-in
penalty for every week and a shortfall for every requirement of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.clock import ManualClock
from models.db import make_engine
from models.registry import load_registry
from scoring.rules import load_ruleset
from streams.app import first_registry
from streams.control import close_record, due_close
from streams.pipeline import EMPTY_STATE, Pipeline

STARTED = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # Thursday 3 December, 10:00 in Shengsi
JUDGED = {"base.monthly", "checkin.missed", "study.shortfall", "service.shortfall"}


def test_a_first_start_closes_no_month_it_did_not_watch(url: str, tmp_path: Path) -> None:
    registry = first_registry(make_engine(url), tmp_path / "registry.json", STARTED)
    assert registry.watch_started == STARTED
    # The timer: November ended before watching began, so it is never due.
    assert due_close(STARTED + timedelta(minutes=5), timedelta(0), STARTED) is None
    # An on-demand close of November judges nothing: no base, no penalties, no proposals.
    pipeline = Pipeline(registry, load_ruleset(), ManualClock(STARTED), 300)
    close = close_record("2026-11", "cli")
    outcomes = [pipeline.close_month(EMPTY_STATE, s, close) for s in sorted(registry.subjects)]
    assert [e.rule_id for o in outcomes for e in o.points if e.rule_id in JUDGED] == []
    assert [r.kind for o in outcomes for r in o.recommendations if r.kind == "admonition"] == []


def test_the_first_start_is_kept_and_december_is_judged_from_it(url: str, tmp_path: Path) -> None:
    engine = make_engine(url)
    first_registry(engine, tmp_path / "registry.json", STARTED)
    again = first_registry(engine, tmp_path / "registry.json", STARTED + timedelta(days=40))
    assert again.watch_started == load_registry(engine).watch_started == STARTED
    january = datetime(2027, 1, 1, 1, 0, tzinfo=UTC)
    assert due_close(january, timedelta(0), STARTED) == "2026-12"  # watched in part: closed
    pipeline = Pipeline(again, load_ruleset(), ManualClock(january), 300)
    out = pipeline.close_month(EMPTY_STATE, "SS-0001", close_record("2026-12", "timer"))
    [base] = [e for e in out.points if e.rule_id == "base.monthly"]
    assert base.delta == 55  # 4 to 31 December watched: 60 x 28/31 = 54.2, rounded up
    assert base.reason_en == "Monthly base score: prorated, 28/31 days"
