"""What the law allows for electronic positioning (电子定位, Community Correction Law art. 29),
pure (no database): an approval runs at most three months; an extension starts the day after
the approval it extends ends and runs at most three months more; both within the subject's
term, and no two approvals of a subject in force on the same day.

Days are local dates (Asia/Shanghai), first and last inclusive, as :class:`Span` values whose
``key`` is the approval's id. Three months from a first day end the day before the same
date three months on, or before that month's last day where it is shorter: from 2026-11-01
to 2027-01-31 at most, from 2026-11-30 to 2027-02-27.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta

from models.localtime import Span

MONTHS = 3  # art. 29: at most three months, each extension at most three months more
DAY = timedelta(days=1)
Refusal = tuple[str, str]  # why, in Chinese and in English (register.core.Refused)


def longest(first: date) -> date:
    """The last day an approval, or an extension, beginning on ``first`` may run to."""
    year, month = divmod(first.year * 12 + first.month - 1 + MONTHS, 12)
    same = min(first.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, same) - DAY


def approval_refusal(term: Span, days: Span, others: Iterable[Span]) -> Refusal | None:
    """Why an approval of ``days`` may not be recorded, or None. ``term``: the subject's
    supervision; ``others``: the subject's approvals not revoked."""
    if days.last < days.first:
        return ("结束日期早于开始日期", "the end is before the start")
    if days.last > longest(days.first):
        return (
            f"电子定位期限不得超过三个月,最迟至 {longest(days.first)}",
            f"positioning is approved for 3 months at most: until {longest(days.first)}",
        )
    if days.first < term.first or days.last > term.last:
        return (
            f"超出社区矫正期限({term.first} 至 {term.last})",
            f"outside the subject's supervision, {term.first} to {term.last}",
        )
    for other in others:
        if other.first <= days.last and days.first <= other.last:
            return (
                f"与电子定位审批 {other.key}({other.first} 至 {other.last})重叠",
                f"overlaps approval {other.key} ({other.first} to {other.last})",
            )
    return None


def extension_refusal(
    term: Span, extended: Span, days: Span, others: Iterable[Span]
) -> Refusal | None:
    """Why ``days`` may not extend the approval of ``extended``, or None."""
    if days.first != extended.last + DAY:
        return (
            f"延长期限应自原期限届满次日({extended.last + DAY})起算",
            f"an extension starts the day after the approval it extends ends: "
            f"{extended.last + DAY}",
        )
    return approval_refusal(term, days, others)
