"""Which offices owe a daily zero report (零报告) in a security period, and what it says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from alerts.zero_reports import AlertTally, day_window, owed, zero_reports
from models.localtime import LOCAL_TZ
from models.values import SecurityPeriod

DAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 30, 1, tzinfo=UTC)
OFFICES = ["caiyuan", "gouqi", "huaniao"]


def _period(
    pid: str, starts: datetime, hours: float = 48, offices: tuple[str, ...] = ()
) -> SecurityPeriod:
    return SecurityPeriod(pid, pid, starts, starts + timedelta(hours=hours), offices)


MIDNIGHT = datetime(2026, 11, 29, tzinfo=LOCAL_TZ)


def test_the_day_is_the_local_day() -> None:
    start, end = day_window(DAY)
    assert start == datetime(2026, 11, 28, 16, tzinfo=UTC)
    assert end - start == timedelta(days=1)


def test_a_county_wide_period_calls_on_every_office() -> None:
    assert list(owed(DAY, OFFICES, [_period("p", MIDNIGHT)])) == OFFICES


def test_a_period_for_some_offices_calls_on_those_only() -> None:
    due = owed(DAY, OFFICES, [_period("p", MIDNIGHT, offices=("gouqi",))])
    assert list(due) == ["gouqi"]


@pytest.mark.parametrize(
    ("starts", "hours", "owes"),
    [
        (MIDNIGHT - timedelta(hours=1), 1, False),  # ends as the day begins
        (MIDNIGHT + timedelta(days=1), 5, False),  # begins as the day ends
        (MIDNIGHT - timedelta(hours=1), 1.5, True),  # the first half hour
        (MIDNIGHT + timedelta(hours=23, minutes=59), 5, True),  # the last minute
    ],
)
def test_a_period_that_touches_the_day_at_all_calls_for_a_report(
    starts: datetime, hours: float, owes: bool
) -> None:
    assert bool(owed(DAY, OFFICES, [_period("p", starts, hours)])) is owes


def test_the_first_period_that_covers_an_office_is_the_one_reported() -> None:
    some = _period("some", MIDNIGHT, offices=("gouqi",))
    county = _period("county", MIDNIGHT)
    due = owed(DAY, OFFICES, [some, county])
    assert {o: p.id for o, p in due.items()} == {
        "caiyuan": "county",
        "gouqi": "some",
        "huaniao": "county",
    }


def test_no_period_no_reports() -> None:
    assert owed(DAY, OFFICES, []) == {}
    assert zero_reports(DAY, {}, {}, NOW) == []


def test_zero_unless_an_alert_was_raised_that_day_or_is_still_open() -> None:
    period = _period("p", MIDNIGHT)
    due = owed(DAY, OFFICES, [period])
    tallies = {"caiyuan": AlertTally(opened=1, open=0), "gouqi": AlertTally(opened=0, open=2)}
    reports = {r.office_id: r for r in zero_reports(DAY, due, tallies, NOW)}
    assert {o: r.status for o, r in reports.items()} == {
        "caiyuan": "incidents",
        "gouqi": "incidents",
        "huaniao": "zero",
    }
    assert (reports["gouqi"].alerts_opened, reports["gouqi"].alerts_open) == (0, 2)
    assert (reports["huaniao"].alerts_opened, reports["huaniao"].alerts_open) == (0, 0)
    assert {r.period_id for r in reports.values()} == {"p"}
    assert {r.day for r in reports.values()} == {DAY}
    assert {r.recorded_at for r in reports.values()} == {NOW}


def test_one_report_per_office_and_day_whenever_it_is_decided() -> None:
    due = owed(DAY, OFFICES, [_period("p", MIDNIGHT)])
    first = zero_reports(DAY, due, {}, NOW)
    again = zero_reports(DAY, due, {}, NOW + timedelta(hours=5))
    assert [r.id for r in first] == [r.id for r in again]
    assert len({r.id for r in first}) == len(OFFICES)
    next_day = zero_reports(DAY + timedelta(days=1), due, {}, NOW)
    assert not {r.id for r in first} & {r.id for r in next_day}
