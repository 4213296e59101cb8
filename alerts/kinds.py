"""Every alert type, in one table: its severity, rule and how it is scored; its labels come
from the shared label table (:mod:`models.labels`).

A test fails when an alert type of the wire contract lacks an entry, a label, a detector, or
a points mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from alerts.policy import Severity
from models import labels
from models.events import AlertType

Scored = Literal["verified", "month_close", "not_scored"]


@dataclass(frozen=True, slots=True)
class Kind:
    code: AlertType
    severity: Severity
    rule: str  # id/version named in every transition of this type
    scored: Scored  # verified: a rule for verified violations; month_close: the close scores
    # it (missed periods); not_scored: a suspicion only, never points by itself

    @property
    def zh(self) -> str:
        return labels.ALERT_TYPES[self.code].zh

    @property
    def en(self) -> str:
        return labels.ALERT_TYPES[self.code].en


KINDS: dict[AlertType, Kind] = {
    "out_of_bounds": Kind("out_of_bounds", "high", "out_of_bounds/3", "verified"),
    "signal_lost": Kind("signal_lost", "high", "signal_lost/1", "not_scored"),
    "phone_off": Kind("phone_off", "medium", "phone_off/1", "verified"),
    "person_phone_separation": Kind(
        "person_phone_separation", "medium", "person_phone_separation/1", "verified"
    ),
    "missed_checkin": Kind("missed_checkin", "medium", "missed_checkin/1", "month_close"),
    # A prohibition order's three parts (禁止令), three types: a place (at some hours,
    # perhaps at night), home at night (宵禁: not a place to avoid but one to be at), a person.
    "forbidden_zone": Kind("forbidden_zone", "high", "forbidden_zone/1", "verified"),
    "home_curfew": Kind("home_curfew", "high", "home_curfew/1", "verified"),
    "no_contact": Kind("no_contact", "high", "no_contact/1", "verified"),
    "gathering": Kind("gathering", "high", "gathering/2", "verified"),
    "implausible_movement": Kind(
        "implausible_movement", "low", "implausible_movement/1", "not_scored"
    ),
    "leave_overstay": Kind("leave_overstay", "high", "leave_overstay/1", "verified"),
}

ALERT_TYPES: tuple[AlertType, ...] = get_args(AlertType)
