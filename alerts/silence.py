"""Signal lost (信号丢失) and phone off (关机): nothing heard from the device for too long.

A phone switched off is tolerated for ``phone_off_s`` (3 h); silence without a power-off
for ``silence_s`` plus the subject's own grace (fishermen lose signal at sea). Both are
decided at their deadline in event time; any sign of life from the device clears both.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.protocol import Context, Input, Step, Time
from models.events import AlertEvent, AlertType, DeviceEvent, LocationFix


class Quiet(msgspec.Struct, frozen=True):
    """No state of its own: the shared track says when the device was last heard from."""


def _deadline(ctx: Context) -> tuple[AlertType, datetime] | None:
    track, limits = ctx.track, ctx.limits
    if track.power_off_at is not None:
        return "phone_off", track.power_off_at + timedelta(seconds=limits.phone_off_s)
    if track.seen_at is None:
        return None  # never heard from: nothing to compare with
    allowed = timedelta(seconds=limits.silence_s + ctx.subject.signal_grace_s)
    return "signal_lost", track.seen_at + allowed


class Silence:
    name = "silence"
    kinds: tuple[AlertType, ...] = ("signal_lost", "phone_off")
    State = Quiet

    def due(self, ctx: Context, state: Quiet, book: AlertBook) -> datetime | None:
        found = _deadline(ctx)
        return None if found is None or book.get(found[0]) else found[1]

    def step(self, ctx: Context, state: Quiet, book: AlertBook, item: Input) -> Step:
        if isinstance(item, LocationFix) or (
            isinstance(item, DeviceEvent) and item.event != "power_off"
        ):
            events: list[AlertEvent] = []
            for kind in self.kinds:
                book, cleared = clear(
                    ctx,
                    book,
                    kind,
                    item.event_id,
                    item.occurred_at,
                    ("设备恢复信号", "the device is heard from again"),
                )
                events += cleared
            return state, book, events
        found = _deadline(ctx)
        if not isinstance(item, Time) or found is None or item.at < found[1]:
            return state, book, []
        kind, track = found[0], ctx.track
        since = track.power_off_at if kind == "phone_off" else track.seen_at
        assert since is not None
        hours = (item.at - since) / timedelta(hours=1)
        label = "power_off" if kind == "phone_off" else "silent_since"
        reason = (
            (f"手机关机已 {hours:.1f} 小时", f"phone off for {hours:.1f} h")
            if kind == "phone_off"
            else (f"{hours:.1f} 小时无定位", f"no fix for {hours:.1f} h")
        )
        book, events = raise_alert(ctx, book, kind, [f"{label}:{since.isoformat()}"], since, reason)
        return state, book, events


DETECTOR = Silence()
