"""Missed check-in (未按时报到): a required reporting period ended with no check-in.

The period follows the subject's classification level (the rule set's ``levels``: weekly
for strict, monthly for normal, quarterly for lenient); the alert waits ``checkin_grace_s``
after the period ends, and a check-in clears it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.policy import Thresholds
from models.events import AlertEvent
from models.localtime import Period, Span, period_containing
from models.values import SecurityPeriod, SubjectRef

RULE = "missed_checkin/1"


def last_ended(at: datetime, grace: timedelta, period: Period) -> Span:
    """The latest period whose end plus the grace is at or before ``at``."""
    current = period_containing(at - grace, period)
    return period_containing(current.start() - timedelta(seconds=1), period)


def on_tick(
    book: AlertBook,
    alerted: str | None,
    reports: Sequence[tuple[datetime, str]],
    watching_since: datetime | None,
    subject: SubjectRef,
    period_kind: Period,
    limits: Thresholds,
    period: SecurityPeriod | None,
    at: datetime,
    now: datetime,
) -> tuple[AlertBook, str | None, list[AlertEvent]]:
    """Returns the book, the key of the last period alerted, and the transitions. A period
    is judged only if it lies within supervision and ccwatch watched the subject throughout."""
    span = last_ended(at, timedelta(seconds=limits.checkin_grace_s), period_kind)
    if span.key == alerted or span.first < subject.starts_on or span.last > subject.ends_on:
        return book, alerted, []
    if watching_since is None or span.start() < watching_since:
        return book, alerted, []
    if any(span.holds(when) for when, _ in reports):
        return book, alerted, []
    book, events = raise_alert(
        book,
        subject,
        "missed_checkin",
        "medium",
        RULE,
        [f"period:{span.key}"],
        span.end(),
        now,
        limits,
        period,
        (
            f"{span.key}({span.first}~{span.last})未报到",
            f"no check-in in {span.key} ({span.first} to {span.last})",
        ),
        detected_at=at,
    )
    return book, span.key, events


def on_checkin(
    book: AlertBook, subject: SubjectRef, event_id: str, at: datetime, now: datetime
) -> tuple[AlertBook, list[AlertEvent]]:
    return clear(book, subject, "missed_checkin", event_id, at, now, ("已报到", "checked in"))
