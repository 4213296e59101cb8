"""Signal lost (信号丢失) and phone off (关机), decided on ticks, when nothing arrives.

A phone switched off is tolerated for ``phone_off_s`` (3 h); silence without a power-off
for ``silence_s`` plus the subject's own grace (fishermen lose signal at sea). Any sign of
life from the device clears both.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.policy import Thresholds
from alerts.track import Track
from models.events import AlertEvent, AlertType
from models.values import SecurityPeriod, SubjectRef

RULES = {"signal_lost": "signal_lost/1", "phone_off": "phone_off/1"}


def on_tick(
    track: Track,
    book: AlertBook,
    subject: SubjectRef,
    limits: Thresholds,
    period: SecurityPeriod | None,
    at: datetime,
    now: datetime,
) -> tuple[AlertBook, list[AlertEvent]]:
    if track.seen_at is None:
        return book, []  # never heard from: nothing to compare with
    if track.power_off_at is not None:
        off = at - track.power_off_at
        if off < timedelta(seconds=limits.phone_off_s):
            return book, []
        hours = off / timedelta(hours=1)
        return raise_alert(
            book,
            subject,
            "phone_off",
            "medium",
            RULES["phone_off"],
            [f"power_off:{track.power_off_at.isoformat()}"],
            track.power_off_at,
            now,
            limits,
            period,
            (f"手机关机已 {hours:.1f} 小时", f"phone off for {hours:.1f} h"),
            detected_at=at,
        )
    quiet = at - track.seen_at
    allowed = timedelta(seconds=limits.silence_s + subject.signal_grace_s)
    if quiet < allowed:
        return book, []
    hours = quiet / timedelta(hours=1)
    return raise_alert(
        book,
        subject,
        "signal_lost",
        "high",
        RULES["signal_lost"],
        [f"silent_since:{track.seen_at.isoformat()}"],
        track.seen_at,
        now,
        limits,
        period,
        (f"{hours:.1f} 小时无定位", f"no fix for {hours:.1f} h"),
        detected_at=at,
    )


def on_signal(
    book: AlertBook, subject: SubjectRef, event_id: str, at: datetime, now: datetime
) -> tuple[AlertBook, list[AlertEvent]]:
    """The device was heard from: silence and power-off alerts clear."""
    events: list[AlertEvent] = []
    kinds: tuple[AlertType, ...] = ("signal_lost", "phone_off")
    for kind in kinds:
        book, cleared = clear(
            book,
            subject,
            kind,
            event_id,
            at,
            now,
            ("设备恢复信号", "the device is heard from again"),
        )
        events += cleared
    return book, events
