"""What the law and the bureau's limits allow on the register: pure checks, no database.

Each check returns nothing or raises :class:`register.core.Refused` saying why, in Chinese
and English. The numbers are the law's (``../shared/domain.md``): a leave of up to 7 days is
approved by the judicial office, a longer one by the county bureau, and one approval covers
at most 30 days; new leave is suspended in a security period except emergencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from models.limits import MAX_ID
from models.localtime import local
from models.values import SecurityPeriod
from register.core import Actor, Refused

OFFICE_LEAVE = timedelta(days=7)  # the judicial office approves up to this
MAX_LEAVE = timedelta(days=30)  # one approval covers at most this
END_REASONS_BY_HAND = ("revoked", "death", "other")  # term_end is the calendar's

Approver = Literal["office", "county"]


@dataclass(frozen=True)
class Term:
    """A subject's supervision: ``first`` to ``last`` day inclusive (local dates)."""

    first: date
    last: date

    def holds(self, when: datetime) -> bool:
        return self.first <= local(when).date() <= self.last


def approver(length: timedelta) -> Approver:
    """Who approves a leave (or a leave with its extensions) of this length."""
    return "office" if length <= OFFICE_LEAVE else "county"


def check_intake(
    subject_id: str, starts_on: date, ends_on: date, officer_office: str | None, office_id: str
) -> None:
    """A new subject: an id that fits the contract, a term that ends after it starts, an
    officer of the supervising office."""
    if not subject_id or len(subject_id) > MAX_ID or not subject_id.isprintable():
        raise Refused("编号无效", f"a subject id is 1 to {MAX_ID} printable characters")
    if ends_on <= starts_on:
        raise Refused("矫正期限的结束日须晚于开始日", "the term must end after it starts")
    if officer_office is not None and officer_office != office_id:
        raise Refused("矫正干警不属于该司法所", "the officer works for another office")


def check_release(term: Term, on: date, reason: str, document: str) -> None:
    """A release before the term's end (the end itself needs no act): revocation, death or
    another end, on a day of the term after intake, with its document."""
    if reason not in END_REASONS_BY_HAND:
        raise Refused(
            "期满解矫按期自动生效,无需登记",
            "the term's end releases by itself; give another reason",
        )
    if not term.first < on <= term.last:
        raise Refused(
            "解矫日期须在矫正期内(入矫日之后)",
            "the release must fall after intake, within the term",
        )
    if not document.strip():
        raise Refused("须填写解矫文书编号", "give the release document")


def check_leave_request(
    term: Term, starts_at: datetime, ends_at: datetime, destination: str
) -> None:
    """A leave or an extension: an end after its start, at most 30 days per approval,
    within the term, a destination."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise Refused("时间须带时区", "give times with their zone")
    if ends_at <= starts_at:
        raise Refused("结束时间须晚于开始时间", "the leave must end after it starts")
    if ends_at - starts_at > MAX_LEAVE:
        raise Refused("一次请假不得超过30日", "one approval covers at most 30 days")
    if not (term.holds(starts_at) and term.holds(ends_at - timedelta(seconds=1))):
        raise Refused("请假须在矫正期内", "the leave must lie within the term")
    if not destination.strip():
        raise Refused("须填写目的地", "give the destination")


def check_leave_decision(
    actor: Actor,
    length: timedelta,
    emergency: bool,
    at: datetime,
    office_id: str,
    periods: Sequence[SecurityPeriod],
) -> None:
    """Approving a leave whose whole length (with what it extends) is ``length``: the office
    up to 7 days, the county bureau beyond; none but emergencies in a security period."""
    if approver(length) == "county" and not actor.county:
        raise Refused(
            "超过7日的请假须由县司法局审批", "a leave of more than 7 days needs the county bureau"
        )
    if not emergency and any(p.covers(at, office_id) for p in periods):
        raise Refused(
            "安保期间暂停审批请假(紧急情况除外)",
            "new leave is suspended in a security period, except emergencies",
        )
