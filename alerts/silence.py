"""Signal lost (信号丢失) and phone off (关机): nothing heard from the device for too long.

A phone switched off is tolerated for ``phone_off_s`` (3 h); silence without a power-off
for ``silence_s`` plus the subject's own grace (fishermen lose signal at sea). Both are
decided at their deadline in event time; any sign of life from the device clears both.

Workers store the last-seen time rarely (:mod:`alerts.track`), so after a restart it may
be stale: silence is then counted from the latest time the device may have been heard
(:func:`alerts.track.last_heard`), never from an older one, so a restart raises no false
alarm. To keep that rare, a device silent for half the threshold is marked quiet: a
decision, stored with its exact last-seen time, so a silence under way at a restart is
judged exactly as without the restart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.protocol import Context, Input, Step, Time
from alerts.track import last_heard
from models.events import AlertEvent, AlertType, DeviceEvent, LocationFix

QUIET = 0.5  # of the silence threshold: then the device is known to be quiet


class Quiet(msgspec.Struct, frozen=True, omit_defaults=True):
    """The shared track says when the device was last heard from; this, since when it is
    known to be quiet (the last-seen time then, stored exactly)."""

    since: datetime | None = None


def _deadline(ctx: Context) -> tuple[AlertType, datetime] | None:
    track, limits = ctx.track, ctx.limits
    if track.power_off_at is not None:
        return "phone_off", track.power_off_at + timedelta(seconds=limits.phone_off_s)
    heard = last_heard(track)
    if heard is None:
        return None  # never heard from: nothing to compare with
    allowed = timedelta(seconds=limits.silence_s + ctx.subject.signal_grace_s)
    return "signal_lost", heard + allowed


def _quiet_at(ctx: Context, state: Quiet) -> datetime | None:
    """When the device is known to be quiet: half the silence threshold after it was last
    heard from (not for a restored last-seen time: it may be stale)."""
    seen = ctx.track.seen_at
    if seen is None or ctx.track.heard_by is not None or state.since == seen:
        return None
    return seen + timedelta(seconds=ctx.limits.silence_s * QUIET)


class Silence:
    name = "silence"
    kinds: tuple[AlertType, ...] = ("signal_lost", "phone_off")
    State = Quiet

    def due(self, ctx: Context, state: Quiet, book: AlertBook) -> datetime | None:
        found = _deadline(ctx)
        dues = [_quiet_at(ctx, state)]
        if found is not None and not book.get(found[0]):
            dues.append(found[1])
        return min((d for d in dues if d is not None), default=None)

    def step(self, ctx: Context, state: Quiet, book: AlertBook, item: Input) -> Step:
        if state.since is not None and state.since != ctx.track.seen_at:
            state = Quiet()  # heard from since: no longer quiet
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
        quiet = _quiet_at(ctx, state)
        if isinstance(item, Time) and quiet is not None and item.at >= quiet:
            state = Quiet(ctx.track.seen_at)
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
