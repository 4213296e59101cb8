"""Missed check-in (未按时报到): a required reporting period ended with no check-in.

The period follows the subject's classification level (the rule set's ``levels``: weekly
for strict, monthly for normal, quarterly for lenient); it is judged ``checkin_grace_s``
after it ends, and a check-in clears the alert. A period is judged only if it lies within
supervision and ccwatch watched the subject throughout.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.protocol import Context, Input, Step, Time
from models.events import AlertType, CheckIn
from models.localtime import Period, Span, period_containing

KEEP = timedelta(days=100)  # check-in times remembered: more than a quarter


def last_ended(at: datetime, grace: timedelta, period: Period) -> Span:
    """The latest period whose end plus the grace is at or before ``at``."""
    current = period_containing(at - grace, period)
    return period_containing(current.start() - timedelta(seconds=1), period)


class Reports(msgspec.Struct, frozen=True, omit_defaults=True):
    alerted: str | None = None  # the last period alerted as missed
    reported: tuple[datetime, ...] = ()  # recent check-in times


class MissedCheckin:
    name = "missed_checkin"
    kinds: tuple[AlertType, ...] = ("missed_checkin",)
    State = Reports

    def due(self, ctx: Context, state: Reports, book: AlertBook) -> datetime | None:
        if ctx.watching_since is None:
            return None
        grace = timedelta(seconds=ctx.limits.checkin_grace_s)
        return period_containing(ctx.at - grace, ctx.view.checkin_period).end() + grace

    def step(self, ctx: Context, state: Reports, book: AlertBook, item: Input) -> Step:
        if isinstance(item, CheckIn):
            t = item.occurred_at
            kept = tuple(sorted(w for w in (*state.reported, t) if w > t - KEEP))
            book, events = clear(
                ctx, book, "missed_checkin", item.event_id, t, ("已报到", "checked in")
            )
            return Reports(state.alerted, kept), book, events
        if not isinstance(item, Time):
            return state, book, []
        grace = timedelta(seconds=ctx.limits.checkin_grace_s)
        span, subject = last_ended(item.at, grace, ctx.view.checkin_period), ctx.subject
        if span.key == state.alerted or span.first < subject.starts_on:
            return state, book, []
        if span.last > subject.ends_on:
            return state, book, []
        if ctx.watching_since is None or span.start() < ctx.watching_since:
            return state, book, []
        if any(span.holds(when) for when in state.reported):
            return state, book, []
        book, events = raise_alert(
            ctx,
            book,
            "missed_checkin",
            [f"period:{span.key}"],
            span.end(),
            (
                f"{span.key}({span.first}~{span.last})未报到",
                f"no check-in in {span.key} ({span.first} to {span.last})",
            ),
        )
        return Reports(span.key, state.reported), book, events


DETECTOR = MissedCheckin()
