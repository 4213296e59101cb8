"""The demo's history (``ccwatch run``): whole local months before the simulated day.

A county's first monthly report is of a month its system watched whole. So the demo
simulates the months before its day in full, and the days of the day's own month before
it, replays them into the database as the workers would have decided them (the workers'
pipeline, :mod:`streams.replay`: fast, and the same decisions), and closes the whole
months. A fresh database is watched from the history's first day: the demo's ccwatch saw
all of it. Then the day itself goes live, through the broker and a worker.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine

from ccwatch.settings import Settings
from models.localtime import add_months, month_span
from reports.report import MonthlyReport
from scoring.rules import RuleSet, Sanction
from terminals.simulator import Keys, SimEvent, simulate_days, with_ticks

TICK = timedelta(minutes=15)  # simulated time's ticks, for the time-driven detectors
SANCTIONS: tuple[Sanction, ...] = ("admonition", "warning", "revocation_request")


@dataclass(frozen=True, slots=True)
class History:
    """The local days [first, day) before the simulated ``day``: whole months, then the
    days of the day's month before it."""

    first: date
    day: date

    @property
    def days(self) -> int:
        return (self.day - self.first).days

    def start(self) -> datetime:
        """Its first instant: when the demo's ccwatch began watching."""
        return month_span(f"{self.first:%Y-%m}").start()

    def months(self) -> list[str]:
        """The whole local months it covers, to close, in order."""
        months, month = [], f"{self.first:%Y-%m}"
        while month < f"{self.day:%Y-%m}":
            months.append(month)
            month = add_months(month, 1)
        return months


def history_before(day: date, months: int) -> History:
    """``months`` whole local months before ``day``'s month, and its days before ``day``."""
    return History(month_span(add_months(f"{day:%Y-%m}", -months)).first, day)


def watch_from(engine: Engine, history: History) -> datetime | None:
    """Date a fresh database's watch from the history's first instant, the demo's ccwatch
    replaying all of it; a database watched before keeps its start (its first worker's,
    as every real database's). Returns when the database is watched from."""
    from models.closes import record_watch_start, watch_start

    record_watch_start(engine, history.start())
    return watch_start(engine)


def history_events(history: History, seed: int, keys: Keys, partitions: int) -> list[SimEvent]:
    """The history's simulated events, with ticks of simulated time (no ferry, no faults:
    those are the day's)."""
    if not history.days:
        return []
    last = history.day - timedelta(days=1)
    days = simulate_days(last, history.days, seed, faults=False, ferry=False, keys=keys)
    return with_ticks(days, TICK, partitions)


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """A closed month in the figures a county reads first."""

    month: str
    subjects: int
    entries: int
    deductions: int  # entries of the rules that deduct points
    deducted: int  # subjects with a deduction
    proposals: dict[str, int]  # recommendations by kind
    sanctioned: int  # subjects with a proposed sanction
    scores: tuple[int, int, int]  # lowest, median, highest

    def sanctions(self) -> int:
        return sum(self.proposals.get(kind, 0) for kind in SANCTIONS)

    def summary(self) -> str:
        proposals = ", ".join(f"{kind} {n}" for kind, n in sorted(self.proposals.items()))
        low, median, high = self.scores
        return (
            f"{self.month} closed: {self.subjects} subjects, {self.entries} points entries; "
            f"{self.deductions} deductions ({self.deducted} subjects); proposals: "
            f"{proposals or 'none'} ({self.sanctioned} subjects with a sanction proposed); "
            f"scores {low} to {high}, median {median}"
        )


def month_figures(report: MonthlyReport, ruleset: RuleSet) -> MonthFigures:
    deducting = {rule.id for rule in ruleset.rules if rule.points < 0}
    deductions = [
        sum(1 for e in s.entries if e.rule_id in deducting and e.delta < 0) for s in report.subjects
    ]
    scores = sorted(s.score for s in report.subjects) or [0]
    return MonthFigures(
        report.month,
        len(report.subjects),
        sum(len(s.entries) for s in report.subjects),
        sum(deductions),
        sum(1 for n in deductions if n),
        dict(Counter(r.kind for s in report.subjects for r in s.recommendations)),
        sum(1 for s in report.subjects if any(r.kind in SANCTIONS for r in s.recommendations)),
        (scores[0], int(statistics.median(scores)), scores[-1]),
    )


def replay_history(
    engine: Engine, settings: Settings, history: History, seed: int
) -> tuple[int, list[MonthFigures]]:
    """Simulate the history and replay it into the database, closing its whole months;
    returns the records replayed and each closed month's figures."""
    from ccwatch.keys import keyring
    from reports.report import build_report
    from scoring.rules import load_ruleset
    from streams.replay import replay_into
    from terminals.producer import log_records

    events = history_events(history, seed, keyring(engine), settings.partitions)
    replay_into(engine, settings, log_records(settings.topics, events), history.months(), "demo")
    ruleset = load_ruleset(settings.ruleset)
    return len(events), [month_figures(build_report(engine, m), ruleset) for m in history.months()]


def run_history(settings: Settings, history: History, seed: int) -> None:
    """:func:`replay_history` in a process of its own beside the live day, saying what the
    closed months hold (``ccwatch run``)."""
    from ccwatch.printing import cli_console
    from models.db import make_engine

    os.nice(10)  # the live day's worker comes first
    console, began = cli_console(), time.monotonic()
    try:
        n, figures = replay_history(make_engine(settings.database_url), settings, history, seed)
    except KeyboardInterrupt:
        return
    took = time.monotonic() - began
    console.print(
        f"history {history.first} to {history.day - timedelta(days=1)}: {n} records "
        f"replayed into the database in {took:.0f} s",
        style="cyan",
    )
    for month in figures:
        console.print(f"{month.summary()}; `ccwatch report --month {month.month}`", style="cyan")
