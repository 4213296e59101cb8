"""Every alert type, in one table: its labels, severity, rule and how it is scored.

The web app, the reports and the alert reasons take their labels from here; a test fails
when an alert type of the wire contract lacks an entry, a detector, or a points mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from alerts.policy import Severity
from models.events import AlertType

Scored = Literal["verified", "month_close", "not_scored"]


@dataclass(frozen=True, slots=True)
class Kind:
    zh: str
    en: str
    severity: Severity
    rule: str  # id/version named in every transition of this type
    scored: Scored  # verified: a rule for verified violations; month_close: the close scores
    # it (missed periods); not_scored: a suspicion only, never points by itself


KINDS: dict[AlertType, Kind] = {
    "out_of_bounds": Kind("越界", "out of bounds", "high", "out_of_bounds/3", "verified"),
    "signal_lost": Kind("信号丢失", "signal lost", "high", "signal_lost/1", "not_scored"),
    "phone_off": Kind("关机", "phone off", "medium", "phone_off/1", "verified"),
    "person_phone_separation": Kind(
        "人机分离", "person-phone separation", "medium", "person_phone_separation/1", "verified"
    ),
    "missed_checkin": Kind(
        "未按时报到", "missed check-in", "medium", "missed_checkin/1", "month_close"
    ),
    # A prohibition order's three parts (禁止令), three types: a place (at some hours,
    # perhaps at night), home at night (宵禁: not a place to avoid but one to be at), a person.
    "forbidden_zone": Kind(
        "进入禁止区域", "forbidden zone", "high", "forbidden_zone/1", "verified"
    ),
    "home_curfew": Kind("违反宵禁令", "home curfew breach", "high", "home_curfew/1", "verified"),
    "no_contact": Kind("违反禁止接触", "prohibited contact", "high", "no_contact/1", "verified"),
    "gathering": Kind("聚集", "gathering", "high", "gathering/2", "verified"),
    "implausible_movement": Kind(
        "轨迹异常", "implausible movement", "low", "implausible_movement/1", "not_scored"
    ),
    "leave_overstay": Kind(
        "请假逾期未归", "leave overstay", "high", "leave_overstay/1", "verified"
    ),
}

ALERT_TYPES: tuple[AlertType, ...] = get_args(AlertType)
