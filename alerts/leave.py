"""Leave overstay (请假逾期未归): an approved leave ended and the subject is still away."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from alerts.geofence import Area
from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.policy import Thresholds
from alerts.track import Track
from models.events import AlertEvent
from models.values import LeaveWindow, SecurityPeriod, SubjectRef

RULE = "leave_overstay/1"


def on_tick(
    book: AlertBook,
    track: Track,
    county: Area,
    leaves: Sequence[LeaveWindow],
    subject: SubjectRef,
    limits: Thresholds,
    period: SecurityPeriod | None,
    at: datetime,
    now: datetime,
) -> tuple[AlertBook, list[AlertEvent]]:
    grace = timedelta(seconds=limits.overstay_grace_s)
    ended = [w for w in leaves if w.ends_at + grace <= at and w.ends_at > at - timedelta(days=30)]
    if not ended or track.at is None or county.contains(track.lat, track.lon):
        return book, []
    leave = max(ended, key=lambda w: w.ends_at)
    if track.at < leave.starts_at or any(w.covers(at) for w in leaves):
        return book, []  # no fix since the leave began, or a new leave covers now
    return raise_alert(
        book,
        subject,
        "leave_overstay",
        "high",
        RULE,
        [f"leave:{leave.id}"],
        leave.ends_at,
        now,
        limits,
        period,
        (
            f"请假({leave.destination})已于 {leave.ends_at:%m-%d %H:%M} 到期,仍在县外",
            f"leave to {leave.destination} ended, still outside the county",
        ),
        (track.lat, track.lon, track.accuracy_m),
        at,
    )


def on_return(
    book: AlertBook, subject: SubjectRef, event_id: str, at: datetime, now: datetime
) -> tuple[AlertBook, list[AlertEvent]]:
    return clear(
        book, subject, "leave_overstay", event_id, at, now, ("已返回县域", "back in the county")
    )
