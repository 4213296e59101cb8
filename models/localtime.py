"""Local calendar (Asia/Shanghai): days, months and reporting periods."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
Period = Literal["week", "month", "quarter"]


class Span(NamedTuple):
    """A named stretch of local days, [first, last] inclusive."""

    key: str
    first: date
    last: date

    def start(self) -> datetime:
        return datetime.combine(self.first, time(), LOCAL_TZ)

    def end(self) -> datetime:
        """The instant after the last day."""
        return datetime.combine(self.last + timedelta(days=1), time(), LOCAL_TZ)

    def last_second(self) -> datetime:
        """When closing entries are dated: the last second of the span, local time."""
        return self.end() - timedelta(seconds=1)

    def holds(self, when: datetime) -> bool:
        return self.first <= local(when).date() <= self.last

    def days(self) -> int:
        return (self.last - self.first).days + 1


def local(when: datetime) -> datetime:
    return when.astimezone(LOCAL_TZ)


def in_hours(when: datetime, hours: tuple[int, int]) -> bool:
    """Whether ``when`` falls in the local hours [from, to); a window may wrap midnight
    (22, 6: from 22:00 to 06:00)."""
    start, end = hours
    hour = local(when).hour
    return start <= hour < end if start < end else (hour >= start or hour < end)


def hours_end(when: datetime, hours: tuple[int, int]) -> datetime:
    """The first end of the local hours [from, to) after ``when``: the end of the window
    ``when`` is in, if it is in one."""
    end = local(when).replace(hour=hours[1], minute=0, second=0, microsecond=0)
    return end if end > local(when) else end + timedelta(days=1)


def show_hours(hours: tuple[int, int]) -> str:
    return f"{hours[0]:02d}:00-{hours[1]:02d}:00"


def local_day(when: datetime) -> str:
    return local(when).strftime("%Y-%m-%d")


def local_month(when: datetime) -> str:
    return local(when).strftime("%Y-%m")


def first_whole_day(when: datetime) -> date:
    """The first local day that begins at or after ``when``: the first day watched whole."""
    at = local(when)
    return at.date() if at.time() == time() else at.date() + timedelta(days=1)


def month_span(month: str) -> Span:
    year, mon = int(month[:4]), int(month[5:7])
    first = date(year, mon, 1)
    nxt = date(year + mon // 12, mon % 12 + 1, 1)
    return Span(month, first, nxt - timedelta(days=1))


def year_span(year: str) -> Span:
    return Span(year, date(int(year), 1, 1), date(int(year), 12, 31))


def add_months(month: str, n: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: str, last: str) -> int:
    """How many months from ``first`` to ``last`` (0 when equal)."""
    return (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7])


def periods_ending_in(month: str, period: Period) -> list[Span]:
    """The reporting periods of a kind whose last day falls in ``month``."""
    m = month_span(month)
    if period == "month":
        return [m]
    if period == "quarter":
        if m.first.month % 3:
            return []
        first = month_span(add_months(month, -2)).first
        return [Span(f"{m.first.year}-Q{m.first.month // 3}", first, m.last)]
    spans = []
    sunday = m.first + timedelta(days=(6 - m.first.weekday()) % 7)
    while sunday <= m.last:
        year, week, _ = sunday.isocalendar()
        spans.append(Span(f"{year}-W{week:02d}", sunday - timedelta(days=6), sunday))
        sunday += timedelta(days=7)
    return spans


def period_containing(when: datetime, period: Period) -> Span:
    """The reporting period of a kind that holds ``when`` (local)."""
    return _period_of(local(when).date(), period)


@lru_cache(maxsize=4096)
def _period_of(day: date, period: Period) -> Span:
    """The period of a local day (kept: every fix asks for its check-in deadline)."""
    if period == "week":
        monday = day - timedelta(days=day.weekday())
        year, week, _ = day.isocalendar()
        return Span(f"{year}-W{week:02d}", monday, monday + timedelta(days=6))
    month = day.strftime("%Y-%m")
    if period == "month":
        return month_span(month)
    first = add_months(month, -((day.month - 1) % 3))
    return Span(f"{day.year}-Q{(day.month - 1) // 3 + 1}", month_span(first).first,
                month_span(add_months(first, 2)).last)  # fmt: skip
