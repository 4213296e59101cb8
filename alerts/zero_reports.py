"""Daily zero reports (零报告) in security periods: which offices owe one for which local
day, and what it says. Pure: plain values in, the rows to write out; the sink counts the
alerts and writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from models.ids import derive_id
from models.localtime import Span
from models.values import SecurityPeriod


@dataclass(frozen=True, slots=True)
class AlertTally:
    """One office's alerts for one local day, as the database counts them."""

    opened: int = 0
    """Alerts its subjects raised that day (opened within the day)."""
    open: int = 0
    """Alerts opened before the day ended and not resolved when counted."""


@dataclass(frozen=True, slots=True)
class ZeroReportDue:
    """One office's report for one day; the fields are the zero_reports columns."""

    id: str
    office_id: str
    day: date
    period_id: str
    alerts_opened: int
    alerts_open: int
    status: Literal["zero", "incidents"]
    recorded_at: datetime


def day_window(day: date) -> tuple[datetime, datetime]:
    """The local day as [start, end) instants."""
    span = Span(day.isoformat(), day, day)
    return span.start(), span.end()


def owed(
    day: date, offices: Iterable[str], periods: Sequence[SecurityPeriod]
) -> dict[str, SecurityPeriod]:
    """The offices that owe a report for ``day``, each with the first period that calls for
    it: one that overlaps the local day and covers the county or names the office."""
    start, end = day_window(day)
    touching = [p for p in periods if p.starts_at < end and p.ends_at > start]
    due: dict[str, SecurityPeriod] = {}
    for office_id in offices:
        period = next((p for p in touching if not p.offices or office_id in p.offices), None)
        if period is not None:
            due[office_id] = period
    return due


def zero_reports(
    day: date,
    due: Mapping[str, SecurityPeriod],
    tallies: Mapping[str, AlertTally],
    now: datetime,
) -> list[ZeroReportDue]:
    """Each owing office's report: ``zero`` when it raised none that day and has none open,
    else ``incidents``. The id names the office and day, so a day is reported once."""
    reports = []
    for office_id, period in due.items():
        tally = tallies.get(office_id, AlertTally())
        reports.append(
            ZeroReportDue(
                id=derive_id("zero-report", office_id, day.isoformat()),
                office_id=office_id,
                day=day,
                period_id=period.id,
                alerts_opened=tally.opened,
                alerts_open=tally.open,
                status="zero" if tally.opened == 0 and tally.open == 0 else "incidents",
                recorded_at=now,
            )
        )
    return reports
