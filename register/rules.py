"""What the law and the bureau's limits allow on the register: pure checks, no database.

Each check returns nothing or raises :class:`register.core.Refused` saying why, in Chinese
and English. The numbers are the law's (``../shared/domain.md``): a leave of up to 7 days is
approved by the judicial office, a longer one by the county bureau, and one approval covers
at most 30 days; new leave is suspended in a security period except emergencies. A
prohibition order (禁止令) forbids at least one thing, within the term.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from alerts.geofence import Area, circle
from models.localtime import Span
from models.values import SecurityPeriod
from register.core import Actor, Refused

MAX_SUBJECT_ID = 32  # the length of the subjects.id column
OFFICE_LEAVE = timedelta(days=7)  # the judicial office approves up to this
MAX_LEAVE = timedelta(days=30)  # one approval covers at most this
END_REASONS_BY_HAND = ("revoked", "death", "other")  # term_end is the calendar's

Approver = Literal["office", "county"]


def approver(length: timedelta) -> Approver:
    """Who approves a leave (or a leave with its extensions) of this length."""
    return "office" if length <= OFFICE_LEAVE else "county"


def check_intake(
    subject_id: str, starts_on: date, ends_on: date, officer_office: str | None, office_id: str
) -> None:
    """A new subject: an id that fits the contract, a term that ends after it starts, an
    officer of the supervising office."""
    if not subject_id or len(subject_id) > MAX_SUBJECT_ID or not subject_id.isprintable():
        raise Refused(
            f"编号须为1至{MAX_SUBJECT_ID}个可打印字符",
            f"a subject id is 1 to {MAX_SUBJECT_ID} printable characters",
        )
    if ends_on <= starts_on:
        raise Refused("矫正期限的结束日须晚于开始日", "the term must end after it starts")
    if officer_office is not None and officer_office != office_id:
        raise Refused("矫正干警不属于该司法所", "the officer works for another office")


def check_release(term: Span, on: date, reason: str, document: str) -> None:
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
    term: Span, starts_at: datetime, ends_at: datetime, destination: str
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


# prohibition orders (禁止令) ------------------------------------------------------------
@dataclass(frozen=True)
class OrderZone:
    """A place an order forbids: a circle (``centre`` lat/lon, ``radius_m``) or a GeoJSON
    ``polygon`` (lon/lat), always or at local ``hours`` [from, to) (may wrap midnight)."""

    name: str
    centre: tuple[float, float] | None = None
    radius_m: float | None = None
    polygon: dict[str, Any] | None = None
    hours: tuple[int, int] | None = None
    buffer_m: float = 0.0

    def geometry(self) -> dict[str, Any]:
        if self.polygon is not None:
            return self.polygon
        assert self.centre is not None and self.radius_m is not None
        return circle(*self.centre, self.radius_m)


@dataclass(frozen=True)
class HomeCurfew:
    """Be at home, within ``radius_m`` of the registered home, from ``from_hour`` to
    ``to_hour`` local time (22, 6: overnight): not a forbidden zone at night."""

    from_hour: int
    to_hour: int
    radius_m: float


def check_hours(hours: tuple[int, int]) -> None:
    if not all(0 <= h <= 23 for h in hours):
        raise Refused("时段须在 0 至 23 时之间", "hours run from 0 to 23")
    if hours[0] == hours[1]:
        raise Refused("时段的起止不能相同", "the hours must start and end at different times")


def check_zone(zone: OrderZone) -> None:
    """A name; a circle with a positive radius or a valid polygon, not both; valid hours."""
    if not zone.name.strip():
        raise Refused("须填写禁止区域名称", "name the forbidden zone")
    if (zone.polygon is None) == (zone.centre is None):
        raise Refused("禁止区域须为圆形或多边形之一", "give a zone as a circle or a polygon")
    if zone.centre is not None:
        if not (-90 <= zone.centre[0] <= 90 and -180 <= zone.centre[1] <= 180):
            raise Refused("圆心坐标无效", "the centre is not a position")
        if zone.radius_m is None or not zone.radius_m > 0:
            raise Refused("半径须大于0", "the radius must be more than 0 m")
    try:
        Area(zone.geometry())
    except Exception:  # what shapely raises depends on what is wrong with the GeoJSON
        raise Refused("多边形无效", "the polygon is not a valid GeoJSON polygon") from None
    if not zone.buffer_m >= 0:
        raise Refused("缓冲距离不能为负", "the buffer cannot be negative")
    if zone.hours is not None:
        check_hours(zone.hours)


def check_order(
    subject_id: str,
    term: Span,
    has_home: bool,
    document: str,
    issued_by: str,
    starts_on: date,
    ends_on: date | None,
    zones: Sequence[OrderZone],
    curfew: HomeCurfew | None,
    no_contact: Sequence[str],
) -> None:
    """An order: its document and court, its days within the term, at least one part, each
    part valid; a curfew needs a home on the register; a named person is someone else."""
    if not document.strip() or not issued_by.strip():
        raise Refused("须填写禁止令文书编号和作出机关", "give the order's document and court")
    if not term.first <= starts_on <= term.last:
        raise Refused("禁止令须在矫正期内开始", "the order must start within the term")
    if ends_on is not None and not starts_on <= ends_on <= term.last:
        raise Refused(
            "禁止令须在开始后、矫正期内结束", "the order must end after it starts, in the term"
        )
    if not zones and curfew is None and not no_contact:
        raise Refused("禁止令须至少包含一项内容", "an order forbids a zone, hours away or a person")
    for zone in zones:
        check_zone(zone)
    if curfew is not None:
        check_hours((curfew.from_hour, curfew.to_hour))
        if not curfew.radius_m > 0:
            raise Refused("居家范围半径须大于0", "the home radius must be more than 0 m")
        if not has_home:
            raise Refused("宵禁须有登记的住址", "a curfew needs the subject's home on the register")
    if subject_id in no_contact:
        raise Refused("禁止接触人员不能是本人", "the subject cannot be a person not to meet")
    if len(set(no_contact)) != len(no_contact):
        raise Refused("禁止接触人员重复", "a person is named twice")


def check_lift(first: date, last: date | None, lifted: bool, on: date, reason: str) -> None:
    """Lifting an order in force from ``first`` to ``last``: once, on one of its days (its
    first, when it was entered in error), with the reason."""
    if lifted:
        raise Refused("该禁止令已解除", "the order is already lifted")
    if on < first or (last is not None and on > last):
        raise Refused("解除日期须在禁止令期限内", "an order is lifted on one of its days")
    if not reason.strip():
        raise Refused("须填写解除理由", "give the reason")
