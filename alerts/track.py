"""A subject's recent movement, shared by the detectors, and implausible movement (轨迹异常).

The track's position is the one detectors read: it moves to a plausible fix that is
farther than ``position_step_m`` from it or newer than it by ``position_refresh_s`` (the
policy), and stays put otherwise, so a phone lying still does not
change it with every fix. Workers store the track whenever its position moves, so a
restart reads back exactly the position the detectors would have read.

The last-seen time changes with every record, so workers store it only when it enters a
new :data:`CHECKPOINT` slot, and when the device goes quiet (:mod:`alerts.silence`); a
track read back after a restart (:func:`restored`) knows the device may have been heard
until the end of that slot. A fix that would need a speed above ``max_speed_kmh`` is
suspect (GPS drift or spoofing) and counts for no other detector; ``suspects_to_alert`` of
them in a row raise a low alert (a run of them is stored as it grows).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from alerts.geofence import metres_between
from alerts.policy import Thresholds
from models.events import DeviceEvent, LocationFix

CHECKPOINT = timedelta(hours=1)  # a stored last-seen time is less than this stale


class Track(msgspec.Struct, frozen=True, omit_defaults=True):
    at: datetime | None = None  # event time of the plausible fix that set the position
    lat: float = 0.0
    lon: float = 0.0
    accuracy_m: float = 0.0
    suspects: int = 0  # implausible fixes in a row
    seen_at: datetime | None = None  # latest event time of anything from the device
    power_off_at: datetime | None = None  # the device said it was switching off
    event_id: str | None = None  # the fix that set the position
    # Read back from a checkpoint (:func:`restored`): the device may have been heard until
    # then.
    heard_by: datetime | None = None


def moved_on(was: Track, now: Track) -> bool:
    """Whether the last-seen time entered a new checkpoint slot (then it is stored, so a
    stored last-seen time is always in the slot of the true one)."""
    if was.seen_at is None or now.seen_at is None:
        return (was.seen_at is None) != (now.seen_at is None)
    return _slot(was.seen_at) != _slot(now.seen_at)


def restored(track: Track) -> Track:
    """A track as read back from its checkpoint: heard perhaps until the end of the
    last-seen time's slot (records after it were not stored); its position is exact."""
    if track.seen_at is None:
        return track
    end = (_slot(track.seen_at) + 1) * CHECKPOINT.total_seconds()
    heard_by = datetime.fromtimestamp(end, track.seen_at.tzinfo)
    return msgspec.structs.replace(track, heard_by=heard_by)


def last_heard(track: Track) -> datetime | None:
    """The latest time the device may have been heard from (the end of the uncertainty
    of a restored last-seen time)."""
    if track.heard_by is None or track.seen_at is None:
        return track.seen_at
    return max(track.seen_at, track.heard_by)


def _slot(when: datetime) -> int:
    return int(when.timestamp() // CHECKPOINT.total_seconds())


def _until(heard_by: datetime | None, seen: datetime) -> datetime | None:
    """The restored uncertainty ends once the device is heard from at or after its end."""
    return None if heard_by is None or seen >= heard_by else heard_by


def speed_kmh(track: Track, fix: LocationFix) -> float | None:
    """Speed needed to get from the track's position to this fix, allowing for both
    accuracy circles; None without a previous fix or when time does not advance."""
    if track.at is None or fix.occurred_at <= track.at:
        return None
    metres = metres_between(track.lat, track.lon, fix.lat, fix.lon)
    metres = max(0.0, metres - track.accuracy_m - fix.accuracy_m)
    hours = (fix.occurred_at - track.at) / timedelta(hours=1)
    return float(metres / 1000 / hours)


def follow(track: Track, fix: LocationFix, limits: Thresholds) -> tuple[Track, bool]:
    """The track after ``fix``, and whether the fix is plausible (not a jump faster than
    any ferry or car: GPS drift or spoofing)."""
    seen = max(track.seen_at or fix.occurred_at, fix.occurred_at)
    heard_by = _until(track.heard_by, seen)
    speed = speed_kmh(track, fix)
    if speed is not None and speed > limits.max_speed_kmh:
        track = msgspec.structs.replace(
            track, suspects=track.suspects + 1, seen_at=seen, heard_by=heard_by
        )
        return track, False
    off = track.power_off_at  # a late fix, older than the power-off, does not cancel it
    if off is None or fix.occurred_at >= off:
        off = None
    if not _moves(track, fix, limits):  # a late fix, or one close to the position
        track = msgspec.structs.replace(track, seen_at=seen, power_off_at=off, heard_by=heard_by)
        return track, True
    return (
        Track(
            fix.occurred_at,
            fix.lat,
            fix.lon,
            fix.accuracy_m,
            0,
            seen,
            off,
            fix.event_id,
            heard_by=heard_by,
        ),
        True,
    )


def _moves(track: Track, fix: LocationFix, limits: Thresholds) -> bool:
    """Whether a plausible fix sets the position: none yet, or newer by
    ``position_refresh_s``, or newer and farther than ``position_step_m`` (an older fix
    never does)."""
    if track.at is None:
        return True
    if fix.occurred_at <= track.at:
        return False
    if fix.occurred_at - track.at >= timedelta(seconds=limits.position_refresh_s):
        return True
    metres = metres_between(track.lat, track.lon, fix.lat, fix.lon)
    return bool(metres > limits.position_step_m)


def heard(track: Track, event: DeviceEvent) -> Track:
    """A device event: the device is alive; a power-off starts the phone-off clock."""
    seen = max(track.seen_at or event.occurred_at, event.occurred_at)
    off = track.power_off_at
    if event.event == "power_off":
        off = event.occurred_at if off is None or event.occurred_at > off else off
    elif off is None or event.occurred_at >= off:  # an older sign of life changes nothing
        off = None
    heard_by = _until(track.heard_by, seen)
    return msgspec.structs.replace(track, power_off_at=off, seen_at=seen, heard_by=heard_by)
