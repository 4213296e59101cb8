"""Person-phone separation (人机分离): the person checks in at a kiosk while the phone is
somewhere else.

A check-in verifies the person by face or fingerprint at a known place (the kiosk, or the
position the terminal reports). A plausible phone fix within ``separation_window_s`` of
it, farther from that place than ``separation_m`` plus the fix's accuracy, means the
phone is not with its owner.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from alerts.geofence import metres_between
from alerts.lifecycle import AlertBook, raise_alert
from alerts.protocol import Context, Input, Step
from models.events import AlertType, CheckIn, LocationFix


class Presence(msgspec.Struct, frozen=True):
    at: datetime
    lat: float
    lon: float
    event_id: str


class Kiosk(msgspec.Struct, frozen=True, omit_defaults=True):
    last: Presence | None = None  # the last check-in with a known place


def _apart(ctx: Context, person: Presence, lat: float, lon: float, accuracy_m: float) -> float:
    """How far beyond the allowed distance the phone is (metres; > 0: separated)."""
    metres = metres_between(person.lat, person.lon, lat, lon)
    return float(metres - accuracy_m - ctx.limits.separation_m)


class Separation:
    name = "person_phone_separation"
    kinds: tuple[AlertType, ...] = ("person_phone_separation",)
    State = Kiosk

    def due(self, ctx: Context, state: Kiosk, book: AlertBook) -> datetime | None:
        return None

    def step(self, ctx: Context, state: Kiosk, book: AlertBook, item: Input) -> Step:
        window = timedelta(seconds=ctx.limits.separation_window_s)
        if isinstance(item, CheckIn):
            terminal = ctx.view.terminals.get(item.terminal_id)
            lat, lon = item.lat, item.lon
            if (lat is None or lon is None) and terminal is not None:
                lat, lon = terminal.lat, terminal.lon
            if lat is None or lon is None:
                return state, book, []
            person = Presence(item.occurred_at, lat, lon, item.event_id)
            track, state = ctx.track, Kiosk(person)
            if track.at is None or track.event_id is None or item.occurred_at - track.at > window:
                return state, book, []
            near = track.accuracy_m + ctx.limits.position_step_m  # the phone is this close
            if _apart(ctx, person, track.lat, track.lon, near) <= 0:
                return state, book, []
            return self._raise(ctx, state, book, person, track.event_id, track.lat, track.lon)
        if isinstance(item, LocationFix) and ctx.plausible and state.last is not None:
            person = state.last
            if item.occurred_at - person.at > window or item.occurred_at < person.at:
                return state, book, []
            if _apart(ctx, person, item.lat, item.lon, item.accuracy_m) <= 0:
                return state, book, []
            return self._raise(ctx, state, book, person, item.event_id, item.lat, item.lon)
        return state, book, []

    def _raise(
        self,
        ctx: Context,
        state: Kiosk,
        book: AlertBook,
        person: Presence,
        fix_id: str,
        lat: float,
        lon: float,
    ) -> Step:
        km = metres_between(person.lat, person.lon, lat, lon) / 1000
        book, events = raise_alert(
            ctx,
            book,
            "person_phone_separation",
            [person.event_id, fix_id],
            person.at,
            (
                f"终端报到时手机位于 {km:.1f} 公里外",
                f"checked in at a kiosk while the phone was {km:.1f} km away",
            ),
            (lat, lon, 0.0),
        )
        return state, book, events


DETECTOR = Separation()
