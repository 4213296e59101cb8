"""A subject's recent movement, shared by the detectors, and implausible movement (轨迹异常).

The track is high-churn (it changes with every fix), so workers keep it in memory and
checkpoint it rarely; after a restart the first fix simply starts a new track. A fix that
would need a speed above ``max_speed_kmh`` is suspect (GPS drift or spoofing) and counts
for no other detector; ``suspects_to_alert`` of them in a row raise a low alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from geopy.distance import great_circle

from models.events import DeviceEvent, LocationFix


class Track(msgspec.Struct, frozen=True, omit_defaults=True):
    at: datetime | None = None  # event time of the last plausible fix
    lat: float = 0.0
    lon: float = 0.0
    accuracy_m: float = 0.0
    suspects: int = 0  # implausible fixes in a row
    seen_at: datetime | None = None  # latest event time of anything from the device
    power_off_at: datetime | None = None  # the device said it was switching off
    event_id: str | None = None  # the last plausible fix


def speed_kmh(track: Track, fix: LocationFix) -> float | None:
    """Speed needed to get from the last plausible fix to this one, allowing for both
    accuracy circles; None without a previous fix or when time does not advance."""
    if track.at is None or fix.occurred_at <= track.at:
        return None
    metres = great_circle((track.lat, track.lon), (fix.lat, fix.lon)).meters
    metres = max(0.0, metres - track.accuracy_m - fix.accuracy_m)
    hours = (fix.occurred_at - track.at) / timedelta(hours=1)
    return float(metres / 1000 / hours)


def follow(track: Track, fix: LocationFix, max_speed_kmh: float) -> tuple[Track, bool]:
    """The track after ``fix``, and whether the fix is plausible (not a jump faster than
    any ferry or car: GPS drift or spoofing)."""
    seen = max(track.seen_at or fix.occurred_at, fix.occurred_at)
    speed = speed_kmh(track, fix)
    if speed is not None and speed > max_speed_kmh:
        return msgspec.structs.replace(track, suspects=track.suspects + 1, seen_at=seen), False
    off = track.power_off_at  # a late fix, older than the power-off, does not cancel it
    if off is None or fix.occurred_at >= off:
        off = None
    if track.at is not None and fix.occurred_at < track.at:  # late fix: keep the newer one
        return msgspec.structs.replace(track, seen_at=seen, power_off_at=off), True
    return (
        Track(fix.occurred_at, fix.lat, fix.lon, fix.accuracy_m, 0, seen, off, fix.event_id),
        True,
    )


def heard(track: Track, event: DeviceEvent) -> Track:
    """A device event: the device is alive; a power-off starts the phone-off clock."""
    seen = max(track.seen_at or event.occurred_at, event.occurred_at)
    off = track.power_off_at
    if event.event == "power_off":
        off = event.occurred_at if off is None or event.occurred_at > off else off
    elif off is None or event.occurred_at >= off:  # an older sign of life changes nothing
        off = None
    return msgspec.structs.replace(track, power_off_at=off, seen_at=seen)
