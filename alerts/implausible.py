"""Implausible movement (轨迹异常): several fixes in a row that move impossibly fast."""

from __future__ import annotations

from datetime import datetime

import msgspec

from alerts.lifecycle import AlertBook, raise_alert
from alerts.protocol import Context, Input, Step
from models.events import AlertType, LocationFix


class Nothing(msgspec.Struct, frozen=True):
    """No state of its own: the shared track counts suspect fixes in a row."""


class ImplausibleMovement:
    name = "implausible_movement"
    kinds: tuple[AlertType, ...] = ("implausible_movement",)
    State = Nothing

    def due(self, ctx: Context, state: Nothing, book: AlertBook) -> datetime | None:
        return None

    def step(self, ctx: Context, state: Nothing, book: AlertBook, item: Input) -> Step:
        n = ctx.limits.suspects_to_alert
        if not isinstance(item, LocationFix) or ctx.plausible or ctx.track.suspects != n:
            return state, book, []
        book, events = raise_alert(
            ctx,
            book,
            "implausible_movement",
            [item.event_id],
            item.occurred_at,
            (
                f"连续 {n} 个定位点移动速度异常,疑似漂移或伪造",
                f"{n} fixes in a row move impossibly fast: drift or spoofing",
            ),
            (item.lat, item.lon, item.accuracy_m),
        )
        return state, book, events


DETECTOR = ImplausibleMovement()
