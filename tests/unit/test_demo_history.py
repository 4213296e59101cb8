"""The demo's history is whole local months, then the days of the simulated day's month
before it (issue 12: one week of history closed November with 79 admonition proposals)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ccwatch.demo import history_before, history_events
from models.localtime import LOCAL_TZ, local, month_span
from tests.factories import keyring

DAYS = [
    date(2026, 12, 2),
    date(2026, 12, 1),  # the first: only whole months
    date(2026, 12, 31),
    date(2027, 1, 15),  # across a year
    date(2028, 3, 1),  # after a leap February
    date(2026, 7, 31),
]


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("months", [0, 1, 2])
def test_the_history_is_whole_months_then_the_days_before_the_day(day: date, months: int) -> None:
    history = history_before(day, months)
    assert history.first.day == 1 and history.day == day
    closed = history.months()
    assert len(closed) == months and closed == sorted(closed)
    assert all(m < f"{day:%Y-%m}" for m in closed)
    # The closed months are whole and back to back, from the first day to the day's month.
    assert sum(month_span(m).days() for m in closed) + day.day - 1 == history.days
    if closed:
        assert month_span(closed[0]).first == history.first
        assert month_span(closed[-1]).last + timedelta(days=1) == day.replace(day=1)
    start = history.start()
    assert start.tzinfo == LOCAL_TZ and (start.date(), start.hour, start.minute) == (
        history.first,
        0,
        0,
    )


def test_the_history_has_every_day_and_no_story_of_the_day() -> None:
    """Two days of history (1 and 2 December): every subject's days, no ferry, no faults."""
    history = history_before(date(2026, 12, 3), 0)
    events = history_events(history, 7, keyring(), 4)
    days = {local(e.occurred_at).date() for e in events}
    assert days == {date(2026, 12, 1), date(2026, 12, 2)}
    assert {e.note for e in events} <= {"", "kiosk retry"}
    assert {e.kind for e in events} == {"checkin", "location", "activity", "tick"}
    assert history_events(history_before(date(2026, 12, 1), 0), 7, keyring(), 4) == []
